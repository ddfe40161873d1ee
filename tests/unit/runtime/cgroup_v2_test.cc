// cgroup v2 (and hybrid) resource files written on a fake cgroupfs tree,
// value for value, plus the eBPF device program's shape.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/fs.h"
#include "runtime/cgroup.h"
#include "runtime/device_filter.h"
#include "runtime/state.h"

namespace berth::runtime {
namespace {

class FakeV2 : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rt-cgv2-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    file("cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
    file("cgroup.subtree_control", "");
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
  Cgroup v2(const std::string& path) {
    CgroupLayout l;
    l.mode = CgroupMode::v2;
    l.unified = root_;
    return Cgroup(l, path);
  }
  std::string root_;
};

TEST_F(FakeV2, EveryResourceFileAndValue) {
  Cgroup cg = v2("/c");
  ASSERT_TRUE(cg.create());
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 256 << 20;
  r.memory->swap = 384 << 20;  // OCI swap is memory+swap: v2 swap.max = 128M
  r.memory->reservation = 64 << 20;
  r.cpu.emplace();
  r.cpu->shares = 512;
  r.cpu->quota = 20000;
  r.cpu->period = 50000;
  r.cpu->cpus = "0-1";
  r.cpu->mems = "0";
  r.pids_limit = 99;
  r.blkio_weight = 500;
  r.throttle_read_bps.push_back({8, 0, std::nullopt, 1048576});
  r.throttle_write_iops.push_back({8, 16, std::nullopt, 300});
  r.hugepage_limits.push_back({"2MB", 4 << 20});
  auto st = cg.apply(r);
  ASSERT_TRUE(st) << st.error().msg;
  EXPECT_EQ(read("c/memory.max"), "268435456");
  EXPECT_EQ(read("c/memory.swap.max"), "134217728");
  EXPECT_EQ(read("c/memory.low"), "67108864");
  EXPECT_EQ(read("c/cpu.weight"), "20");  // 1 + (512-2)*9999/262142
  EXPECT_EQ(read("c/cpu.max"), "20000 50000");
  EXPECT_EQ(read("c/cpuset.cpus"), "0-1");
  EXPECT_EQ(read("c/cpuset.mems"), "0");
  EXPECT_EQ(read("c/pids.max"), "99");
  EXPECT_EQ(read("c/io.weight"), "default 4950");  // 1 + (500-10)*9999/990 = 4950
  // io.max gets one line per device and key; the fake keeps the last write.
  EXPECT_EQ(read("c/io.max"), "8:16 wiops=300");
  EXPECT_EQ(read("c/hugetlb.2MB.max"), "4194304");
  // The controllers were enabled for the children of the root.
  EXPECT_EQ(read("cgroup.subtree_control"), "+pids");
}

TEST_F(FakeV2, UnlimitedValuesAndDefaults) {
  Cgroup cg = v2("/d");
  ASSERT_TRUE(cg.create());
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = -1;
  r.memory->swap = -1;
  r.cpu.emplace();
  r.cpu->period = 100000;  // quota unset: unlimited with that period
  r.pids_limit = 0;        // 0 or -1: unlimited
  ASSERT_TRUE(cg.apply(r));
  EXPECT_EQ(read("d/memory.max"), "max");
  EXPECT_EQ(read("d/memory.swap.max"), "max");
  EXPECT_EQ(read("d/cpu.max"), "max 100000");
  EXPECT_EQ(read("d/pids.max"), "max");
}

TEST_F(FakeV2, BfqWeightKeepsTheV1Scale) {
  Cgroup cg = v2("/e");
  ASSERT_TRUE(cg.create());
  file("e/io.bfq.weight", "100\n");
  oci::Resources r;
  r.blkio_weight = 300;
  r.weight_devices.push_back({8, 0, uint16_t{700}, 0});
  ASSERT_TRUE(cg.apply(r));
  EXPECT_EQ(read("e/io.bfq.weight"), "300");
  EXPECT_EQ(read("e/io.weight"), "8:0 6970");
}

TEST_F(FakeV2, RefusesV1OnlySettings) {
  Cgroup cg = v2("/f");
  oci::Resources r;
  r.memory.emplace();
  r.memory->swappiness = 10;
  auto st = cg.check(r);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().msg, "linux.resources.memory.swappiness: not supported on cgroup v2");
  oci::Resources swap;
  swap.memory.emplace();
  swap.memory->limit = 100 << 20;
  swap.memory->swap = 50 << 20;
  ASSERT_TRUE(cg.create());
  st = cg.apply(swap);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().msg, "linux.resources.memory.swap: must be at least memory.limit");
  oci::Resources huge;
  huge.hugepage_limits.push_back({"3MB", 1});
  st = cg.check(huge);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().msg, "linux.resources.hugepageLimits[0].pageSize: page size \"3MB\" is not supported by this host");
}

TEST_F(FakeV2, FreezeWritesCgroupFreeze) {
  Cgroup cg = v2("/g");
  ASSERT_TRUE(cg.create());
  ASSERT_TRUE(cg.set_frozen(true));
  EXPECT_EQ(read("g/cgroup.freeze"), "1");
  EXPECT_TRUE(cgroup_frozen(cg.dirs()));
  ASSERT_TRUE(cg.set_frozen(false));
  EXPECT_EQ(read("g/cgroup.freeze"), "0");
}

TEST_F(FakeV2, StatsReadV2Files) {
  Cgroup cg = v2("/h");
  ASSERT_TRUE(cg.create());
  file("h/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 2\nthrottled_usec 30\n");
  file("h/memory.current", "4096\n");
  file("h/memory.max", "max\n");
  file("h/memory.swap.current", "0\n");
  file("h/memory.swap.max", "max\n");
  file("h/memory.stat", "anon 100\nfile 200\n");
  file("h/memory.events", "low 0\nhigh 0\nmax 3\noom 0\n");
  file("h/pids.current", "2\n");
  file("h/pids.max", "10\n");
  file("h/io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
  file("h/hugetlb.2MB.current", "2097152\n");
  file("h/hugetlb.2MB.max", "max\n");
  file("h/hugetlb.2MB.events", "max 1\n");
  OrderedJson s = cg.stats();
  EXPECT_EQ(s["cpu"]["usage"]["total"], 1500000u);
  EXPECT_EQ(s["cpu"]["usage"]["user"], 1000000u);
  EXPECT_EQ(s["cpu"]["usage"]["kernel"], 500000u);
  EXPECT_EQ(s["cpu"]["throttling"]["throttledPeriods"], 2u);
  EXPECT_EQ(s["cpu"]["throttling"]["throttledTime"], 30000u);
  EXPECT_EQ(s["memory"]["usage"]["usage"], 4096u);
  EXPECT_EQ(s["memory"]["usage"]["limit"], UINT64_MAX);
  EXPECT_EQ(s["memory"]["usage"]["failcnt"], 3u);
  EXPECT_EQ(s["memory"]["cache"], 200u);
  EXPECT_EQ(s["memory"]["raw"]["anon"], 100u);
  EXPECT_EQ(s["pids"]["current"], 2u);
  EXPECT_EQ(s["pids"]["limit"], 10u);
  EXPECT_EQ(s["blkio"]["ioServiceBytesRecursive"].dump(),
            R"([{"major":8,"op":"Read","value":10},{"major":8,"op":"Write","value":20}])");
  EXPECT_EQ(s["hugetlb"]["2MB"]["usage"], 2097152u);
  EXPECT_EQ(s["hugetlb"]["2MB"]["failcnt"], 1u);
}

TEST_F(FakeV2, OomKillsFromMemoryEvents) {
  Cgroup cg = v2("/c");
  ASSERT_TRUE(cg.create());
  EXPECT_EQ(cg.oom_kills(), 0u);  // no memory.events yet
  file("c/memory.events", "low 0\nhigh 0\nmax 9\noom 3\noom_kill 2\noom_group_kill 0\n");
  EXPECT_EQ(cg.oom_kills(), 2u);
}

TEST(DeviceFilter, ShapeOfTheProgram) {
  // Deny all, then allow c 1:3 rwm and b *:* r: last match wins, so the
  // allow rules are tested first and the catch-all ends the program.
  std::vector<oci::DeviceCgroupRule> rules = {
      {false, "a", {}, {}, "rwm"},
      {true, "c", int64_t{1}, int64_t{3}, "rwm"},
      {true, "b", std::nullopt, std::nullopt, "r"},
  };
  auto p = compile_device_filter(rules);
  // prologue 6 + b-rule (type, mov, and, jne-access, mov r0, exit = 6)
  // + c-rule (type, major, minor, mov r0, exit = 5) + a-rule (2); the
  // unconditional a-rule ends compilation, so no trailing default.
  ASSERT_EQ(p.size(), 6u + 6u + 5u + 2u);
  EXPECT_EQ(p[0].code, BPF_LDX | BPF_MEM | BPF_W);
  // First block: block devices, read only.
  EXPECT_EQ(p[6].code, BPF_JMP | BPF_JNE | BPF_K);
  EXPECT_EQ(p[6].imm, BPF_DEVCG_DEV_BLOCK);
  EXPECT_EQ(p[6].off, 5);  // to the next block
  EXPECT_EQ(p[8].imm, BPF_DEVCG_ACC_READ);
  EXPECT_EQ(p[10].imm, 1);  // allow
  // Second block: c 1:3.
  EXPECT_EQ(p[12].imm, BPF_DEVCG_DEV_CHAR);
  EXPECT_EQ(p[12].off, 4);
  EXPECT_EQ(p[13].imm, 1);
  EXPECT_EQ(p[14].imm, 3);
  EXPECT_EQ(p[15].imm, 1);
  // Catch-all deny.
  EXPECT_EQ(p[17].code, BPF_ALU64 | BPF_MOV | BPF_K);
  EXPECT_EQ(p[17].imm, 0);
  EXPECT_EQ(p[18].code, BPF_JMP | BPF_EXIT);
}

TEST(DeviceFilter, NoRulesDenyEverything) {
  auto p = compile_device_filter({});
  ASSERT_EQ(p.size(), 8u);
  EXPECT_EQ(p[6].imm, 0);
  EXPECT_EQ(p[7].code, BPF_JMP | BPF_EXIT);
}

}  // namespace
}  // namespace berth::runtime
