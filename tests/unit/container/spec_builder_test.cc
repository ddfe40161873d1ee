#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "container/create_config.h"
#include "container/spec_builder.h"

using namespace berth;
using namespace berth::container;

namespace {

const std::string kId = "0123456789ab" + std::string(52, 'f');

std::string golden_path(const std::string& name) {
  // Not __FILE__: with ccache's base_dir it is relative to the build tree.
  return std::string(BERTH_SOURCE_DIR) + "/tests/unit/container/golden/" + name;
}

// Compares with the golden file; BERTH_UPDATE_GOLDEN=1 rewrites it.
void expect_golden(const Json& got, const std::string& name) {
  std::string path = golden_path(name);
  std::string text = got.dump(2) + "\n";
  if (std::getenv("BERTH_UPDATE_GOLDEN")) {
    std::ofstream(path) << text;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "missing golden file " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(Json::parse(ss.str()), got) << "spec differs from " << path << ":\n" << text;
}

SpecInput input(const char* body, const char* image_config = "{}") {
  auto req = prepare_create(Json::parse(body), Json::parse(image_config));
  EXPECT_TRUE(req) << req.error().msg;
  SpecInput in;
  in.id = kId;
  in.config = req->config;
  in.host_config = req->host_config;
  in.path = req->path;
  in.args = req->args;
  in.rootfs = "/var/lib/berth/overlay/" + kId + "/merged";
  std::string dir = "/var/lib/berth/containers/" + kId;
  in.hostname_path = dir + "/hostname";
  in.hosts_path = dir + "/hosts";
  in.resolv_conf_path = dir + "/resolv.conf";
  return in;
}

}  // namespace

TEST(SpecBuilder, DefaultRunMatchesGolden) {
  auto in = input(R"({"Image":"busybox","Cmd":["echo","hi"]})",
                  R"({"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]})");
  in.user.home = "/root";
  auto spec = build_spec(in);
  ASSERT_TRUE(spec) << spec.error().msg;
  expect_golden(*spec, "default_run.json");
}

TEST(SpecBuilder, TtyUserHostNetworkAndLimitsMatchGolden) {
  auto in = input(R"({"Image":"busybox","Cmd":["sh"],"Tty":true,"User":"app","WorkingDir":"/work",
      "Env":["FOO=bar","HOME=/custom"],"Hostname":"box",
      "HostConfig":{"NetworkMode":"host","CapAdd":["NET_ADMIN"],"CapDrop":["MKNOD"],
        "ReadonlyRootfs":true,"Memory":67108864,"NanoCpus":500000000,"PidsLimit":64,
        "Ulimits":[{"Name":"nofile","Soft":1024,"Hard":2048}],"ShmSize":1048576,
        "Tmpfs":{"/run":"size=1m"},"Binds":["/srv/data:/data:ro"],"OomScoreAdj":100,
        "Sysctls":{"kernel.msgmax":"65536"}}})");
  in.user.uid = 1000;
  in.user.gid = 1000;
  in.user.additional_gids = {10};
  in.user.home = "/home/app";
  auto spec = build_spec(in);
  ASSERT_TRUE(spec) << spec.error().msg;
  expect_golden(*spec, "tty_user_host_limits.json");
}

TEST(SpecBuilder, EnvDefaults) {
  auto in = input(R"({"Image":"x","Cmd":["a"],"Tty":true})");
  auto env = process_env(in);
  EXPECT_EQ(env, (std::vector<std::string>{kDefaultPathEnv, "HOSTNAME=0123456789ab", "TERM=xterm",
                                           "HOME=/"}));
  auto in2 = input(R"({"Image":"x","Cmd":["a"],"Env":["PATH=/x","HOSTNAME=mine"]})");
  EXPECT_EQ(process_env(in2), (std::vector<std::string>{"PATH=/x", "HOSTNAME=mine", "HOME=/"}));
}

TEST(SpecBuilder, NamespacesFollowModes) {
  auto ns_types = [](const Json& spec) {
    std::vector<std::string> out;
    for (const auto& n : spec["linux"]["namespaces"]) out.push_back(n["type"]);
    return out;
  };
  auto d = *build_spec(input(R"({"Image":"x","Cmd":["a"]})"));
  EXPECT_EQ(ns_types(d), (std::vector<std::string>{"pid", "network", "ipc", "uts", "mount"}));
  EXPECT_EQ(d["hostname"], "0123456789ab");
  auto none = *build_spec(input(R"({"Image":"x","Cmd":["a"],"HostConfig":{"NetworkMode":"none"}})"));
  EXPECT_EQ(ns_types(none), ns_types(d));
  auto host = *build_spec(input(
      R"({"Image":"x","Cmd":["a"],"HostConfig":{"NetworkMode":"host","PidMode":"host","IpcMode":"host","UTSMode":"host"}})"));
  EXPECT_EQ(ns_types(host), (std::vector<std::string>{"mount"}));
  EXPECT_FALSE(host.contains("hostname"));
  EXPECT_FALSE(host["linux"].contains("sysctl"));
  auto cg = *build_spec(input(R"({"Image":"x","Cmd":["a"],"HostConfig":{"CgroupnsMode":"private"}})"));
  EXPECT_EQ(ns_types(cg).back(), "cgroup");
}

TEST(SpecBuilder, DockerDefaultsWithSeccomp) {
  auto s = *build_spec(input(R"({"Image":"x","Cmd":["a"]})"));
  ASSERT_TRUE(s["linux"].contains("seccomp"));
  EXPECT_EQ(s["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(s["linux"]["cgroupsPath"], "/berth/" + kId);
  EXPECT_EQ(s["process"]["capabilities"]["bounding"].size(), 14u);
  EXPECT_FALSE(s["process"]["capabilities"].contains("inheritable"));
  EXPECT_FALSE(s["process"]["capabilities"].contains("ambient"));
  EXPECT_EQ(s["linux"]["maskedPaths"].size(), 11u);
  EXPECT_EQ(s["linux"]["readonlyPaths"].size(), 5u);
  EXPECT_EQ(s["process"]["cwd"], "/");
  EXPECT_EQ(s["root"]["readonly"], false);
}

TEST(SpecBuilder, SeccompDefaultFollowsCapabilities) {
  auto s = *build_spec(input(R"({"Image":"x","Cmd":["a"]})"));
  auto has_rule = [](const Json& sc, const std::string& name, const char* action) {
    for (const auto& c : sc["syscalls"])
      for (const auto& n : c["names"])
        if (n == name && c["action"] == action) return true;
    return false;
  };
  const Json& sc = s["linux"]["seccomp"];
  EXPECT_EQ(sc["defaultErrnoRet"], 1);
  EXPECT_EQ(sc["architectures"], Json({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  EXPECT_TRUE(has_rule(sc, "read", "SCMP_ACT_ALLOW"));
  EXPECT_TRUE(has_rule(sc, "arch_prctl", "SCMP_ACT_ALLOW"));
  EXPECT_FALSE(has_rule(sc, "mount", "SCMP_ACT_ALLOW"));       // needs CAP_SYS_ADMIN
  EXPECT_FALSE(has_rule(sc, "reboot", "SCMP_ACT_ALLOW"));      // needs CAP_SYS_BOOT
  EXPECT_TRUE(has_rule(sc, "chroot", "SCMP_ACT_ALLOW"));       // CAP_SYS_CHROOT is a default
  EXPECT_TRUE(has_rule(sc, "clone3", "SCMP_ACT_ERRNO"));       // ENOSYS without CAP_SYS_ADMIN
  EXPECT_FALSE(has_rule(sc, "s390_runtime_instr", "SCMP_ACT_ALLOW"));
  // clone is allowed only without namespace flags
  bool masked_clone = false;
  for (const auto& c : sc["syscalls"])
    if (c["names"] == Json({"clone"}) && c.contains("args"))
      masked_clone = c["args"][0]["op"] == "SCMP_CMP_MASKED_EQ" && c["args"][0]["value"] == 2114060288;
  EXPECT_TRUE(masked_clone);

  auto admin = *build_spec(input(R"({"Image":"x","Cmd":["a"],"HostConfig":{"CapAdd":["SYS_ADMIN"]}})"));
  EXPECT_TRUE(has_rule(admin["linux"]["seccomp"], "mount", "SCMP_ACT_ALLOW"));
  EXPECT_FALSE(has_rule(admin["linux"]["seccomp"], "clone3", "SCMP_ACT_ERRNO"));
}

TEST(SpecBuilder, SecurityOptions) {
  auto s = *build_spec(input(R"({"Image":"x","Cmd":["a"],"HostConfig":{"SecurityOpt":["no-new-privileges","seccomp=unconfined"]}})"));
  EXPECT_EQ(s["process"]["noNewPrivileges"], true);
  EXPECT_FALSE(s["linux"].contains("seccomp"));
  auto p = *build_spec(input(R"({"Image":"x","Cmd":["a"],"HostConfig":{"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}"]}})"));
  EXPECT_EQ(p["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ALLOW");
  EXPECT_EQ(p["linux"]["seccomp"]["syscalls"][0]["names"], Json({"mkdir"}));
}

TEST(SpecBuilder, PrivilegedUsesHostFacts) {
  auto in = input(R"({"Image":"x","Cmd":["a"],"HostConfig":{"Privileged":true}})");
  in.host_caps = {"CAP_CHOWN", "CAP_SYS_ADMIN"};
  in.devices = {Json{{"path", "/dev/loop0"}, {"type", "b"}, {"major", 7}, {"minor", 0},
                     {"fileMode", 0660}, {"uid", 0}, {"gid", 6}, {"access", "rwm"}}};
  auto s = *build_spec(in);
  EXPECT_EQ(s["process"]["capabilities"]["bounding"], Json({"CAP_CHOWN", "CAP_SYS_ADMIN"}));
  EXPECT_FALSE(s["linux"].contains("seccomp"));
  EXPECT_FALSE(s["linux"].contains("maskedPaths"));
  EXPECT_FALSE(s["linux"].contains("readonlyPaths"));
  EXPECT_EQ(s["linux"]["resources"]["devices"], Json::array({Json{{"allow", true}, {"type", "a"}, {"access", "rwm"}}}));
  bool loop = false;
  for (const auto& d : s["linux"]["devices"])
    if (d["path"] == "/dev/loop0") loop = !d.contains("access") && d["type"] == "b";
  EXPECT_TRUE(loop);
  for (const auto& m : s["mounts"])
    if (m["destination"] == "/sys") { EXPECT_NE(std::find(m["options"].begin(), m["options"].end(), "rw"), m["options"].end()); }
}

TEST(SpecBuilder, InitDevicesBlkioOomAndJoinedNamespaces) {
  auto in = input(R"({"Image":"x","Cmd":["sleep","1"],"HostConfig":{"Init":true,"OomKillDisable":true,"Memory":8388608,
      "BlkioWeight":300,"BlkioDeviceReadBps":[{"Path":"/dev/loop0","Rate":1048576}],"PidMode":"container:abc","IpcMode":"none"}})");
  in.init_binary = "/usr/libexec/berth-init";
  in.device_numbers["/dev/loop0"] = {7, 0};
  in.join_ns["pid"] = "/proc/42/ns/pid";
  in.devices = {Json{{"path", "/dev/xloop"}, {"type", "b"}, {"major", 7}, {"minor", 0},
                     {"fileMode", 0660}, {"uid", 0}, {"gid", 0}, {"access", "r"}}};
  auto s = *build_spec(in);
  EXPECT_EQ(s["process"]["args"], Json({"/sbin/docker-init", "--", "sleep", "1"}));
  bool init_mount = false, shm = false;
  for (const auto& m : s["mounts"]) {
    if (m["destination"] == "/sbin/docker-init" && m["source"] == "/usr/libexec/berth-init") init_mount = true;
    if (m["destination"] == "/dev/shm") shm = true;
  }
  EXPECT_TRUE(init_mount);
  EXPECT_FALSE(shm);  // --ipc none
  EXPECT_EQ(s["linux"]["resources"]["memory"]["disableOOMKiller"], true);
  EXPECT_EQ(s["linux"]["resources"]["blockIO"]["weight"], 300);
  EXPECT_EQ(s["linux"]["resources"]["blockIO"]["throttleReadBpsDevice"],
            Json::array({Json{{"major", 7}, {"minor", 0}, {"rate", 1048576}}}));
  bool pidns = false;
  for (const auto& n : s["linux"]["namespaces"])
    if (n["type"] == "pid") pidns = n.value("path", "") == "/proc/42/ns/pid";
  EXPECT_TRUE(pidns);
  const auto& rules = s["linux"]["resources"]["devices"];
  EXPECT_EQ(rules.back(), (Json{{"allow", true}, {"type", "b"}, {"major", 7}, {"minor", 0}, {"access", "r"}}));
}

TEST(SpecBuilder, CapAddOfACapabilityTheHostLacksIsAnError) {
  auto in = input(R"({"Image":"x","Cmd":["a"],"HostConfig":{"CapAdd":["sys_resource"]}})");
  in.host_caps = {"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"};
  auto r = build_spec(in);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().msg.find("CAP_SYS_RESOURCE"), std::string::npos);
  // Defaults the host lacks shrink silently (as --privileged), ALL too.
  auto all = input(R"({"Image":"x","Cmd":["a"],"HostConfig":{"CapAdd":["ALL"]}})");
  all.host_caps = {"CAP_CHOWN", "CAP_SYS_ADMIN"};
  auto s = *build_spec(all);
  EXPECT_EQ(s["process"]["capabilities"]["bounding"], Json({"CAP_CHOWN", "CAP_SYS_ADMIN"}));
}
