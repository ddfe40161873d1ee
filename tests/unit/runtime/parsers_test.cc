#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>

#include "runtime/mount_options.h"
#include "runtime/state.h"
#include "sys/proc.h"

namespace berth::runtime {
namespace {

TEST(MountOptions, FlagsPropagationAndData) {
  auto o = parse_mount_options({"nosuid", "noexec", "nodev", "ro", "rbind", "rprivate", "mode=755", "size=65536k"});
  ASSERT_TRUE(o) << o.error().msg;
  EXPECT_EQ(o->flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
  EXPECT_TRUE(o->bind);
  EXPECT_TRUE(o->recursive);
  ASSERT_EQ(o->propagation.size(), 1u);
  EXPECT_EQ(o->propagation[0], static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(o->data, "mode=755,size=65536k");
}

TEST(MountOptions, LaterOptionWins) {
  auto o = parse_mount_options({"ro", "rw", "relatime", "newinstance", "ptmxmode=0666", "gid=5"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->flags, static_cast<unsigned long>(MS_RELATIME));
  EXPECT_EQ(o->clear, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_FALSE(o->bind);
  EXPECT_EQ(o->data, "newinstance,ptmxmode=0666,gid=5");
}

TEST(MountOptions, UnknownOptionIsAnError) {
  auto o = parse_mount_options({"bogus"});
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().msg, "unknown mount option \"bogus\"");
  EXPECT_FALSE(parse_mount_options({"rro"}));
}

TEST(ProcStat, ParsesStateAndStartTime) {
  // comm with spaces and a ')' inside.
  std::string text =
      "1234 (my (odd) proc) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000000 100 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  auto st = sys::parse_proc_stat(text);
  ASSERT_TRUE(st) << st.error().msg;
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->start_time, 987654u);
  EXPECT_FALSE(sys::parse_proc_stat("garbage"));
}

TEST(ProcStat, OwnProcessMatchesItsStartTime) {
  auto st = sys::read_proc_stat(::getpid());
  ASSERT_TRUE(st);
  EXPECT_TRUE(sys::process_matches(::getpid(), st->start_time));
  EXPECT_FALSE(sys::process_matches(::getpid(), st->start_time + 1));  // a reused pid
}

TEST(State, IdValidationAndRoundTrip) {
  EXPECT_TRUE(validate_id("abc-1.2_x"));
  EXPECT_FALSE(validate_id(""));
  EXPECT_FALSE(validate_id("../x"));
  EXPECT_FALSE(validate_id("a/b"));
  EXPECT_FALSE(validate_id(".hidden"));
  ContainerState s;
  s.id = "x";
  s.pid = 42;
  s.start_time = 99;
  s.bundle = "/b";
  s.rootfs = "/b/rootfs";
  s.created = "2026-11-29T00:00:00Z";
  s.annotations = {{"k", "v"}};
  auto back = ContainerState::from_json(s.to_json());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->start_time, 99u);
  auto j = oci_state_json(*back, ContainerStatus::stopped);
  EXPECT_EQ(j["pid"], 0);
  EXPECT_EQ(j["status"], "stopped");
  EXPECT_EQ(j["owner"], "");
  EXPECT_EQ(j["annotations"]["k"], "v");
}

}  // namespace
}  // namespace berth::runtime
