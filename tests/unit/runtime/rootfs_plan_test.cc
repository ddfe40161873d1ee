#include "runtime/rootfs_plan.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace berth::runtime {
namespace {

oci::Spec base_spec() {
  auto s = oci::parse_spec(R"({
    "ociVersion": "1.0.2",
    "process": {"args": ["sh"], "cwd": "/"},
    "root": {"path": "rootfs"},
    "mounts": [
      {"destination": "/proc", "type": "proc", "source": "proc"},
      {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
      {"destination": "/data/../etc/hosts", "type": "bind", "source": "hosts", "options": ["rbind", "ro", "rprivate"]},
      {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "ro"]}
    ],
    "linux": {"namespaces": [{"type": "mount"}], "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}],
              "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]}
  })");
  EXPECT_TRUE(s) << s.error().msg;
  return *s;
}

PlanInputs inputs(const CgroupLayout* l) {
  PlanInputs in;
  in.bundle = "/b";
  in.rootfs = "/b/rootfs";
  in.cgroups = l;
  in.cgroup_path = "/berth/x";
  in.source_is_dir = [](const std::string& p) -> Result<bool> {
    if (p == "/b/hosts") return false;
    return make_error(Errc::not_found, "stat " + p + ": no such file or directory");
  };
  return in;
}

TEST(CleanPath, Normalises) {
  EXPECT_EQ(clean_path("/a/./b/../c/"), "/a/c");
  EXPECT_EQ(clean_path("/../../x"), "/x");
  EXPECT_EQ(clean_path("/"), "/");
}

TEST(RootfsPlan, GoldenHybrid) {
  CgroupLayout l;
  l.mode = CgroupMode::hybrid;
  l.v1 = {{"/sys/fs/cgroup/memory", {"memory"}}, {"/sys/fs/cgroup/cpu,cpuacct", {"cpu", "cpuacct"}}};
  l.unified = "/sys/fs/cgroup/unified";
  auto plan = plan_rootfs(base_spec(), inputs(&l));
  ASSERT_TRUE(plan) << plan.error().msg;
  EXPECT_EQ(plan->root_propagation, static_cast<unsigned long>(MS_REC | MS_PRIVATE));
  std::vector<std::string> got;
  for (const auto& s : plan->steps) {
    std::string k;
    switch (s.kind) {
      case StepKind::mount: k = "mount"; break;
      case StepKind::bind: k = "bind"; break;
      case StepKind::remount: k = "remount"; break;
      case StepKind::propagate: k = "propagate"; break;
      case StepKind::mknod: k = "mknod"; break;
      case StepKind::bind_device: k = "bind_device"; break;
      case StepKind::symlink: k = "symlink"; break;
    }
    got.push_back(k + " " + s.source + " " + s.target + " " + s.fstype + " " + s.data + (s.target_is_dir ? " d" : " f"));
  }
  std::vector<std::string> want = {
      "mount proc /proc proc  d",
      "mount tmpfs /dev tmpfs mode=755,size=65536k d",
      "bind /b/hosts /etc/hosts   f",
      "remount  /etc/hosts   f",
      "propagate  /etc/hosts   f",
      "mount tmpfs /sys/fs/cgroup tmpfs mode=755 d",
      "bind /sys/fs/cgroup/memory/berth/x /sys/fs/cgroup/memory   d",
      "remount  /sys/fs/cgroup/memory   d",
      "bind /sys/fs/cgroup/cpu,cpuacct/berth/x /sys/fs/cgroup/cpu,cpuacct   d",
      "remount  /sys/fs/cgroup/cpu,cpuacct   d",
      "bind /sys/fs/cgroup/unified/berth/x /sys/fs/cgroup/unified   d",
      "remount  /sys/fs/cgroup/unified   d",
      "remount  /sys/fs/cgroup tmpfs mode=755 d",
      "mknod  /dev/null   f",
      "mknod  /dev/zero   f",
      "mknod  /dev/full   f",
      "mknod  /dev/random   f",
      "mknod  /dev/urandom   f",
      "mknod  /dev/tty   f",
      "mknod  /dev/fuse   f",
      "symlink /proc/self/fd /dev/fd   f",
      "symlink /proc/self/fd/0 /dev/stdin   f",
      "symlink /proc/self/fd/1 /dev/stdout   f",
      "symlink /proc/self/fd/2 /dev/stderr   f",
      "symlink /proc/kcore /dev/core   f",
      "symlink pts/ptmx /dev/ptmx   f",
  };
  EXPECT_EQ(got, want);
  const auto& hosts_remount = plan->steps[3];
  EXPECT_EQ(hosts_remount.flags, static_cast<unsigned long>(MS_BIND | MS_REMOUNT | MS_RDONLY));
  EXPECT_EQ(plan->steps[2].flags, static_cast<unsigned long>(MS_BIND | MS_REC));
  EXPECT_EQ(plan->steps[4].flags, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(plan->steps[1].flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
  const auto& fuse = plan->steps[19];
  EXPECT_EQ(fuse.mode, static_cast<mode_t>(S_IFCHR | 0666));
  EXPECT_EQ(fuse.dev, makedev(10, 229));
  EXPECT_EQ(plan->masked_paths, std::vector<std::string>{"/proc/kcore"});
}

TEST(RootfsPlan, PureV2CgroupAndNoMknodInUserns) {
  CgroupLayout l;
  l.mode = CgroupMode::v2;
  l.unified = "/sys/fs/cgroup";
  auto in = inputs(&l);
  in.can_mknod = false;
  auto plan = plan_rootfs(base_spec(), in);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->steps[5].kind, StepKind::bind);
  EXPECT_EQ(plan->steps[5].source, "/sys/fs/cgroup/berth/x");
  EXPECT_EQ(plan->steps[5].target, "/sys/fs/cgroup");
  EXPECT_EQ(plan->steps[6].kind, StepKind::remount);
  EXPECT_EQ(plan->steps[7].kind, StepKind::bind_device);
  EXPECT_EQ(plan->steps[7].source, "/dev/null");
}

TEST(RootfsPlan, SysfsWithoutNetnsIsABind) {
  auto spec = base_spec();
  spec.mounts = {{"/sys", "sysfs", "sysfs", {"ro", "nosuid"}}};
  auto in = inputs(nullptr);
  in.new_netns = false;
  auto plan = plan_rootfs(spec, in);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->steps[0].kind, StepKind::bind);
  EXPECT_EQ(plan->steps[0].source, "/sys");
  EXPECT_EQ(plan->steps[1].flags, static_cast<unsigned long>(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID));
}

TEST(RootfsPlan, ErrorsNameTheMount) {
  auto spec = base_spec();
  spec.mounts[2].source = "missing";
  auto plan = plan_rootfs(spec, inputs(nullptr));
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().msg, "mounts[2].source: stat /b/missing: no such file or directory");
  spec = base_spec();
  spec.mounts[0].options = {"bogus"};
  plan = plan_rootfs(spec, inputs(nullptr));
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().msg, "mounts[0].options: unknown mount option \"bogus\"");
}

TEST(RootfsPlan, DevBindSkipsDeviceCreation) {
  auto spec = base_spec();
  spec.mounts = {{"/dev", "bind", "/dev", {"rbind"}}};
  auto in = inputs(nullptr);
  in.source_is_dir = [](const std::string&) -> Result<bool> { return true; };
  auto plan = plan_rootfs(spec, in);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->steps.size(), 1u);
}

}  // namespace
}  // namespace berth::runtime
