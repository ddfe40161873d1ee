// `features` (runc's JSON, opencontainers/runtime-spec features.md) and the
// rootless variant of the default spec.
#include <linux/capability.h>
#include <seccomp.h>
#include <sys/capability.h>

#include <cctype>

#include "common/fs.h"
#include "common/strings.h"
#include "runtime/container.h"

namespace berth::runtime {

bool host_has_apparmor() { return fs::exists("/sys/kernel/security/apparmor"); }
bool host_has_selinux() { return fs::exists("/sys/fs/selinux/enforce"); }

OrderedJson features_json() {
  OrderedJson j;
  j["ociVersionMin"] = "1.0.0";
  j["ociVersionMax"] = "1.1.0";
  j["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
  j["mountOptions"] = {"acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
                       "iversion", "lazytime", "loud", "mand", "noacl", "noatime", "nodev", "nodiratime",
                       "noexec", "noiversion", "nolazytime", "nomand", "norelatime", "nostrictatime",
                       "nosuid", "private", "rbind", "relatime", "remount", "ro", "rprivate", "rshared",
                       "rslave", "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid",
                       "sync", "tmpcopyup", "unbindable"};
  OrderedJson lx;
  lx["namespaces"] = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"};
  OrderedJson caps = OrderedJson::array();
  for (int c = 0; c <= CAP_LAST_CAP; ++c) {
    char* name = cap_to_name(c);
    if (!name) continue;
    std::string u = name;
    for (auto& ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (str::starts_with(u, "CAP_")) caps.push_back(u);
    cap_free(name);
  }
  lx["capabilities"] = caps;
  lx["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}};
  lx["seccomp"] = {
      {"enabled", true},
      {"actions",
       {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
      {"operators",
       {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
        "SCMP_CMP_NE"}},
      {"archs",
       {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"}},
      {"knownFlags", {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC",
                      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}},
      {"supportedFlags", {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                          "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}}};
  lx["apparmor"] = {{"enabled", host_has_apparmor()}};
  lx["selinux"] = {{"enabled", host_has_selinux()}};
  lx["intelRdt"] = {{"enabled", false}};
  j["linux"] = lx;
  j["annotations"] = {{"org.opencontainers.runc.checkpoint.enabled", "false"},
                      {"io.github.berth.runtime.version", "0.1.0"}};
  return j;
}

void make_rootless(OrderedJson& spec, uint32_t uid, uint32_t gid) {
  // As runc's `spec --rootless`: a user namespace mapping the caller to
  // root, no network namespace, sysfs bound from the host, no cgroup or
  // devices settings, and mounts a non-root user may make.
  OrderedJson ns = OrderedJson::array();
  for (const auto& n : spec["linux"]["namespaces"])
    if (n["type"] != "network" && n["type"] != "cgroup") ns.push_back(n);
  ns.push_back({{"type", "user"}});
  spec["linux"]["namespaces"] = ns;
  spec["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", uid}, {"size", 1}}};
  spec["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", gid}, {"size", 1}}};
  spec["linux"].erase("resources");
  OrderedJson mounts = OrderedJson::array();
  for (auto m : spec["mounts"]) {
    if (m["destination"] == "/sys/fs/cgroup") continue;
    if (m["destination"] == "/sys") {
      m = {{"destination", "/sys"}, {"type", "none"}, {"source", "/sys"},
           {"options", {"rbind", "nosuid", "noexec", "nodev", "ro"}}};
    }
    if (m["destination"] == "/dev/pts") {
      OrderedJson opts = OrderedJson::array();
      for (const auto& o : m["options"])
        if (o != "gid=5") opts.push_back(o);
      m["options"] = opts;
    }
    mounts.push_back(m);
  }
  spec["mounts"] = mounts;
}

}  // namespace berth::runtime
