#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/fs.h"
#include "common/sealed_copy.h"
#include "container/container.h"
#include "container/shim_client.h"

using namespace berth;
using namespace berth::container;

namespace {
constexpr int64_t kSec = 1000000000;

Record sample() {
  Record r;
  r.id = std::string(64, 'a');
  r.name = "/web";
  r.created_ns = 1700000000 * kSec;
  r.image_id = "sha256:" + std::string(64, 'b');
  r.image_ref = "busybox";
  r.layer_dirs = {"/l/1", "/l/2"};
  r.path = "sh";
  r.args = {"-c", "sleep 1"};
  r.config = Json::parse(R"({"Labels":{"app":"web","tier":"front"},"Tty":false})");
  r.host_config = Json::parse(R"({"NetworkMode":"default","LogConfig":{"Type":"json-file","Config":{}}})");
  r.networking_config = Json::object();
  return r;
}
}  // namespace

TEST(Container, HumanDurationAsGoUnits) {
  EXPECT_EQ(human_duration(kSec / 2), "Less than a second");
  EXPECT_EQ(human_duration(1 * kSec), "1 second");
  EXPECT_EQ(human_duration(42 * kSec), "42 seconds");
  EXPECT_EQ(human_duration(90 * kSec), "About a minute");
  EXPECT_EQ(human_duration(10 * 60 * kSec), "10 minutes");
  EXPECT_EQ(human_duration(3600 * kSec), "About an hour");
  EXPECT_EQ(human_duration(5 * 3600 * kSec), "5 hours");
  EXPECT_EQ(human_duration(72 * 3600 * kSec), "3 days");
}

TEST(Container, HumanStatus) {
  State s;
  int64_t now = 1000 * kSec;
  EXPECT_EQ(human_status(s, now), "Created");
  s.status = StateStatus::running;
  s.started_ns = now - 3 * kSec;
  EXPECT_EQ(human_status(s, now), "Up 3 seconds");
  s.status = StateStatus::exited;
  s.exit_code = 3;
  s.finished_ns = now - 120 * kSec;
  EXPECT_EQ(human_status(s, now), "Exited (3) 2 minutes ago");
}

TEST(Container, StateMachine) {
  EXPECT_TRUE(transition_allowed(StateStatus::created, StateStatus::running));
  EXPECT_TRUE(transition_allowed(StateStatus::running, StateStatus::exited));
  EXPECT_TRUE(transition_allowed(StateStatus::exited, StateStatus::running));
  EXPECT_FALSE(transition_allowed(StateStatus::exited, StateStatus::paused));
  EXPECT_FALSE(transition_allowed(StateStatus::removing, StateStatus::running));
}

TEST(Container, InspectShape) {
  Paths p{"/data", "/exec"};
  Record r = sample();
  Json j = inspect_json(r, p);
  for (const char* k : {"Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath",
                        "HostnamePath", "HostsPath", "LogPath", "Name", "RestartCount", "Driver",
                        "Platform", "HostConfig", "GraphDriver", "Mounts", "Config", "NetworkSettings"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["Name"], "/web");
  EXPECT_EQ(j["State"]["Status"], "created");
  EXPECT_EQ(j["State"]["StartedAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(j["LogPath"], "/data/containers/" + r.id + "/" + r.id + "-json.log");
  EXPECT_EQ(j["GraphDriver"]["Data"]["LowerDir"], "/l/2:/l/1");
  EXPECT_EQ(j["GraphDriver"]["Data"]["MergedDir"], "/data/overlay/" + r.id + "/merged");
  EXPECT_TRUE(j["NetworkSettings"]["Networks"].contains("bridge"));
  std::string text;
  list_entry(r, r.created_ns + kSec).append_to(text);
  Json l = Json::parse(text);
  EXPECT_EQ(l["Names"], Json::array({"/web"}));
  EXPECT_EQ(l["Command"], "sh -c sleep 1");
  EXPECT_EQ(l["Created"], 1700000000);
  EXPECT_EQ(l["Status"], "Created");
}

namespace {
// Records covering what GET /containers/json shows: labels (one with an
// escaped value and a non-string), mounts (volume, bind, tmpfs), the Binds
// fallback of an old record, links, health, a detached-from-none network
// set, non-ASCII and control characters.
std::vector<Record> list_cases() {
  std::vector<Record> v;
  Record a = sample();
  a.state.status = StateStatus::running;
  a.state.started_ns = a.created_ns + 2 * kSec;
  a.state.health = Json{{"Status", "healthy"}};
  a.mounts = Json::parse(R"([{"Type":"volume","Name":"data","Source":"/var/lib/berth/volumes/data/_data","Destination":"/data","Mode":"z","RW":true,"Propagation":""},
    {"Type":"bind","Source":"/etc","Destination":"/host/etc","Mode":"ro","RW":false,"Propagation":"rprivate"},
    {"Type":"tmpfs","Source":"","Destination":"/run","Mode":"","RW":true,"Propagation":"","Extra":1}])");
  v.push_back(a);
  Record b = sample();
  b.id = std::string(64, 'c');
  b.name = "/db\"q\xc3\xa9\x01";
  b.image_ref = "sha256:" + std::string(64, 'b');
  b.path = "/bin/s\th";
  b.args = {"a\\b", "\xff", "\xe2\x82\xac"};
  b.config = Json::parse(R"({"Labels":{"k\n":"v\"1","num":3,"x":{"y":[1,2.5,null,true]}},"Tty":true})");
  b.host_config = Json::parse(R"({"NetworkMode":"mynet","Binds":["/a:/b","/c:/d:ro,rshared","/e:/f:z","bad"]})");
  b.state.status = StateStatus::exited;
  b.state.started_ns = b.created_ns + kSec;
  b.state.finished_ns = b.created_ns + 5 * kSec;
  b.state.exit_code = 137;
  v.push_back(b);
  Record c = sample();
  c.id = std::string(64, 'd');
  c.name = "/none";
  c.config = Json::parse(R"({"Tty":false})");
  c.host_config = Json::parse(R"({"NetworkMode":"none"})");
  c.networking_config = Json::parse(R"({"NoneDetached":true,"EndpointsConfig":{"zeta":{},"alpha":{"Aliases":["x"]}}})");
  c.mounts = Json::array();
  c.state.status = StateStatus::paused;
  c.state.started_ns = c.created_ns + kSec;
  v.push_back(c);
  Record d = sample();
  d.id = std::string(64, 'e');
  d.config = Json::parse(R"({"Labels":null})");
  d.host_config = Json::object();
  d.state.status = StateStatus::running;
  d.state.started_ns = d.created_ns;
  d.state.health = Json{{"Status", "starting"}};
  v.push_back(d);
  return v;
}
// What NetworkService::settings gives a running container on a bridge
// with published ports.
Json live_settings() {
  return Json::parse(R"({"Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}],
    "53/udp":[{"HostIp":"127.0.0.1","HostPort":"53"}],"9/sctp":null},
    "Networks":{"bridge":{"IPAMConfig":null,"Links":null,"Aliases":null,"NetworkID":"n1","EndpointID":"e1","Gateway":"10.1.0.1",
    "IPAddress":"10.1.0.2","IPPrefixLen":24,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"02:42:0a:01:00:02","DriverOpts":null}},
    "SandboxKey":"/x"})");
}
}  // namespace

// GET /containers/json's elements are written as text; these are the dumps
// of the JSON trees the daemon built before (list_json + the service's
// live ports/networks + the handler's sizes), byte for byte.
TEST(Container, ListEntryIsTheOldTreeDumpByteForByte) {
  const char* want[] = {
      R"gold({"Command":"sh -c sleep 1","Created":1700000000,"HostConfig":{"NetworkMode":"default"},"Id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","Image":"busybox","ImageID":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","Labels":{"app":"web","tier":"front"},"Mounts":[{"Destination":"/data","Driver":"local","Mode":"z","Name":"data","Propagation":"","RW":true,"Source":"/var/lib/berth/volumes/data/_data","Type":"volume"},{"Destination":"/host/etc","Mode":"ro","Propagation":"rprivate","RW":false,"Source":"/etc","Type":"bind"},{"Destination":"/run","Mode":"","Propagation":"","RW":true,"Source":"","Type":"tmpfs"}],"Names":["/web","/app/web"],"NetworkSettings":{"Networks":{"bridge":{"Aliases":null,"DriverOpts":null,"EndpointID":"","Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"IPAMConfig":null,"IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","Links":null,"MacAddress":"","NetworkID":""}}},"Ports":[],"State":"running","Status":"Up 8 seconds (healthy)"})gold",
      R"gold({"Command":"/bin/s\th a\\b � €","Created":1700000000,"HostConfig":{"NetworkMode":"mynet"},"Id":"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","Image":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","ImageID":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","Labels":{"k\n":"v\"1","num":3,"x":{"y":[1,2.5,null,true]}},"Mounts":[{"Destination":"/b","Mode":"","Propagation":"rprivate","RW":true,"Source":"/a","Type":"bind"},{"Destination":"/d","Mode":"ro,rshared","Propagation":"rshared","RW":false,"Source":"/c","Type":"bind"},{"Destination":"/f","Mode":"z","Propagation":"rprivate","RW":true,"Source":"/e","Type":"bind"}],"Names":["/db\"qé\u0001"],"NetworkSettings":{"Networks":{"mynet":{"Aliases":null,"DriverOpts":null,"EndpointID":"","Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"IPAMConfig":null,"IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","Links":null,"MacAddress":"","NetworkID":""}}},"Ports":[],"State":"exited","Status":"Exited (137) 5 seconds ago"})gold",
      R"gold({"Command":"sh -c sleep 1","Created":1700000000,"HostConfig":{"NetworkMode":"none"},"Id":"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","Image":"busybox","ImageID":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","Labels":{},"Mounts":[],"Names":["/none"],"NetworkSettings":{"Networks":{"alpha":{"Aliases":null,"DriverOpts":null,"EndpointID":"","Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"IPAMConfig":null,"IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","Links":null,"MacAddress":"","NetworkID":""},"zeta":{"Aliases":null,"DriverOpts":null,"EndpointID":"","Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"IPAMConfig":null,"IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","Links":null,"MacAddress":"","NetworkID":""}}},"Ports":[],"State":"paused","Status":"Up 9 seconds (Paused)"})gold",
      R"gold({"Command":"sh -c sleep 1","Created":1700000000,"HostConfig":{"NetworkMode":"default"},"Id":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee","Image":"busybox","ImageID":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","Labels":null,"Mounts":[],"Names":["/web","/app/web"],"NetworkSettings":{"Networks":{"bridge":{"Aliases":null,"DriverOpts":null,"EndpointID":"","Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"IPAMConfig":null,"IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","Links":null,"MacAddress":"","NetworkID":""}}},"Ports":[],"State":"running","Status":"Up 10 seconds (health: starting)"})gold",
      R"gold({"Command":"sh -c sleep 1","Created":1700000000,"HostConfig":{"NetworkMode":"default"},"Id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","Image":"busybox","ImageID":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","Labels":{"app":"web","tier":"front"},"Mounts":[{"Destination":"/data","Driver":"local","Mode":"z","Name":"data","Propagation":"","RW":true,"Source":"/var/lib/berth/volumes/data/_data","Type":"volume"},{"Destination":"/host/etc","Mode":"ro","Propagation":"rprivate","RW":false,"Source":"/etc","Type":"bind"},{"Destination":"/run","Mode":"","Propagation":"","RW":true,"Source":"","Type":"tmpfs"}],"Names":["/web"],"NetworkSettings":{"Networks":{"bridge":{"Aliases":null,"DriverOpts":null,"EndpointID":"e1","Gateway":"10.1.0.1","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"IPAMConfig":null,"IPAddress":"10.1.0.2","IPPrefixLen":24,"IPv6Gateway":"","Links":null,"MacAddress":"02:42:0a:01:00:02","NetworkID":"n1"}}},"Ports":[{"IP":"127.0.0.1","PrivatePort":53,"PublicPort":53,"Type":"udp"},{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},{"IP":"::","PrivatePort":80,"PublicPort":8080,"Type":"tcp"}],"SizeRootFs":1234567,"SizeRw":42,"State":"running","Status":"Up 8 seconds (healthy)"})gold"};
  auto cases = list_cases();
  ASSERT_EQ(cases.size() + 1, std::size(want));
  std::vector<std::string> app_web = {"/app/web"};
  for (size_t i = 0; i < cases.size(); ++i) {
    const Record& r = cases[i];
    std::string text;
    list_entry(r, r.created_ns + 10 * kSec, r.name == "/web" ? &app_web : nullptr).append_to(text);
    EXPECT_EQ(text, want[i]) << "case " << i;
  }
  ListEntry e = list_entry(cases[0], cases[0].created_ns + 10 * kSec);
  set_live_network(e, live_settings());
  e.size_rw = 42;
  e.size_root_fs = 1234567;
  std::string text;
  e.append_to(text);
  EXPECT_EQ(text, want[cases.size()]);
  // SizeRw is left out when 0, as dockerd; a running container without a
  // sandbox (network none) keeps its stopped networks and lists no ports.
  ListEntry f = list_entry(cases[0], cases[0].created_ns + 10 * kSec);
  f.size_rw = 0;
  f.size_root_fs = 7;
  set_live_network(f, Json::object());
  text.clear();
  f.append_to(text);
  Json j = Json::parse(text);
  EXPECT_FALSE(j.contains("SizeRw"));
  EXPECT_EQ(j["SizeRootFs"], 7);
  EXPECT_EQ(j["Ports"], Json::array());
  EXPECT_TRUE(j["NetworkSettings"]["Networks"].contains("bridge"));
}

TEST(Container, FiltersNewAndOldForms) {
  auto f = *parse_filters(R"({"status":["exited"],"label":["app=web"]})");
  ASSERT_EQ(f.size(), 2u);
  auto g = *parse_filters(R"({"name":{"web":true}})");
  EXPECT_EQ(g[0].second, std::vector<std::string>{"web"});
  EXPECT_FALSE(parse_filters("{bad"));
  EXPECT_FALSE(parse_filters("[1]"));
  EXPECT_TRUE(parse_filters("")->empty());
  EXPECT_FALSE(validate_list_filters(*parse_filters(R"({"bogus":["x"]})")));
  EXPECT_FALSE(validate_list_filters(*parse_filters(R"({"status":["sleeping"]})")));

  Record r = sample();
  auto m = [&](const char* j) { return *matches_filters(r, *parse_filters(j)); };
  EXPECT_TRUE(m(R"({"label":["app=web"]})"));
  EXPECT_TRUE(m(R"({"label":["tier"]})"));
  EXPECT_FALSE(m(R"({"label":["app=db"]})"));
  EXPECT_TRUE(m(R"({"name":["we"]})"));
  EXPECT_TRUE(m(R"({"name":["^web$"]})"));
  EXPECT_FALSE(m(R"({"name":["^we$"]})"));
  EXPECT_TRUE(m(R"({"id":["aaaa"]})"));
  EXPECT_FALSE(m(R"({"id":["ab"]})"));
  EXPECT_TRUE(m(R"({"status":["created","running"]})"));
  EXPECT_FALSE(m(R"({"status":["running"]})"));
  EXPECT_TRUE(m(R"({"ancestor":["busybox"]})"));
  r.state.status = StateStatus::exited;
  r.state.exit_code = 3;
  EXPECT_TRUE(m(R"({"exited":["3"]})"));
  EXPECT_FALSE(m(R"({"exited":["0"]})"));
}

TEST(Container, PublishExposeIsTaskFilters) {
  Record r = sample();
  r.host_config["PortBindings"] = Json::parse(R"({"8080/tcp":[{"HostIp":"","HostPort":""}]})");
  r.config["ExposedPorts"] = Json::parse(R"({"8080/tcp":{},"9001/udp":{}})");
  auto m = [&](const char* j) { return *matches_filters(r, *parse_filters(j)); };
  EXPECT_TRUE(m(R"({"publish":["8080"]})"));
  EXPECT_TRUE(m(R"({"publish":["8080/tcp"]})"));
  EXPECT_TRUE(m(R"({"publish":["8000-8100"]})"));
  EXPECT_FALSE(m(R"({"publish":["8080/udp"]})"));
  EXPECT_FALSE(m(R"({"publish":["9001/udp"]})"));
  EXPECT_TRUE(m(R"({"expose":["9001/udp"]})"));
  EXPECT_FALSE(m(R"({"expose":["9001"]})"));
  r.host_config["PublishAllPorts"] = true;  // -P publishes every exposed port
  EXPECT_TRUE(m(R"({"publish":["9001/udp"]})"));
  EXPECT_TRUE(m(R"({"is-task":["false"]})"));
  EXPECT_FALSE(m(R"({"is-task":["true"]})"));
  EXPECT_TRUE(m(R"({"isolation":["default"]})"));
  auto bad = [](const char* j) { return validate_list_filters(*parse_filters(j)).error().msg; };
  EXPECT_EQ(bad(R"({"bogus":["x"]})"), "Invalid filter 'bogus'");
  EXPECT_EQ(bad(R"({"publish":["x"]})"),
            "error while looking up for publish x: strconv.ParseUint: parsing \"x\": invalid syntax");
  EXPECT_EQ(bad(R"({"expose":["1:2"]})"), "filter for 'expose' should not contain ':': 1:2");
  EXPECT_EQ(bad(R"({"is-task":["maybe"]})"), "Invalid filter 'is-task=[maybe]'");
  EXPECT_EQ(bad(R"({"exited":["x"]})"), "strconv.Atoi: parsing \"x\": invalid syntax");
}

TEST(Container, RecordStoreRoundTrip) {
  char t[] = "/tmp/berth-ctr-XXXXXX";
  std::string dir = ::mkdtemp(t);
  {
    auto db = std::move(*store::Db::open(dir + "/b.db"));
    auto rs = *RecordStore::open(*db);
    Record r = sample();
    ASSERT_TRUE(rs.insert(r));
    Record dup = sample();
    dup.id = std::string(64, 'c');
    auto clash = rs.insert(dup);  // same name
    ASSERT_FALSE(clash);
    EXPECT_EQ(clash.error().kind, Errc::conflict);
    r.state.status = StateStatus::exited;
    r.state.exit_code = 7;
    r.state.finished_ns = 5;
    ASSERT_TRUE(rs.update_state(r.id, r.state));
    auto all = *rs.load_all();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].name, "/web");
    EXPECT_EQ(all[0].args, r.args);
    EXPECT_EQ(all[0].layer_dirs, r.layer_dirs);
    EXPECT_EQ(all[0].state.status, StateStatus::exited);
    EXPECT_EQ(all[0].state.exit_code, 7);
    ASSERT_TRUE(rs.remove(r.id));
    EXPECT_TRUE(rs.load_all()->empty());
  }
  (void)fs::remove_all(dir);
}

TEST(Container, ShimArgv) {
  ShimSpawnOptions o;
  o.shim_binary = "/bin/berth-shim";
  o.id = "ID";
  o.bundle = "/b";
  o.runtime = "/bin/rt";
  o.runtime_root = "/rr";
  o.socket = "/s.sock";
  o.state_dir = "/st";
  o.log_path = "/l.log";
  o.tty = true;
  o.stdin_open = true;
  auto a = shim_argv(o);
  EXPECT_EQ(a, (std::vector<std::string>{"/bin/berth-shim", "--id", "ID", "--bundle", "/b", "--runtime",
                                         "/bin/rt", "--runtime-root", "/rr", "--socket", "/s.sock",
                                         "--state-dir", "/st", "--log-driver", "json-file",
                                         "--log-path", "/l.log", "--tty", "--stdin", "--report-fd",
                                         "3"}));
  o.log_driver = "none";
  o.tty = o.stdin_open = false;
  EXPECT_EQ(shim_argv(o).size(), 17u);
  o.run_now = true;
  a = shim_argv(o);
  ASSERT_EQ(a.size(), 18u);
  EXPECT_EQ(a[15], "--run");
  o.runtime_fd = 17;  // spawn_shim moves it to fd 3, the report pipe to 4
  a = shim_argv(o);
  ASSERT_EQ(a.size(), 20u);
  EXPECT_EQ(a[16], "--runtime-fd");
  EXPECT_EQ(a[17], "3");
  EXPECT_EQ(a[18], "--report-fd");
  EXPECT_EQ(a[19], "4");
}

// spawn_shim's side of the protocol, with a script in the shim's place: the
// process berthd spawns is the monitor itself (berthd's child, its own
// session), its verdict comes on --report-fd, and the reaper leaves no
// zombie behind.
class SpawnShim : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/spawn-shim-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    auto r = ShimReaper::create();
    ASSERT_TRUE(r) << r.error().msg;
    reaper_ = std::move(*r);
  }
  void TearDown() override { (void)fs::remove_all(dir_); }
  ShimSpawnOptions opts(const std::string& script) {
    std::string path = dir_ + "/shim.sh";
    EXPECT_TRUE(fs::write_file_atomic(path, "#!/bin/sh\n" + script, fs::Durability::none));
    ::chmod(path.c_str(), 0755);
    ShimSpawnOptions o;
    o.shim_binary = path;
    o.id = "ID";
    o.bundle = o.runtime = o.runtime_root = o.socket = o.state_dir = dir_;
    o.log_driver = "none";
    return o;
  }
  static std::string status_field(pid_t pid, const std::string& key) {
    auto text = fs::read_file("/proc/" + std::to_string(pid) + "/status");
    if (!text) return "";
    auto at = text->find("\n" + key + ":\t");
    if (at == std::string::npos) return "";
    auto end = text->find('\n', at + 1);
    return text->substr(at + key.size() + 3, end - at - key.size() - 3);
  }
  std::string dir_;
  std::unique_ptr<ShimReaper> reaper_;
};

TEST_F(SpawnShim, OkIsTheMonitorItselfAndIsReaped) {
  // Reports on fd 3 as the last argument says, then lives on.
  auto o = opts("[ \"$(eval echo \\${$#})\" = 3 ] || exit 9\n"
                "echo $$ > \"$0.pid\"\n"
                "printf ok >&3; exec 3>&- 2>/dev/null; exec sleep 30\n");
  // berthd ignores SIGPIPE (and SIGQUIT when a shell started it in the
  // background); the shim must not inherit either.
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  auto old_quit = ::signal(SIGQUIT, SIG_IGN);
  auto r = ShimReaper::create();
  ASSERT_TRUE(r);
  reaper_ = std::move(*r);
  auto pidfd = spawn_shim(o, *reaper_);
  ::signal(SIGPIPE, old_pipe);
  ::signal(SIGQUIT, old_quit);
  ASSERT_TRUE(pidfd) << pidfd.error().msg;
  ASSERT_TRUE(*pidfd);
  auto pid_text = fs::read_file(dir_ + "/shim.sh.pid");
  ASSERT_TRUE(pid_text);
  pid_t pid = static_cast<pid_t>(std::stoi(*pid_text));
  EXPECT_EQ(status_field(pid, "PPid"), std::to_string(::getpid()));  // no daemonizing fork
  EXPECT_EQ(::getsid(pid), pid);                                      // its own session
  // SIGPIPE, SIGQUIT not inherited; glibc's posix_spawn leaves only its
  // own two internal signals (32, 33) ignored, as it always did.
  EXPECT_EQ(std::stoull(status_field(pid, "SigIgn"), nullptr, 16) & ~0x180000000ull, 0u)
      << status_field(pid, "SigIgn");
  EXPECT_EQ(status_field(pid, "SigBlk"), "0000000000000000");
  EXPECT_EQ(reaper_->pending(), 1u);
  EXPECT_EQ(reaper_->reap(), 0u);  // still running
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  pollfd p{reaper_->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  EXPECT_EQ(reaper_->reap(), 1u);
  EXPECT_EQ(reaper_->pending(), 0u);
  // Reaped: not a zombie, gone (and the caller's pidfd still says exited).
  EXPECT_EQ(::kill(pid, 0), -1);
  p = pollfd{pidfd->get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 1);
}

TEST_F(SpawnShim, ErrorVerdictIsTheMessageAndTheShimIsWaitedFor) {
  auto o = opts("echo $$ > \"$0.pid\"; printf 'Eexec: \"nope\": executable file not found\\n' >&3; exit 1\n");
  auto r = spawn_shim(o, *reaper_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().msg, "exec: \"nope\": executable file not found");
  auto pid_text = fs::read_file(dir_ + "/shim.sh.pid");
  ASSERT_TRUE(pid_text);
  EXPECT_EQ(::kill(std::stoi(*pid_text), 0), -1);  // reaped already
  EXPECT_EQ(reaper_->pending(), 0u);
}

TEST_F(SpawnShim, EarlyDeathReportsStderrOrStatus) {
  auto r = spawn_shim(opts("echo 'berth-shim: unknown argument' >&2; echo 'usage: x' >&2; exit 2\n"), *reaper_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().msg, "usage: x");
  r = spawn_shim(opts("exit 3\n"), *reaper_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().msg, "berth-shim exited with status 3");
  r = spawn_shim(opts("kill -9 $$\n"), *reaper_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().msg, "berth-shim killed by signal 9");
}

// One sealed copy per berth-runtime path, made again when the file
// changes; none for other runtimes.
TEST(Container, SealedRuntimeCache) {
  char tmpl[] = "/tmp/sealed-cache-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string rt = dir + "/berth-runtime";
  ASSERT_TRUE(fs::write_file_atomic(dir + "/runc", "x", fs::Durability::none, 0755));
  SealedRuntimeCache cache;
  EXPECT_EQ(cache.get(dir + "/runc"), nullptr);
  EXPECT_EQ(cache.get(dir + "/nope/berth-runtime"), nullptr);
  // sealed_copy_of needs an ELF: copy this test binary instead.
  auto self = fs::read_file("/proc/self/exe");
  ASSERT_TRUE(self);
  ASSERT_TRUE(fs::write_file_atomic(rt, *self, fs::Durability::none, 0755));
  auto a = cache.get(rt);
  ASSERT_NE(a, nullptr);
  EXPECT_GE(::fcntl(a->get(), F_GET_SEALS), 0);
  EXPECT_EQ(::fcntl(a->get(), F_GET_SEALS) & kSealedCopySeals, kSealedCopySeals);
  EXPECT_EQ(cache.get(rt), a);  // unchanged file: the same copy
  ASSERT_TRUE(fs::write_file_atomic(rt, *self, fs::Durability::none, 0755));  // replaced (new inode)
  auto b = cache.get(rt);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(b, a);
  (void)fs::remove_all(dir);
}
