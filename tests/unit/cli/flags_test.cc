#include "cli/flags.h"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

FlagSet run_flags() {
  FlagSet f(/*interspersed=*/false);
  f.add_bool("interactive", 'i', "");
  f.add_bool("tty", 't', "");
  f.add_bool("rm", 0, "");
  f.add_bool("sig-proxy", 0, "", true);
  f.add_list("env", 'e', "");
  f.add_string("name", 0, "", "");
  f.add_int("last", 'n', -1, "");
  return f;
}

TEST(Flags, CombinedShortsAndValueForms) {
  FlagSet f = run_flags();
  ASSERT_TRUE(f.parse({"-it", "-e", "A=1", "-eB=2", "--env=C=3", "-e=D=4", "--name", "x", "busybox", "ls", "-la"}));
  EXPECT_TRUE(f.get_bool("interactive"));
  EXPECT_TRUE(f.get_bool("tty"));
  EXPECT_EQ(f.get_list("env"), (std::vector<std::string>{"A=1", "B=2", "C=3", "D=4"}));
  EXPECT_EQ(f.get_string("name"), "x");
  // Flags stop at the first positional: -la belongs to the container.
  EXPECT_EQ(f.args(), (std::vector<std::string>{"busybox", "ls", "-la"}));
}

TEST(Flags, EqualsFormsAndBoolValues) {
  FlagSet f = run_flags();
  ASSERT_TRUE(f.parse({"--name=y", "--rm=false", "--sig-proxy=false", "-n5", "img"}));
  EXPECT_EQ(f.get_string("name"), "y");
  EXPECT_FALSE(f.get_bool("rm"));
  EXPECT_TRUE(f.changed("rm"));
  EXPECT_FALSE(f.get_bool("sig-proxy"));
  EXPECT_EQ(f.get_int("last"), 5);
}

TEST(Flags, DefaultsWhenAbsent) {
  FlagSet f = run_flags();
  ASSERT_TRUE(f.parse({"img"}));
  EXPECT_TRUE(f.get_bool("sig-proxy"));
  EXPECT_EQ(f.get_int("last"), -1);
  EXPECT_FALSE(f.changed("name"));
}

TEST(Flags, DoubleDashEndsFlags) {
  FlagSet f(/*interspersed=*/true);
  f.add_bool("force", 'f', "");
  ASSERT_TRUE(f.parse({"a", "-f", "--", "-b", "--c"}));
  EXPECT_TRUE(f.get_bool("force"));
  EXPECT_EQ(f.args(), (std::vector<std::string>{"a", "-b", "--c"}));
}

TEST(Flags, InterspersedAllowsFlagsAfterArgs) {
  FlagSet f(/*interspersed=*/true);
  f.add_bool("force", 'f', "");
  ASSERT_TRUE(f.parse({"c1", "-f", "c2"}));
  EXPECT_TRUE(f.get_bool("force"));
  EXPECT_EQ(f.args(), (std::vector<std::string>{"c1", "c2"}));
}

TEST(Flags, SingleDashIsPositional) {
  FlagSet f = run_flags();
  ASSERT_TRUE(f.parse({"-", "x"}));
  EXPECT_EQ(f.args(), (std::vector<std::string>{"-", "x"}));
}

TEST(Flags, ErrorTextsArePflags) {
  auto err = [](std::vector<std::string> a) {
    FlagSet f = run_flags();
    auto st = f.parse(a);
    return st ? std::string("ok") : st.error().msg;
  };
  EXPECT_EQ(err({"--foo"}), "unknown flag: --foo");
  EXPECT_EQ(err({"--foo=1"}), "unknown flag: --foo");
  EXPECT_EQ(err({"-x"}), "unknown shorthand flag: 'x' in -x");
  EXPECT_EQ(err({"-ix"}), "unknown shorthand flag: 'x' in -x");
  EXPECT_EQ(err({"-e"}), "flag needs an argument: 'e' in -e");
  EXPECT_EQ(err({"--name"}), "flag needs an argument: --name");
  EXPECT_EQ(err({"-n", "abc"}),
            "invalid argument \"abc\" for \"-n, --last\" flag: strconv.ParseInt: parsing \"abc\": invalid syntax");
  EXPECT_EQ(err({"--rm=maybe"}),
            "invalid argument \"maybe\" for \"--rm\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax");
  EXPECT_EQ(err({"---x"}), "bad flag syntax: ---x");
}

TEST(Flags, GoParseBool) {
  for (const char* t : {"1", "t", "T", "true", "TRUE", "True"}) EXPECT_EQ(parse_go_bool(t), true) << t;
  for (const char* f : {"0", "f", "F", "false", "FALSE", "False"}) EXPECT_EQ(parse_go_bool(f), false) << f;
  EXPECT_FALSE(parse_go_bool("yes").has_value());
}

TEST(Flags, UsagesAreSortedAndAligned) {
  FlagSet f;
  f.add_bool("all", 'a', "Show all");
  f.add_string("format", 0, "", "Format output");
  f.add_int("last", 'n', -1, "Show n last");
  EXPECT_EQ(f.usages(),
            "  -a, --all             Show all\n"
            "      --format string   Format output\n"
            "  -n, --last int        Show n last (default -1)\n");
}

}  // namespace
}  // namespace berth::cli
