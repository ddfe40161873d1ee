#include "cli/template.h"

#include <gtest/gtest.h>

#include "cli/timestamp.h"

namespace berth::cli {
namespace {

const OrderedJson& doc() {
  static const OrderedJson d = OrderedJson::parse(R"({
    "Id": "b64c2012fba8",
    "Name": "/sleeper",
    "State": {"Status": "running", "Running": true, "Pid": 42, "Health": null},
    "Config": {"Cmd": ["sleep", "1000"], "Labels": {"b": "2", "a": "1"}, "Entrypoint": null,
               "Env": ["A=1", "B=<2>"]},
    "HostConfig": {"Memory": 0, "CpuShares": 1.5}
  })");
  return d;
}

std::string run(std::string_view t) {
  auto tmpl = Template::parse(t);
  if (!tmpl) return "PARSE: " + tmpl.error().msg;
  auto r = tmpl->execute(doc());
  return r ? *r : "EXEC: " + r.error().msg;
}

TEST(Template, FieldsAndLiterals) {
  EXPECT_EQ(run("{{.State.Status}} {{.Name}}"), "running /sleeper");
  EXPECT_EQ(run("pid={{.State.Pid}} running={{.State.Running}}"), "pid=42 running=true");
  EXPECT_EQ(run("{{.Config.Cmd}}"), "[sleep 1000]");
  EXPECT_EQ(run("{{.Config.Labels}}"), "map[a:1 b:2]");
  EXPECT_EQ(run("{{.Config.Labels.b}}"), "2");
  EXPECT_EQ(run("{{ .Id }}"), "b64c2012fba8");
  EXPECT_EQ(run("{{.HostConfig.CpuShares}}"), "1.5");
  EXPECT_EQ(run("no actions"), "no actions");
}

TEST(Template, GoFieldNamesMatchJsonKeysDifferingInCase) {
  // docker's templates see Go structs: .ID for "Id", .APIVersion for "ApiVersion".
  EXPECT_EQ(run("{{.ID}}"), "b64c2012fba8");
  EXPECT_EQ(run("{{.State.PID}}"), "42");
  EXPECT_EQ(run("{{.Nope}}").substr(0, 5), "EXEC:");
}

TEST(Template, Functions) {
  EXPECT_EQ(run("{{json .Config.Cmd}}"), R"(["sleep","1000"])");
  EXPECT_EQ(run("{{json .Config.Env}}"), R"(["A=1","B=\u003c2\u003e"])");
  EXPECT_EQ(run("{{json .State.Health}}"), "null");
  EXPECT_EQ(run("{{.Config.Cmd | json}}"), R"(["sleep","1000"])");
  EXPECT_EQ(run("{{index .Config.Labels \"a\"}}"), "1");
  EXPECT_EQ(run("{{index .Config.Labels \"missing\"}}"), "");
  EXPECT_EQ(run("{{index .Config.Cmd 1}}"), "1000");
  EXPECT_EQ(run("{{len .Config.Cmd}}"), "2");
  EXPECT_EQ(run("{{upper .State.Status}}"), "RUNNING");
  EXPECT_EQ(run("{{join .Config.Cmd \",\"}}"), "sleep,1000");
}

TEST(Template, TrimMarkers) { EXPECT_EQ(run("a  {{- .State.Pid -}}  b"), "a42b"); }

TEST(Template, DockerErrorShapes) {
  EXPECT_EQ(run("{{.Nope}}"),
            "EXEC: template parsing error: template: :1:2: executing \"\" at <.Nope>: map has no entry for key "
            "\"Nope\"");
  EXPECT_EQ(run("{{.Config.Nope}}"),
            "EXEC: template parsing error: template: :1:9: executing \"\" at <.Config.Nope>: map has no entry for "
            "key \"Nope\"");
  EXPECT_EQ(run("{{.Foo"), "PARSE: template parsing error: template: :1: unclosed action");
}

TEST(Template, UnsupportedConstructsFailClearly) {
  for (const char* t : {"{{range .Config.Env}}{{.}}{{end}}", "{{if .State.Running}}x{{end}}", "{{$x := 1}}",
                        "{{printf \"%s\" .Name}}", "{{(.Name)}}", "{{nosuchfunc .Name}}"}) {
    EXPECT_EQ(run(t).rfind("PARSE: template parsing error", 0), 0u) << t;
  }
  // Values whose Go rendering berth cannot reproduce are errors, not guesses.
  EXPECT_EQ(run("{{.State}}").rfind("EXEC:", 0), 0u);
  EXPECT_EQ(run("{{.State.Health}}").rfind("EXEC:", 0), 0u);
  EXPECT_EQ(run("{{.Config.Entrypoint}}").rfind("EXEC:", 0), 0u);
}

TEST(Timestamp, GoDurations) {
  EXPECT_EQ(*parse_go_duration("10m"), 600LL * 1000000000LL);
  EXPECT_EQ(*parse_go_duration("1h30m"), 5400LL * 1000000000LL);
  EXPECT_EQ(*parse_go_duration("1.5s"), 1500000000LL);
  EXPECT_EQ(*parse_go_duration("300ms"), 300000000LL);
  EXPECT_EQ(*parse_go_duration("-2s"), -2000000000LL);
  EXPECT_FALSE(parse_go_duration("10"));
  EXPECT_FALSE(parse_go_duration("5x"));
  EXPECT_FALSE(parse_go_duration(""));
}

TEST(Timestamp, GetTimestampLikeDocker) {
  const int64_t now = 1764446400LL * 1000000000LL + 123;  // 2025-11-29T20:00:00Z
  EXPECT_EQ(*get_timestamp("10m", now, 0), "1764445800");
  EXPECT_EQ(*get_timestamp("2099-01-01T00:00:00Z", now, 0), "4070908800.000000000");
  EXPECT_EQ(*get_timestamp("2099-01-01T00:00:00.5+01:00", now, 0), "4070905200.500000000");
  EXPECT_EQ(*get_timestamp("2099-01-01", now, 0), "4070908800.000000000");
  EXPECT_EQ(*get_timestamp("2099-01-01T00:00:00", now, 3600), "4070905200.000000000");  // local zone
  EXPECT_EQ(*get_timestamp("1700000000", now, 0), "1700000000");
  EXPECT_EQ(*get_timestamp("1700000000.5", now, 0), "1700000000.5");
  EXPECT_EQ(*get_timestamp("0", now, 0), "0");
  EXPECT_EQ(get_timestamp("bogus", now, 0).error().msg, "failed to parse value as time or duration: \"bogus\"");
  EXPECT_FALSE(get_timestamp("2099-13-01", now, 0));
}

}  // namespace
}  // namespace berth::cli
