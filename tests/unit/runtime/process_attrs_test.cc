#include <gtest/gtest.h>
#include <linux/mempolicy.h>
#include <linux/seccomp.h>

#include "runtime/process_attrs.h"
#include "runtime/security.h"

namespace berth::runtime {
namespace {

TEST(ProcessAttrs, CpuLists) {
  auto s = parse_cpu_list("0-2, 5", "f");
  ASSERT_TRUE(s) << s.error().msg;
  EXPECT_EQ(CPU_COUNT(&*s), 4);
  EXPECT_TRUE(CPU_ISSET(0, &*s) && CPU_ISSET(2, &*s) && CPU_ISSET(5, &*s));
  EXPECT_FALSE(CPU_ISSET(3, &*s));
  for (const char* bad : {"", "x", "3-1", "-1", "1-", "0,,1", "99999"}) {
    auto b = parse_cpu_list(bad, "process.execCPUAffinity.final");
    ASSERT_FALSE(b) << bad;
    EXPECT_EQ(b.error().msg, std::string("process.execCPUAffinity.final: invalid CPU list \"") + bad + "\"");
  }
}

TEST(ProcessAttrs, Scheduler) {
  oci::Process::Scheduler s;
  s.policy = "SCHED_BATCH";
  s.nice = 7;
  s.flags = {"SCHED_FLAG_RESET_ON_FORK"};
  auto a = resolve_scheduler(s, "process.scheduler");
  ASSERT_TRUE(a) << a.error().msg;
  EXPECT_EQ(a->size, 48u);
  EXPECT_EQ(a->sched_policy, 3u);
  EXPECT_EQ(a->sched_nice, 7);
  EXPECT_EQ(a->sched_flags, 1u);
  s.policy = "SCHED_RR";
  s.priority = 0;
  EXPECT_EQ(resolve_scheduler(s, "p").error().msg, "p.priority: must be between 1 and 99 for SCHED_RR");
  s.priority = 10;
  ASSERT_TRUE(resolve_scheduler(s, "p"));
  EXPECT_EQ(resolve_scheduler(s, "p")->sched_priority, 10u);
  s.policy = "SCHED_OTHER";
  EXPECT_EQ(resolve_scheduler(s, "p").error().msg, "p.priority: only SCHED_FIFO and SCHED_RR take a priority");
  s.priority = 0;
  s.runtime = 5;
  EXPECT_EQ(resolve_scheduler(s, "p").error().msg, "p: runtime, deadline and period are only for SCHED_DEADLINE");
  s.policy = "SCHED_DEADLINE";
  ASSERT_TRUE(resolve_scheduler(s, "p"));
  EXPECT_EQ(resolve_scheduler(s, "p")->sched_runtime, 5u);
  s.flags = {"SCHED_FLAG_NOPE"};
  EXPECT_EQ(resolve_scheduler(s, "p").error().msg, "p.flags[0]: unknown flag \"SCHED_FLAG_NOPE\"");
}

TEST(ProcessAttrs, MemoryPolicy) {
  oci::Linux::MemoryPolicy m{"MPOL_INTERLEAVE", "0-1,65", {"MPOL_F_STATIC_NODES"}};
  auto p = resolve_memory_policy(m);
  ASSERT_TRUE(p) << p.error().msg;
  EXPECT_EQ(p->mode, MPOL_INTERLEAVE | MPOL_F_STATIC_NODES);
  EXPECT_EQ(p->nodes[0], 3UL);
  EXPECT_EQ(p->nodes[1], 2UL);
  EXPECT_EQ(p->maxnode, 67UL);
  m = {"MPOL_LOCAL", "", {}};
  ASSERT_TRUE(resolve_memory_policy(m));
  EXPECT_EQ(resolve_memory_policy(m)->maxnode, 0UL);
  m.nodes = "0";
  EXPECT_EQ(resolve_memory_policy(m).error().msg, "linux.memoryPolicy.nodes: MPOL_LOCAL takes no nodes");
  m = {"MPOL_BIND", "0", {"MPOL_F_SOMETHING"}};
  EXPECT_EQ(resolve_memory_policy(m).error().msg, "linux.memoryPolicy.flags[0]: unknown flag \"MPOL_F_SOMETHING\"");
}

TEST(ProcessAttrs, TimensOffsets) {
  std::map<std::string, oci::Linux::TimeOffset> o{{"monotonic", {86400, 5}}, {"boottime", {-10, 0}}};
  EXPECT_EQ(timens_offsets_text(o), "boottime -10 0\nmonotonic 86400 5\n");
}

TEST(Seccomp, NotifyRulesAskForAListener) {
  oci::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.syscalls.push_back({{"mkdir"}, "SCMP_ACT_NOTIFY", std::nullopt, {}});
  auto p = compile_seccomp(s);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().msg, "linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY rules");
  s.listener_path = "/run/agent.sock";
  s.flags = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  p = compile_seccomp(s);
  ASSERT_TRUE(p) << p.error().msg;
  EXPECT_TRUE(p->notify());
  EXPECT_EQ(p->flags, static_cast<unsigned>(SECCOMP_FILTER_FLAG_NEW_LISTENER | (1U << 5)));
  s.syscalls[0].action = "SCMP_ACT_ERRNO";
  EXPECT_EQ(compile_seccomp(s).error().msg, "linux.seccomp.listenerPath: set but no rule uses SCMP_ACT_NOTIFY");
}

}  // namespace
}  // namespace berth::runtime
