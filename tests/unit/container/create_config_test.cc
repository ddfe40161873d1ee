#include <gtest/gtest.h>

#include "container/create_config.h"

using namespace berth;
using namespace berth::container;

namespace {
Json image_cfg() {
  return Json::parse(R"({"Env":["PATH=/img/bin","A=image","B=image"],"Cmd":["sh"],
    "Entrypoint":null,"WorkingDir":"/srv","User":"app","Labels":{"l1":"image","l2":"image"},
    "StopSignal":"SIGQUIT","ExposedPorts":{"80/tcp":{}}})");
}
}  // namespace

TEST(CreateConfig, ImageDefaultsMergeAsMoby) {
  Json body = Json::parse(R"({"Image":"busybox","Env":["A=user"],"Labels":{"l2":"user"},
                              "HostConfig":{"AutoRemove":true}})");
  auto r = *prepare_create(body, image_cfg());
  EXPECT_EQ(r.path, "sh");
  EXPECT_TRUE(r.args.empty());
  EXPECT_EQ(r.config["Env"], Json::parse(R"(["A=user","PATH=/img/bin","B=image"])"));
  EXPECT_EQ(r.config["Labels"], Json::parse(R"({"l1":"image","l2":"user"})"));
  EXPECT_EQ(r.config["WorkingDir"], "/srv");
  EXPECT_EQ(r.config["User"], "app");
  EXPECT_EQ(r.config["StopSignal"], "SIGQUIT");
  EXPECT_EQ(r.config["Cmd"], Json::parse(R"(["sh"])"));
  EXPECT_TRUE(r.config["Entrypoint"].is_null());
  EXPECT_EQ(r.host_config["AutoRemove"], true);
  EXPECT_EQ(r.host_config["NetworkMode"], "default");
  EXPECT_EQ(r.host_config["RestartPolicy"]["Name"], "no");
  // The daemon's default driver (daemon.json log-driver) is merged by the
  // container service, so the request keeps the type it gave ("" here).
  EXPECT_EQ(r.host_config["LogConfig"]["Type"], "");
}

TEST(CreateConfig, EntrypointAndCmdRules) {
  Json img = Json::parse(R"({"Entrypoint":["/entry"],"Cmd":["default"]})");
  // Cmd given: the image entrypoint stays, its Cmd goes.
  auto a = *prepare_create(Json::parse(R"({"Image":"x","Cmd":["echo","hi"]})"), img);
  EXPECT_EQ(a.path, "/entry");
  EXPECT_EQ(a.args, (std::vector<std::string>{"echo", "hi"}));
  // Entrypoint given: image Cmd is not used.
  auto b = *prepare_create(Json::parse(R"({"Image":"x","Entrypoint":["/bin/true"]})"), img);
  EXPECT_EQ(b.path, "/bin/true");
  EXPECT_TRUE(b.args.empty());
  // Nothing given: both from the image.
  auto c = *prepare_create(Json::parse(R"({"Image":"x"})"), img);
  EXPECT_EQ(c.path, "/entry");
  EXPECT_EQ(c.args, (std::vector<std::string>{"default"}));
  // --entrypoint "" resets it; a string Cmd is one word.
  auto d = *prepare_create(Json::parse(R"({"Image":"x","Entrypoint":[""],"Cmd":"ls"})"), img);
  EXPECT_EQ(d.path, "ls");
  // No command at all.
  auto e = prepare_create(Json::parse(R"({"Image":"x"})"), Json::object());
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().msg, "No command specified");
}

TEST(CreateConfig, WrongTypesAre400WithTheField) {
  auto a = prepare_create(Json::parse(R"({"Image":"x","Cmd":5})"), Json());
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().kind, Errc::invalid);
  EXPECT_NE(a.error().msg.find("Config.Cmd"), std::string::npos);
  auto b = prepare_create(Json::parse(R"({"Image":"x","Cmd":["a"],"HostConfig":{"Memory":"1g"}})"), Json());
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().msg.find("HostConfig.Memory"), std::string::npos);
  auto c = prepare_create(Json::parse(R"({"Image":"x","Cmd":["a"],"HostConfig":[]})"), Json());
  ASSERT_FALSE(c);
  auto d = prepare_create(Json::parse(R"({"Image":"x","Cmd":["a"],"Tty":"yes"})"), Json());
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().msg.find("Config.Tty"), std::string::npos);
  EXPECT_FALSE(prepare_create(Json::parse("[]"), Json()));
}

TEST(CreateConfig, UnimplementedHostConfigIsRefusedByName) {
  struct Case {
    const char* hc;
    const char* flag;
  } cases[] = {
      {R"({"CgroupParent":"/x"})", "--cgroup-parent"},
      {R"({"BlkioWeightDevice":[{"Path":"/dev/sda","Weight":10}]})", "--blkio-weight-device"},
      {R"({"SomethingNew":1})", "HostConfig.SomethingNew"},
  };
  for (const auto& c : cases) {
    Json body = Json::parse(R"({"Image":"x","Cmd":["a"]})");
    body["HostConfig"] = Json::parse(c.hc);
    auto r = prepare_create(body, Json());
    ASSERT_FALSE(r) << c.hc;
    EXPECT_EQ(r.error().kind, Errc::invalid);
    EXPECT_NE(r.error().msg.find(c.flag), std::string::npos) << r.error().msg;
  }
}

TEST(CreateConfig, TheDockerCliDefaultHostConfigIsAccepted) {
  // What `docker run --rm busybox true` (CLI 28, API 1.41) sends.
  Json body = Json::parse(R"({"Hostname":"","Domainname":"","User":"","AttachStdin":false,
    "AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,
    "Env":null,"Cmd":["true"],"Image":"busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,
    "OnBuild":null,"Labels":{},"HostConfig":{"Binds":null,"ContainerIDFile":"",
    "LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},
    "RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":true,"VolumeDriver":"",
    "VolumesFrom":null,"ConsoleSize":[24,80],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"",
    "Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"",
    "Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,
    "PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"",
    "UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,
    "CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],
    "BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,
    "CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"",
    "Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,
    "MemorySwap":0,"MemorySwappiness":null,"OomKillDisable":null,"PidsLimit":null,"Ulimits":[],
    "CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,
    "ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{}}})");
  auto r = prepare_create(body, Json());
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_EQ(r->path, "true");
}

TEST(CreateConfig, Capabilities) {
  auto d = *effective_capabilities(Json(), Json());
  EXPECT_EQ(d.size(), 14u);
  auto a = *effective_capabilities(Json::parse(R"(["NET_ADMIN","cap_sys_time"])"), Json::parse(R"(["MKNOD"])"));
  EXPECT_EQ(a.size(), 15u);
  EXPECT_NE(std::find(a.begin(), a.end(), "CAP_NET_ADMIN"), a.end());
  EXPECT_NE(std::find(a.begin(), a.end(), "CAP_SYS_TIME"), a.end());
  EXPECT_EQ(std::find(a.begin(), a.end(), "CAP_MKNOD"), a.end());
  auto all = *effective_capabilities(Json::parse(R"(["ALL"])"), Json::parse(R"(["CHOWN"])"));
  EXPECT_EQ(all.size(), all_capabilities().size() - 1);
  auto none = *effective_capabilities(Json::parse(R"(["KILL"])"), Json::parse(R"(["ALL"])"));
  EXPECT_EQ(none, (std::vector<std::string>{"CAP_KILL"}));
  EXPECT_FALSE(effective_capabilities(Json::parse(R"(["BOGUS"])"), Json()));
}

TEST(CreateConfig, ReplaceOrAppendEnv) {
  // A bare name unsets the variable, a default too (dockerd's -e NAME with
  // NAME unset in the client); one never set is simply dropped.
  auto e = replace_or_append_env({"PATH=/a", "HOSTNAME=h"}, {"PATH=/b", "X=1", "HOSTNAME", "D", "Y=2"});
  EXPECT_EQ(e, (std::vector<std::string>{"PATH=/b", "X=1", "Y=2"}));
}

TEST(CreateConfig, ResourceValidationUsesDockerMessages) {
  struct Case {
    const char* hc;
    const char* msg;
  } cases[] = {
      {R"({"Memory":1048576})", "Minimum memory limit allowed is 6MB"},
      {R"({"MemorySwap":67108864})", "You should always set the Memory limit when using Memoryswap limit"},
      {R"({"Memory":67108864,"MemorySwap":33554432})", "Minimum memoryswap limit should be larger than memory limit"},
      {R"({"MemoryReservation":1024})", "Minimum memory reservation allowed is 6MB"},
      {R"({"Memory":8388608,"MemoryReservation":16777216})", "Minimum memory limit can not be less than memory reservation limit"},
      {R"({"NanoCpus":-1000000000})", "Range of CPUs is from 0.01 to "},
      {R"({"NanoCpus":1000000000,"CpuQuota":50000})", "Conflicting options: Nano CPUs and CPU Quota cannot both be set"},
      {R"({"CpuPeriod":100})", "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"},
      {R"({"CpuQuota":10})", "CPU cfs quota can not be less than 1ms (i.e. 1000)"},
      {R"({"CpusetCpus":"0-1x"})", "Invalid value 0-1x for cpuset cpus"},
      {R"({"CpusetCpus":"4000"})", "Requested CPUs are not available - requested 4000"},
      {R"({"CpusetMems":"3"})", "Requested memory nodes are not available - requested 3, available: 0"},
      {R"({"BlkioWeight":5})", "Range of blkio weight is from 10 to 1000"},
      {R"({"OomScoreAdj":1001})", "Invalid value 1001, range for oom score adj is [-1000, 1000]"},
      {R"({"MemorySwappiness":101})", "valid memory swappiness range is 0-100"},
      {R"({"Sysctls":{"kernel.panic":"1"}})", "sysctl 'kernel.panic' is not whitelisted"},
      {R"({"IpcMode":"host","Sysctls":{"kernel.shmmax":"1"}})", "not allowed with host IPC namespace"},
      {R"({"Devices":[{"PathOnHost":"/dev/x","PathInContainer":"/dev/y","CgroupPermissions":"rwx"}]})", "invalid device mode: rwx"},
      {R"({"SecurityOpt":["foo"]})", "invalid --security-opt 1: \"foo\""},
      {R"({"SecurityOpt":["no-new-privileges=maybe"]})", "invalid --security-opt 2"},
      {R"({"SecurityOpt":["apparmor=docker-default"]})", "AppArmor is not enabled on this host"},
      {R"({"SecurityOpt":["seccomp={not json"]})", "Decoding seccomp profile failed"},
      {R"({"PidMode":"bogus"})", "invalid PID mode: bogus"},
  };
  for (const auto& c : cases) {
    Json body = Json::parse(R"({"Image":"x","Cmd":["a"]})");
    body["HostConfig"] = Json::parse(c.hc);
    auto r = prepare_create(body, Json());
    ASSERT_FALSE(r) << c.hc;
    EXPECT_EQ(r.error().kind, Errc::invalid) << c.hc;
    EXPECT_NE(r.error().msg.find(c.msg), std::string::npos) << c.hc << " → " << r.error().msg;
  }
  // Accepted: -1 swap (unlimited), namespaced sysctls, container: modes, label=disable
  Json ok_body = Json::parse(R"({"Image":"x","Cmd":["a"],"HostConfig":{"Memory":8388608,"MemorySwap":-1,
      "Sysctls":{"net.ipv4.ip_forward":"1","fs.mqueue.msg_max":"20"},"PidMode":"container:a","IpcMode":"container:b",
      "SecurityOpt":["label=disable","no-new-privileges:true"],"Privileged":true,"Init":true,"OomKillDisable":true}})");
  auto r = prepare_create(ok_body, Json());
  ASSERT_TRUE(r) << r.error().msg;
  auto so = parse_security_opts(r->host_config["SecurityOpt"]);
  ASSERT_TRUE(so);
  EXPECT_TRUE(so->no_new_privileges);
}
