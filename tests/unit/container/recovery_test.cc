#include "container/recovery.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <signal.h>
#include <sys/wait.h>

#include "common/fs.h"

namespace berth::container::recovery {
namespace {

TEST(RecoveryProcStat, ParsesFieldsAfterACommWithSpacesAndParens) {
  auto st = parse_stat(
      "4242 (berth shim) (x)) S 17 4242 4242 0 -1 4194560 116 0 0 0 0 0 0 0 20 0 1 0 987654 5885952 303 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  ASSERT_TRUE(st) << st.error().msg;
  EXPECT_EQ(st->pid, 4242);
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 17);
  EXPECT_EQ(st->sid, 4242);
  EXPECT_EQ(st->start_time, 987654u);
}

TEST(RecoveryProcStat, RejectsTruncatedText) {
  EXPECT_FALSE(parse_stat("12 (sh) S 1 12"));
  EXPECT_FALSE(parse_stat("garbage"));
}

TEST(RecoveryProcStat, OwnProcessHasItsSession) {
  char buf[4096];
  FILE* f = std::fopen("/proc/self/stat", "r");
  ASSERT_NE(f, nullptr);
  size_t n = std::fread(buf, 1, sizeof buf, f);
  std::fclose(f);
  auto st = parse_stat(std::string_view(buf, n));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->pid, ::getpid());
  EXPECT_EQ(st->sid, ::getsid(0));
  EXPECT_EQ(st->ppid, ::getppid());
  EXPECT_GT(st->start_time, 0u);
}

TEST(RecoveryArgv, ValueAfterFlag) {
  std::vector<std::string> argv = {"berth-shim", "--id", "abc", "--runtime-root", "/r", "--tty"};
  EXPECT_EQ(argv_value(argv, "--id"), "abc");
  EXPECT_EQ(argv_value(argv, "--runtime-root"), "/r");
  EXPECT_EQ(argv_value(argv, "--tty"), "");      // last: no value
  EXPECT_EQ(argv_value(argv, "--socket"), "");
}

TEST(RecoveryShims, FindsNothingForAnUnusedRuntimeRoot) {
  EXPECT_TRUE(find_shims("/nonexistent/ops-recovery-test-root").empty());
}

TEST(RecoveryCgroups, NoDirectoriesForAnUnknownPath) {
  EXPECT_TRUE(cgroup_dirs("/berth/ops-recovery-test-does-not-exist").empty());
  EXPECT_EQ(sweep_cgroups("/berth/ops-recovery-test-does-not-exist"), 0);
}

}  // namespace
}  // namespace berth::container::recovery

TEST(Recovery, StateInitReadsPidAndStartTime) {
  auto i = berth::container::recovery::state_init(R"({"id":"x","pid":4242,"start_time":987654,"status":"created"})");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->first, 4242);
  EXPECT_EQ(i->second, 987654u);
  EXPECT_FALSE(berth::container::recovery::state_init(R"({"pid":0,"start_time":5})"));   // stopped
  EXPECT_FALSE(berth::container::recovery::state_init(R"({"pid":1,"start_time":5})"));   // never the host's init
  EXPECT_FALSE(berth::container::recovery::state_init(R"({"pid":77})"));                 // no start time: no check
  EXPECT_FALSE(berth::container::recovery::state_init("not json"));
}

TEST(Recovery, KillStateInitKillsOnlyTheRecordedProcess) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  auto st = berth::container::recovery::parse_stat(*berth::fs::read_file("/proc/" + std::to_string(child) + "/stat"));
  ASSERT_TRUE(st);
  char tmpl[] = "/tmp/berth-recov-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  // A wrong start time (a reused pid): left alone.
  ASSERT_TRUE(berth::fs::write_file_atomic(dir + "/state.json", "{\"pid\":" + std::to_string(child) +
                                                            ",\"start_time\":" + std::to_string(st->start_time + 1) + "}"));
  EXPECT_FALSE(berth::container::recovery::kill_state_init(dir, 1000));
  EXPECT_EQ(::kill(child, 0), 0);
  ASSERT_TRUE(berth::fs::write_file_atomic(dir + "/state.json", "{\"pid\":" + std::to_string(child) +
                                                            ",\"start_time\":" + std::to_string(st->start_time) + "}"));
  EXPECT_TRUE(berth::container::recovery::kill_state_init(dir, 5000));
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  (void)berth::fs::remove_all(dir);
}
