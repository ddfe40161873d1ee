#include "api/detach_keys.h"

#include <gtest/gtest.h>

using namespace berth;
using namespace berth::api;

TEST(DetachKeys, ParsesDockerSpecs) {
  EXPECT_EQ(*parse_detach_keys("ctrl-p,ctrl-q"), "\x10\x11");
  EXPECT_EQ(*parse_detach_keys("CTRL-A,x"), std::string("\x01x"));
  EXPECT_EQ(*parse_detach_keys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_"),
            std::string("\0\x1b\x1c\x1d\x1e\x1f", 6));
}

TEST(DetachKeys, RefusesWithDockersText) {
  auto r = parse_detach_keys("ctrl-1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().msg, "Unknown character: 'ctrl-1'");
  EXPECT_EQ(parse_detach_keys("a,,b").error().msg, "Unknown character: ''");
  EXPECT_FALSE(parse_detach_keys(""));
  EXPECT_FALSE(parse_detach_keys("ctrl-"));
  EXPECT_FALSE(parse_detach_keys("ab"));
  EXPECT_FALSE(parse_detach_keys("ctrl-pq"));
}

TEST(EscapeMatcher, PassesPlainInputAndDetectsTheSequence) {
  EscapeMatcher m{std::string(kDefaultDetachKeys)};
  std::string out;
  EXPECT_FALSE(m.feed("echo hi\r", out));
  EXPECT_EQ(out, "echo hi\r");
  out.clear();
  EXPECT_TRUE(m.feed("ls\x10\x11trailing", out));
  EXPECT_EQ(out, "ls");  // what follows the sequence is dropped
}

TEST(EscapeMatcher, FindsASequenceSplitAcrossReads) {
  EscapeMatcher m("\x01x");
  std::string out;
  EXPECT_FALSE(m.feed("abc\x01", out));
  EXPECT_EQ(out, "abc");
  EXPECT_EQ(m.pending(), "\x01");
  EXPECT_TRUE(m.feed("x", out));
  EXPECT_EQ(out, "abc");
}

TEST(EscapeMatcher, ForwardsAnUncompletedPartialMatchUnchanged) {
  EscapeMatcher m{std::string(kDefaultDetachKeys)};
  std::string out;
  EXPECT_FALSE(m.feed("\x10", out));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(m.feed("a", out));
  EXPECT_EQ(out, "\x10" "a");
  out.clear();
  // Held back at the end of input, then forwarded by flush().
  EXPECT_FALSE(m.feed("z\x10", out));
  EXPECT_EQ(out, "z");
  m.flush(out);
  EXPECT_EQ(out, "z\x10");
  EXPECT_EQ(m.pending(), "");
}

TEST(EscapeMatcher, RestartsOnTheByteThatBrokeAMatch) {
  EscapeMatcher m{std::string(kDefaultDetachKeys)};
  std::string out;
  // ctrl-p ctrl-p ctrl-q: the first ctrl-p is typed through, the last two detach.
  EXPECT_TRUE(m.feed("\x10\x10\x11", out));
  EXPECT_EQ(out, "\x10");
  EscapeMatcher k("aab");
  out.clear();
  EXPECT_FALSE(m.feed("", out));
  EXPECT_TRUE(k.feed("aaab", out));
  EXPECT_EQ(out, "a");
  out.clear();
  EscapeMatcher k2("aab");
  EXPECT_FALSE(k2.feed("aac", out));
  EXPECT_EQ(out, "aac");
  // One byte at a time gives the same answer as one piece.
  EscapeMatcher k3("aab");
  out.clear();
  bool hit = false;
  for (char ch : std::string("xaaaab")) hit = k3.feed(std::string_view(&ch, 1), out) || hit;
  EXPECT_TRUE(hit);
  EXPECT_EQ(out, "xaa");
}

TEST(EscapeMatcher, EmptyKeysNeverMatch) {
  EscapeMatcher m("");
  std::string out;
  EXPECT_FALSE(m.feed("\x10\x11", out));
  EXPECT_EQ(out, "\x10\x11");
}
