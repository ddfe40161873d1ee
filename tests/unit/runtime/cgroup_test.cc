#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "runtime/cgroup.h"
#include "runtime/cgroup_layout.h"

namespace berth::runtime {
namespace {

// This machine: v1 controllers plus cgroup2 at /sys/fs/cgroup/unified.
const char* kHybrid =
    "25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

const char* kPureV2 =
    "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
    "28 24 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

const char* kPureV1 =
    "30 22 0:27 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
    "32 30 0:29 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
    "33 30 0:29 / /mnt/memory-again rw,nosuid - cgroup cgroup rw,memory\n";

TEST(CgroupLayout, Hybrid) {
  auto l = detect_cgroup_layout(kHybrid);
  ASSERT_TRUE(l) << l.error().msg;
  EXPECT_EQ(l->mode, CgroupMode::hybrid);
  EXPECT_EQ(l->unified, "/sys/fs/cgroup/unified");
  ASSERT_EQ(l->v1.size(), 7u);
  ASSERT_TRUE(l->find_v1("memory"));
  EXPECT_EQ(l->find_v1("memory")->mount_point, "/sys/fs/cgroup/memory");
  ASSERT_TRUE(l->find_v1("name=systemd"));
  EXPECT_EQ(l->find_v1("name=systemd")->controllers.size(), 1u);  // "xattr" is an option, not a controller
  EXPECT_FALSE(l->find_v1("blkio"));
}

TEST(CgroupLayout, PureV2) {
  auto l = detect_cgroup_layout(kPureV2);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->mode, CgroupMode::v2);
  EXPECT_EQ(l->unified, "/sys/fs/cgroup");
  EXPECT_TRUE(l->v1.empty());
}

TEST(CgroupLayout, PureV1WithCombinedControllersAndDuplicates) {
  auto l = detect_cgroup_layout(kPureV1);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->mode, CgroupMode::v1);
  EXPECT_TRUE(l->unified.empty());
  ASSERT_EQ(l->v1.size(), 2u);  // the second memory mount is the same hierarchy
  EXPECT_EQ(l->find_v1("cpuacct")->mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(l->find_v1("cpu"), l->find_v1("cpuacct"));
}

TEST(CgroupLayout, NoCgroups) {
  EXPECT_FALSE(detect_cgroup_layout("22 1 0:21 / /proc rw - proc proc rw\n"));
}

TEST(CgroupsPath, DefaultsAndValidation) {
  EXPECT_EQ(*resolve_cgroups_path(nullptr, "abc"), "/berth/abc");
  std::string p = "a//b/";
  EXPECT_EQ(*resolve_cgroups_path(&p, "abc"), "/a/b");
  std::string bad = "/a/../b";
  EXPECT_FALSE(resolve_cgroups_path(&bad, "abc"));
  std::string systemd = "system.slice:berth:abc";
  EXPECT_FALSE(resolve_cgroups_path(&systemd, "abc"));
}

TEST(CgroupMath, SharesToWeight) {
  EXPECT_EQ(cpu_shares_to_weight(2), 1u);
  EXPECT_EQ(cpu_shares_to_weight(1024), 39u);
  EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
}

class FakeCgroupFs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cgtest-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { (void)fs::remove_all(root_); }
  void file(const std::string& rel, const std::string& content) {
    ASSERT_TRUE(fs::mkdir_p(fs::dirname(root_ + "/" + rel)));
    ASSERT_TRUE(fs::write_file_atomic(root_ + "/" + rel, content, fs::Durability::none));
  }
  std::string read(const std::string& rel) {
    auto r = fs::read_file(root_ + "/" + rel);
    return r ? *r : "<missing>";
  }
  std::string root_;
};

// cgroupfs creates the interface files on mkdir; the fake creates them
// before apply() writes them (writes to plain files replace content).
TEST_F(FakeCgroupFs, V2CreateEnablesControllersAndApplies) {
  file("cgroup.controllers", "cpuset cpu io memory pids\n");
  file("cgroup.subtree_control", "");
  CgroupLayout l;
  l.mode = CgroupMode::v2;
  l.unified = root_;
  Cgroup cg(l, "/berth/c1");
  EXPECT_EQ(cg.dirs(), std::vector<std::string>{root_ + "/berth/c1"});
  file("berth/cgroup.controllers", "cpuset cpu io memory pids\n");
  file("berth/cgroup.subtree_control", "");
  ASSERT_TRUE(cg.create());
  // The last "+controller" write wins in a plain file; each was written.
  EXPECT_EQ(read("cgroup.subtree_control"), "+pids");
  EXPECT_EQ(read("berth/cgroup.subtree_control"), "+pids");
  ASSERT_TRUE(fs::exists(root_ + "/berth/c1"));
  for (const char* f : {"memory.max", "memory.swap.max", "cpu.weight", "cpu.max", "pids.max", "cgroup.procs"})
    file(std::string("berth/c1/") + f, "");
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = 64 << 20;
  r.memory->swap = 128 << 20;
  r.cpu = oci::CpuResources{};
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.pids_limit = 32;
  auto st = cg.apply(r);
  ASSERT_TRUE(st) << st.error().msg;
  EXPECT_EQ(read("berth/c1/memory.max"), "67108864");
  EXPECT_EQ(read("berth/c1/memory.swap.max"), "67108864");
  EXPECT_EQ(read("berth/c1/cpu.weight"), "39");
  EXPECT_EQ(read("berth/c1/cpu.max"), "50000 100000");
  EXPECT_EQ(read("berth/c1/pids.max"), "32");
  ASSERT_TRUE(cg.add_pid(4242));
  EXPECT_EQ(read("berth/c1/cgroup.procs"), "4242");
  auto pids = cg.pids();
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, std::vector<pid_t>{4242});
}

TEST_F(FakeCgroupFs, V2RejectsWhatItCannotApply) {
  file("cgroup.controllers", "cpu memory pids\n");
  CgroupLayout l;
  l.mode = CgroupMode::v2;
  l.unified = root_;
  Cgroup cg(l, "/berth/c2");
  oci::Resources r;
  r.devices.push_back(oci::DeviceCgroupRule{false, "a", {}, {}, "rwm"});
  EXPECT_TRUE(cg.check(r));  // an eBPF program on v2
  oci::Resources r2;
  r2.cpu = oci::CpuResources{};
  r2.cpu->cpus = "0";
  auto st = cg.check(r2);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().msg, "linux.resources.cpu.cpus: the cpuset controller is not available");
}

// A controller already in cgroup.subtree_control is not written again (each
// write waits for dying cgroups to go offline): only the missing ones are.
TEST_F(FakeCgroupFs, V2CreateWritesOnlyControllersNotYetEnabled) {
  file("cgroup.controllers", "cpuset cpu io memory pids\n");
  file("cgroup.subtree_control", "cpuset cpu io memory pids\n");
  file("berth/cgroup.controllers", "cpuset cpu io memory pids\n");
  file("berth/cgroup.subtree_control", "cpu io memory pids\n");
  CgroupLayout l;
  l.mode = CgroupMode::v2;
  l.unified = root_;
  Cgroup cg(l, "/berth/c2");
  ASSERT_TRUE(cg.create());
  EXPECT_EQ(read("cgroup.subtree_control"), "cpuset cpu io memory pids\n");
  EXPECT_EQ(read("berth/cgroup.subtree_control"), "+cpuset");
  EXPECT_TRUE(fs::exists(root_ + "/berth/c2"));
}

TEST_F(FakeCgroupFs, V1CpusetInheritsAndMemoryLimit) {
  file("cpuset/cpuset.cpus", "0-1\n");
  file("cpuset/cpuset.mems", "0\n");
  ASSERT_TRUE(fs::mkdir_p(root_ + "/memory"));
  CgroupLayout l;
  l.mode = CgroupMode::hybrid;
  l.v1 = {{root_ + "/cpuset", {"cpuset"}}, {root_ + "/memory", {"memory"}}};
  l.unified = root_ + "/unified";
  ASSERT_TRUE(fs::mkdir_p(l.unified));
  Cgroup cg(l, "/berth/c3");
  ASSERT_TRUE(cg.create());
  EXPECT_EQ(read("cpuset/berth/cpuset.cpus"), "0-1");
  EXPECT_EQ(read("cpuset/berth/c3/cpuset.mems"), "0");
  EXPECT_TRUE(fs::exists(root_ + "/unified/berth/c3"));
  file("memory/berth/c3/memory.limit_in_bytes", "");
  oci::Resources r;
  r.memory = oci::MemoryResources{};
  r.memory->limit = 1 << 20;
  ASSERT_TRUE(cg.apply(r));
  EXPECT_EQ(read("memory/berth/c3/memory.limit_in_bytes"), "1048576");
  oci::Resources pids;
  pids.pids_limit = 5;
  auto st = cg.check(pids);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().msg, "linux.resources.pids.limit: the pids cgroup controller is not mounted");
}

// The device rules: runc's defaults and linux.devices are added after the
// spec's, but an allow identical to one already in force (after the last
// deny) is not repeated -- each cgroup v1 rule is one write.
TEST(DefaultDevices, AddsOnlyRulesNotAlreadyInForce) {
  auto rule = [](bool allow, const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                 const char* access) {
    oci::DeviceCgroupRule d;
    d.allow = allow;
    d.type = type;
    d.major = major;
    d.minor = minor;
    d.access = access;
    return d;
  };
  auto text = [](const oci::DeviceCgroupRule& d) {
    return std::string(d.allow ? "allow " : "deny ") + d.type + " " +
           (d.major ? std::to_string(*d.major) : "*") + ":" + (d.minor ? std::to_string(*d.minor) : "*") + " " +
           d.access;
  };
  oci::Resources r;
  // Docker's default list (the deny-all first), as berthd's spec carries it.
  r.devices = {rule(false, "a", std::nullopt, std::nullopt, "rwm"), rule(true, "c", 1, 3, "rwm"),
               rule(true, "c", 1, 5, "rwm"),  rule(true, "c", 1, 7, "rwm"), rule(true, "c", 1, 8, "rwm"),
               rule(true, "c", 1, 9, "rwm"),  rule(true, "c", 5, 0, "rwm"), rule(true, "c", 5, 1, "rwm"),
               rule(true, "c", 5, 2, "rwm"),  rule(true, "c", 136, std::nullopt, "rwm")};
  auto out = with_default_devices(r);
  std::vector<std::string> got;
  for (const auto& d : out.devices) got.push_back(text(d));
  // Nothing is new: and 10:229, listed in linux.devices (a node), gets no
  // rule of its own (runc's behaviour: `--device X:r` stays read-only).
  std::vector<std::string> want;
  for (const auto& d : r.devices) want.push_back(text(d));
  EXPECT_EQ(got, want);
  r.devices.push_back(rule(true, "c", 10, 229, "r"));
  out = with_default_devices(r);
  ASSERT_EQ(out.devices.size(), r.devices.size());
  EXPECT_EQ(text(out.devices.back()), "allow c 10:229 r");
  r.devices.pop_back();

  // A deny after an allow: the defaults are added again after it, so the
  // order of effects (last matching rule wins) is kept.
  r.devices.push_back(rule(false, "c", 1, 3, "rwm"));
  out = with_default_devices(r);
  got.clear();
  for (size_t i = r.devices.size(); i < out.devices.size(); ++i) got.push_back(text(out.devices[i]));
  EXPECT_EQ(got, (std::vector<std::string>{"allow c 1:3 rwm", "allow c 1:5 rwm", "allow c 1:7 rwm",
                                           "allow c 1:8 rwm", "allow c 1:9 rwm", "allow c 5:0 rwm",
                                           "allow c 5:1 rwm", "allow c 5:2 rwm", "allow c 136:* rwm"}));

  // No device rules in the spec: none are added (nothing to restrict).
  EXPECT_TRUE(with_default_devices(oci::Resources{}).devices.empty());
}

}  // namespace
}  // namespace berth::runtime
// The statmount reading of the live host's /sys/fs/cgroup gives exactly
// what parsing its mountinfo gives (skipped where the kernel lacks it).
TEST(CgroupLayout, StatmountMatchesMountinfoOnThisHost) {
  auto sm = berth::runtime::detect_cgroup_layout_statmount();
  if (!sm) GTEST_SKIP() << sm.error().msg;
  auto text = berth::fs::read_file("/proc/self/mountinfo");
  ASSERT_TRUE(text);
  auto mi = berth::runtime::detect_cgroup_layout(*text);
  ASSERT_TRUE(mi);
  EXPECT_EQ(static_cast<int>(sm->mode), static_cast<int>(mi->mode));
  EXPECT_EQ(sm->unified, mi->unified);
  ASSERT_EQ(sm->v1.size(), mi->v1.size());
  for (size_t i = 0; i < sm->v1.size(); ++i) {
    EXPECT_EQ(sm->v1[i].mount_point, mi->v1[i].mount_point);
    EXPECT_EQ(sm->v1[i].controllers, mi->v1[i].controllers);
  }
}
