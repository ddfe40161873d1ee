#include "image/changes.h"

#include <gtest/gtest.h>

using namespace berth;
using namespace berth::image;

namespace {
Json apply(const std::vector<std::string>& ch) {
  Json cfg = empty_container_config();
  auto st = apply_changes(ch, cfg);
  EXPECT_TRUE(st) << st.error().msg;
  return cfg;
}
std::string err(const std::vector<std::string>& ch) {
  Json cfg = empty_container_config();
  auto st = apply_changes(ch, cfg);
  EXPECT_FALSE(st);
  EXPECT_EQ(cfg, empty_container_config());  // untouched on error
  return st ? "" : st.error().msg;
}
}  // namespace

TEST(Changes, EmptyGivesDockersNullFields) {
  Json c = apply({});
  EXPECT_TRUE(c["Cmd"].is_null());
  EXPECT_TRUE(c["Env"].is_null());
  EXPECT_TRUE(c["Entrypoint"].is_null());
  EXPECT_TRUE(c["Labels"].is_null());
  EXPECT_EQ(c["WorkingDir"], "");
  EXPECT_FALSE(c.contains("ExposedPorts"));
}

TEST(Changes, CmdAndEntrypointForms) {
  Json c = apply({"CMD [\"/bin/sh\", \"-c\", \"echo\"]"});
  EXPECT_EQ(c["Cmd"], Json::parse(R"(["/bin/sh","-c","echo"])"));
  c = apply({"cmd echo hi"});
  EXPECT_EQ(c["Cmd"], Json::parse(R"(["/bin/sh","-c","echo hi"])"));
  c = apply({"CMD [\"a\", "});  // not valid JSON: shell form, as Docker
  EXPECT_EQ(c["Cmd"], Json::parse(R"(["/bin/sh","-c","[\"a\","])"));
  c = apply({"ENTRYPOINT /bin/sh -c x"});
  EXPECT_EQ(c["Entrypoint"], Json::parse(R"(["/bin/sh","-c","/bin/sh -c x"])"));
  EXPECT_TRUE(c["Cmd"].is_null());
  c = apply({"CMD [\"x\"]", "ENTRYPOINT [\"/e\"]"});  // CMD set in the same changes survives
  EXPECT_EQ(c["Cmd"], Json::parse(R"(["x"])"));
  EXPECT_EQ(c["Entrypoint"], Json::parse(R"(["/e"])"));
  c = apply({"CMD []"});
  EXPECT_EQ(c["Cmd"], Json::array());
}

TEST(Changes, EnvAndLabel) {
  Json c = apply({"ENV A=1 B=\"two words\" C=x\\ y", "ENV K v w", "ENV A=replaced"});
  EXPECT_EQ(c["Env"], Json::parse(R"(["A=replaced","B=two words","C=x y","K=v w"])"));
  c = apply({"LABEL \"a b\"=c d=\"e f\"", "LABEL single=''"});
  EXPECT_EQ(c["Labels"], Json::parse(R"({"a b":"c","d":"e f","single":""})"));
  EXPECT_EQ(err({"ENV"}), "ENV requires at least one argument");
  EXPECT_EQ(err({"ENV A=1 B"}), "Syntax error - can't find = in \"B\". Must be of the form: name=value");
  EXPECT_EQ(err({"ENV K"}), "ENV must have two arguments");
  EXPECT_EQ(err({"LABEL"}), "LABEL requires at least one argument");
}

TEST(Changes, ExposeVolumeUserWorkdirStopsignalOnbuild) {
  Json c = apply({"EXPOSE 80/tcp 53/udp", "EXPOSE 8000-8002", "VOLUME /data /x", "VOLUME [\"/j\"]",
                  "USER nobody", "WORKDIR /a", "WORKDIR b/../c", "STOPSIGNAL SIGQUIT", "ONBUILD RUN x"});
  EXPECT_EQ(c["ExposedPorts"],
            Json::parse(R"({"80/tcp":{},"53/udp":{},"8000/tcp":{},"8001/tcp":{},"8002/tcp":{}})"));
  EXPECT_EQ(c["Volumes"], Json::parse(R"({"/data":{},"/x":{},"/j":{}})"));
  EXPECT_EQ(c["User"], "nobody");
  EXPECT_EQ(c["WorkingDir"], "/a/c");
  EXPECT_EQ(c["StopSignal"], "SIGQUIT");
  EXPECT_EQ(c["OnBuild"], Json::parse(R"(["RUN x"])"));
  EXPECT_EQ(apply({"WORKDIR rel"})["WorkingDir"], "/rel");
  EXPECT_EQ(apply({"STOPSIGNAL 9"})["StopSignal"], "9");
  EXPECT_EQ(apply({"STOPSIGNAL term"})["StopSignal"], "term");
  EXPECT_EQ(err({"EXPOSE abc"}), "Invalid containerPort: abc");
  EXPECT_EQ(err({"EXPOSE 80/xyz"}), "Invalid proto: xyz");
  EXPECT_EQ(err({"EXPOSE 90-80"}), "Invalid range format for --expose: 90-80");
  EXPECT_EQ(err({"STOPSIGNAL SIGNOPE"}), "Invalid signal: SIGNOPE");
  EXPECT_EQ(err({"ONBUILD ONBUILD RUN x"}), "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
}

TEST(Changes, UnknownInstructionsAreRejected) {
  EXPECT_EQ(err({"RUN x"}), "run is not a valid change command");
  EXPECT_EQ(err({"CMD [\"ok\"]", "FROM busybox"}), "from is not a valid change command");
  EXPECT_EQ(apply({"", "  "}), empty_container_config());
}

TEST(Changes, Healthcheck) {
  Json c = apply({"HEALTHCHECK --interval=100ms --timeout=1m30s --retries=3 CMD [\"/bin/false\", \"x\"]"});
  EXPECT_EQ(c["Healthcheck"]["Test"], Json::parse(R"(["CMD","/bin/false","x"])"));
  EXPECT_EQ(c["Healthcheck"]["Interval"], 100000000);
  EXPECT_EQ(c["Healthcheck"]["Timeout"], 90000000000LL);
  EXPECT_EQ(c["Healthcheck"]["Retries"], 3);
  c = apply({"healthcheck CMD curl -f http://localhost/"});
  EXPECT_EQ(c["Healthcheck"]["Test"], Json::parse(R"(["CMD-SHELL","curl -f http://localhost/"])"));
  c = apply({"HEALTHCHECK NONE"});
  EXPECT_EQ(c["Healthcheck"]["Test"], Json::parse(R"(["NONE"])"));
  EXPECT_NE(err({"HEALTHCHECK --interval=5x CMD true"}).find("invalid duration"), std::string::npos);
  EXPECT_NE(err({"HEALTHCHECK RUN true"}).find("Unknown type"), std::string::npos);
}
