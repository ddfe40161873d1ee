#include "cli/format.h"

#include <gtest/gtest.h>

#include "api/http_wire.h"
#include "cli/commands.h"
#include "cli/reference.h"

namespace berth::cli {
namespace {

constexpr int64_t kSec = 1000000000LL;

TEST(HumanDuration, GoUnitsGoldens) {
  EXPECT_EQ(human_duration(0), "Less than a second");
  EXPECT_EQ(human_duration(999999999), "Less than a second");
  EXPECT_EQ(human_duration(1 * kSec), "1 second");
  EXPECT_EQ(human_duration(2 * kSec), "2 seconds");
  EXPECT_EQ(human_duration(59 * kSec), "59 seconds");
  EXPECT_EQ(human_duration(60 * kSec), "About a minute");
  EXPECT_EQ(human_duration(119 * kSec), "About a minute");
  EXPECT_EQ(human_duration(120 * kSec), "2 minutes");
  EXPECT_EQ(human_duration(59 * 60 * kSec), "59 minutes");
  EXPECT_EQ(human_duration(60 * 60 * kSec), "About an hour");
  EXPECT_EQ(human_duration(89 * 60 * kSec), "About an hour");
  EXPECT_EQ(human_duration(90 * 60 * kSec), "2 hours");  // rounds half up
  EXPECT_EQ(human_duration(47 * 3600 * kSec), "47 hours");
  EXPECT_EQ(human_duration(48 * 3600 * kSec), "2 days");
  EXPECT_EQ(human_duration(14 * 24 * 3600 * kSec), "2 weeks");
  EXPECT_EQ(human_duration(60 * 24 * 3600 * kSec), "2 months");
  EXPECT_EQ(human_duration(2 * 365 * 24 * 3600 * kSec), "2 years");
}

TEST(HumanSize, GoUnitsGoldens) {
  EXPECT_EQ(human_size(0), "0B");
  EXPECT_EQ(human_size(999), "999B");
  EXPECT_EQ(human_size(1000), "1kB");
  EXPECT_EQ(human_size(1978000), "1.98MB");
  EXPECT_EQ(human_size(4260000), "4.26MB");
  EXPECT_EQ(human_size(4265000), "4.26MB");
  EXPECT_EQ(human_size(72800000), "72.8MB");
  EXPECT_EQ(human_size(1500000000), "1.5GB");
  EXPECT_EQ(human_size(4260000, 4), "4.26MB");
  EXPECT_EQ(bytes_size(25275969536.0), "23.54GiB");
  EXPECT_EQ(bytes_size(1024), "1KiB");
  EXPECT_EQ(bytes_size(512), "512B");
}

TEST(TabWriter, DockerPsLayout) {
  TabWriter tw(10, 3);
  tw.row({"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"});
  tw.row({"4985d378071f", "busybox", "\"sh -c 'echo out; ec\xe2\x80\xa6\"", "1 second ago",
          "Exited (2) Less than a second ago", "", "exited"});
  EXPECT_EQ(tw.str(),
            "CONTAINER ID   IMAGE     COMMAND                  CREATED        STATUS                              PORTS     NAMES\n"
            "4985d378071f   busybox   \"sh -c 'echo out; ec\xe2\x80\xa6\"   1 second ago   Exited (2) Less than a second ago             exited\n");
}

// Code points, as Go's tabwriter counts them; an invalid byte counts as one
// (the ASCII prefix is counted by a plain scan, the rest rune by rune).
TEST(TabWriter, Utf8Width) {
  EXPECT_EQ(utf8_width(""), 0u);
  EXPECT_EQ(utf8_width("busybox"), 7u);
  EXPECT_EQ(utf8_width("ab\xc3\xa9" "c"), 4u);
  EXPECT_EQ(utf8_width("\xe6\x97\xa5\xe6\x9c\xac"), 2u);
  EXPECT_EQ(utf8_width("a\xff" "b"), 3u);
  EXPECT_EQ(utf8_width("ab\xe2\x80"), 4u);
  TabWriter tw(1, 1);
  tw.row({"\xc3\xa9t\xc3\xa9", "x"});
  tw.row({"abcd", "y"});
  EXPECT_EQ(tw.str(), "\xc3\xa9t\xc3\xa9  x\nabcd y\n");
}

TEST(TabWriter, TextLinesSplitColumnBlocks) {
  TabWriter tw(20, 1);
  tw.text("Client:");
  tw.row({" Version:", "1"});
  tw.row({" Git commit:", ""});
  tw.text("");
  tw.row({"  A:", "x"});
  EXPECT_EQ(tw.str(),
            "Client:\n"
            " Version:           1\n"
            " Git commit:        \n"
            "\n"
            "  A:                x\n");
}

TEST(GoQuote, EscapesLikeStrconv) {
  EXPECT_EQ(go_quote("sleep 1000"), "\"sleep 1000\"");
  EXPECT_EQ(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(go_quote("a\nb\tc\x01"), "\"a\\nb\\tc\\x01\"");
  EXPECT_EQ(go_quote("h\xc3\xa9"), "\"h\xc3\xa9\"");
}

TEST(Ellipsis, TruncatesByCodePoint) {
  EXPECT_EQ(ellipsis("sh -c 'echo out; echo err >&2; exit 2'", 20), "sh -c 'echo out; ec\xe2\x80\xa6");
  EXPECT_EQ(ellipsis("exactly twenty chars", 20), "exactly twenty chars");
  EXPECT_EQ(ellipsis("", 20), "");
}

TEST(TruncateId, DropsAlgorithm) {
  EXPECT_EQ(truncate_id("sha256:21bbe29a9b3a5d7a6cef97d62721ca355eb2f4967df57abc6f144d83a2b9597d"), "21bbe29a9b3a");
  EXPECT_EQ(truncate_id("b64c2012fba83743e19640db7e6e"), "b64c2012fba8");
}

TEST(JsonIndent, MatchesGoIndent) {
  auto r = json_indent(R"([{"A":1,"B":[],"C":{},"D":["x",{"E":"a\"}"}],"F":"\u003c"}])", "    ");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r,
            "[\n"
            "    {\n"
            "        \"A\": 1,\n"
            "        \"B\": [],\n"
            "        \"C\": {},\n"
            "        \"D\": [\n"
            "            \"x\",\n"
            "            {\n"
            "                \"E\": \"a\\\"}\"\n"
            "            }\n"
            "        ],\n"
            "        \"F\": \"\\u003c\"\n"
            "    }\n"
            "]");
  EXPECT_FALSE(json_indent("[{]", "  "));
  EXPECT_FALSE(json_indent("[\"abc", "  "));
}

TEST(GoJson, EscapesHtmlAndKeepsOrder) {
  OrderedJson j = OrderedJson::parse(R"({"z":"<a&b>","a":[1,true,null],"m":"\u2028"})");
  EXPECT_EQ(go_json(j), R"({"z":"\u003ca\u0026b\u003e","a":[1,true,null],"m":"\u2028"})");
}

TEST(ExitCodes, StartErrorMapping) {
  EXPECT_EQ(start_error_code("failed to create shim task: OCI runtime create failed: runc create failed: unable "
                             "to start container process: exec: \"/nope\": stat /nope: no such file or directory: "
                             "unknown"),
            127);
  EXPECT_EQ(start_error_code("exec: \"nope\": executable file not found in $PATH: unknown"), 127);
  EXPECT_EQ(start_error_code("exec: \"/etc\": permission denied: unknown"), 126);
  EXPECT_EQ(start_error_code("Conflict. The container name \"/x\" is already in use"), 125);
}

TEST(Reference, NormalizesLikeDistribution) {
  auto r = parse_image_ref("busybox");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name(), "docker.io/library/busybox");
  EXPECT_EQ(with_default_tag(*r).familiar_string(), "busybox:latest");
  r = parse_image_ref("127.0.0.1:5000/example/app:v1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->domain, "127.0.0.1:5000");
  EXPECT_EQ(r->path, "example/app");
  EXPECT_EQ(r->tag, "v1");
  EXPECT_EQ(r->familiar_string(), "127.0.0.1:5000/example/app:v1");
  r = parse_image_ref("example/app@sha256:abc");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->digest, "sha256:abc");
  EXPECT_EQ(with_default_tag(*r).tag, "");
  EXPECT_EQ(parse_image_ref("BAD").error().msg,
            "invalid reference format: repository name (library/BAD) must be lowercase");
  EXPECT_FALSE(parse_image_ref("a:"));
}

// The demux run/logs rely on: frames split at arbitrary points.
TEST(Stdcopy, DemuxAcrossArbitrarySplits) {
  std::string wire = api::stdcopy_frame(api::StdStream::stdout_, "out\n") +
                     api::stdcopy_frame(api::StdStream::stderr_, "err\n") +
                     api::stdcopy_frame(api::StdStream::stdout_, std::string(70000, 'x'));
  for (size_t step : {1ul, 3ul, 7ul, 8ul, 4096ul}) {
    api::StdcopyDecoder d;
    std::string out, err;
    for (size_t i = 0; i < wire.size(); i += step) {
      ASSERT_TRUE(d.feed(std::string_view(wire).substr(i, step), [&](api::StdStream s, std::string_view p) {
        (s == api::StdStream::stderr_ ? err : out).append(p);
      }));
    }
    EXPECT_EQ(out, "out\n" + std::string(70000, 'x'));
    EXPECT_EQ(err, "err\n");
    EXPECT_TRUE(d.idle());
  }
}

}  // namespace
}  // namespace berth::cli

namespace berth::cli {
namespace {

TEST(DisplayablePorts, GroupsAndMappingsLikeDocker) {
  EXPECT_EQ(displayable_ports(Json::array()), "");
  EXPECT_EQ(displayable_ports(Json::parse(R"([{"PrivatePort":80,"Type":"tcp"}])")), "80/tcp");
  EXPECT_EQ(displayable_ports(Json::parse(
                R"([{"PrivatePort":81,"Type":"tcp"},{"PrivatePort":80,"Type":"tcp"},{"PrivatePort":82,"Type":"tcp"},
                    {"PrivatePort":53,"Type":"udp"}])")),
            "53/udp, 80-82/tcp");
  EXPECT_EQ(displayable_ports(Json::parse(
                R"([{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},
                    {"IP":"::","PrivatePort":80,"PublicPort":8080,"Type":"tcp"}])")),
            "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp");
  EXPECT_EQ(displayable_ports(Json::parse(
                R"([{"IP":"0.0.0.0","PrivatePort":9000,"PublicPort":9000,"Type":"tcp"},
                    {"IP":"0.0.0.0","PrivatePort":9001,"PublicPort":9001,"Type":"tcp"}])")),
            "0.0.0.0:9000-9001->9000-9001/tcp");
}

}  // namespace
}  // namespace berth::cli
