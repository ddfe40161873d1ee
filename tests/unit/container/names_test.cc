#include <gtest/gtest.h>

#include "container/names.h"
#include "container/signals.h"

using namespace berth;
using namespace berth::container;

TEST(Names, ValidNamesGetALeadingSlash) {
  EXPECT_EQ(*validate_name("web"), "/web");
  EXPECT_EQ(*validate_name("/web"), "/web");
  EXPECT_EQ(*validate_name("a1_b.c-d"), "/a1_b.c-d");
  EXPECT_EQ(*validate_name("9x"), "/9x");
}

TEST(Names, InvalidNamesUseDockersMessage) {
  for (const char* bad : {"", "/", "x", "-x", "_x", ".x", "a b", "a/b", "a:b", "é1"}) {
    auto r = validate_name(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, Errc::invalid);
    EXPECT_EQ(r.error().msg, std::string("Invalid container name (") + bad +
                                 "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  }
}

TEST(Names, GeneratedNamesAreValidAndAvoidTakenOnes) {
  std::vector<std::string> taken;
  for (int i = 0; i < 50; ++i) {
    std::string n = generate_name(taken);
    EXPECT_TRUE(validate_name(n)) << n;
    for (const auto& t : taken) EXPECT_NE("/" + n, t);
    taken.push_back("/" + n);
  }
}

TEST(Names, ResolveByIdNameAndPrefix) {
  std::string a(64, 'a'), b = "ab" + std::string(62, '0'), c(64, 'c');
  std::vector<NameEntry> all = {{a, "/web"}, {b, "/db"}, {c, "/" + std::string(64, 'a')}};
  EXPECT_EQ(*resolve_reference(a, all), a);  // full ID wins over a name equal to it
  EXPECT_EQ(*resolve_reference("web", all), a);
  EXPECT_EQ(*resolve_reference("/db", all), b);
  EXPECT_EQ(*resolve_reference("c", all), c);
  EXPECT_EQ(*resolve_reference("ab", all), b);
  auto amb = resolve_reference("a", all);  // a… and ab… both match
  ASSERT_FALSE(amb);
  EXPECT_EQ(amb.error().kind, Errc::invalid);
  auto missing = resolve_reference("nope", all);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Errc::not_found);
  EXPECT_EQ(missing.error().msg, "No such container: nope");
  EXPECT_FALSE(resolve_reference("", all));
  EXPECT_FALSE(resolve_reference("f", all));
}

TEST(Signals, NamesNumbersAndPrefixes) {
  EXPECT_EQ(*parse_signal("KILL"), 9);
  EXPECT_EQ(*parse_signal("SIGKILL"), 9);
  EXPECT_EQ(*parse_signal("sigterm"), 15);
  EXPECT_EQ(*parse_signal("15"), 15);
  EXPECT_EQ(*parse_signal("HUP"), 1);
  EXPECT_EQ(*parse_signal("RTMIN+1"), SIGRTMIN + 1);
  EXPECT_FALSE(parse_signal("NOPE"));
  EXPECT_FALSE(parse_signal("0"));
  EXPECT_FALSE(parse_signal("65"));
  EXPECT_FALSE(parse_signal(""));
}
