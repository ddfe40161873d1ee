#include "common/signals.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace berth {
namespace {

TEST(Signals, NamesNumbersAndRealtime) {
  EXPECT_EQ(*parse_signal("TERM"), SIGTERM);
  EXPECT_EQ(*parse_signal("SIGTERM"), SIGTERM);
  EXPECT_EQ(*parse_signal("sigkill"), SIGKILL);
  EXPECT_EQ(*parse_signal("kill"), SIGKILL);
  EXPECT_EQ(*parse_signal("9"), 9);
  EXPECT_EQ(*parse_signal("HUP"), SIGHUP);
  EXPECT_EQ(*parse_signal("USR1"), SIGUSR1);
  EXPECT_EQ(*parse_signal("RTMIN"), SIGRTMIN);
  EXPECT_EQ(*parse_signal("RTMIN+2"), SIGRTMIN + 2);
  EXPECT_EQ(*parse_signal("SIGRTMAX-1"), SIGRTMAX - 1);
  EXPECT_FALSE(parse_signal("NOPE"));
  EXPECT_FALSE(parse_signal("0"));
  EXPECT_FALSE(parse_signal("99"));
  EXPECT_FALSE(parse_signal(""));
  EXPECT_EQ(parse_signal("FOO").error().msg, "unknown signal \"FOO\"");
}

}  // namespace
}  // namespace berth
