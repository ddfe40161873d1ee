#include <gtest/gtest.h>

#include "container/health.h"
#include "container/restart.h"

using namespace berth;
using namespace berth::container;

TEST(RestartPolicy, ValidationAsDockerd) {
  auto check = [](Json hc) -> std::string {
    auto st = check_restart_policy(hc);
    return st ? hc["RestartPolicy"].dump() : st.error().msg;
  };
  EXPECT_EQ(check(Json::object()), R"({"MaximumRetryCount":0,"Name":"no"})");
  EXPECT_EQ(check(Json{{"RestartPolicy", {{"Name", ""}}}}), R"({"MaximumRetryCount":0,"Name":"no"})");
  EXPECT_EQ(check(Json{{"RestartPolicy", {{"Name", "on-failure"}, {"MaximumRetryCount", 3}}}}),
            R"({"MaximumRetryCount":3,"Name":"on-failure"})");
  EXPECT_EQ(check(Json{{"RestartPolicy", {{"Name", "sometimes"}}}}), "invalid restart policy 'sometimes'");
  EXPECT_EQ(check(Json{{"RestartPolicy", {{"Name", "on-failure"}, {"MaximumRetryCount", -1}}}}),
            "maximum retry count cannot be negative");
  EXPECT_EQ(check(Json{{"RestartPolicy", {{"Name", "always"}, {"MaximumRetryCount", 2}}}}),
            "maximum retry count cannot be used with restart policy 'always'");
  EXPECT_EQ(check(Json{{"AutoRemove", true}, {"RestartPolicy", {{"Name", "unless-stopped"}}}}),
            "can't create 'AutoRemove' container with restart policy");
  EXPECT_EQ(check(Json{{"AutoRemove", true}, {"RestartPolicy", {{"Name", "no"}}}}),
            R"({"MaximumRetryCount":0,"Name":"no"})");
}

TEST(RestartManager, DockersBackoff) {
  RestartManager m;
  RestartPolicy always{"always", 0};
  EXPECT_EQ(m.should_restart(always, 0, false, 0, 0), 100'000'000);
  EXPECT_EQ(m.should_restart(always, 0, false, 0, 1), 200'000'000);
  EXPECT_EQ(m.should_restart(always, 1, false, 0, 2), 400'000'000);
  // 10 s of running resets the backoff.
  EXPECT_EQ(m.should_restart(always, 1, false, 10'000'000'000, 3), 100'000'000);
  for (int i = 0; i < 20; ++i) (void)m.should_restart(always, 1, false, 0, 4 + i);
  EXPECT_EQ(m.current_delay_ns(), RestartManager::kMaxDelayNs);  // capped at a minute
}

TEST(RestartManager, Policies) {
  RestartManager m;
  EXPECT_FALSE(m.should_restart({"no", 0}, 1, false, 0, 0));
  EXPECT_FALSE(m.should_restart({"on-failure", 0}, 0, false, 0, 0));
  EXPECT_TRUE(m.should_restart({"on-failure", 0}, 1, false, 0, 50));
  EXPECT_TRUE(m.should_restart({"on-failure", 2}, 1, false, 0, 1));
  EXPECT_FALSE(m.should_restart({"on-failure", 2}, 1, false, 0, 2));
  EXPECT_TRUE(m.should_restart({"unless-stopped", 0}, 0, false, 0, 0));
  EXPECT_FALSE(m.should_restart({"unless-stopped", 0}, 0, true, 0, 0));
  EXPECT_TRUE(m.should_restart({"always", 0}, 0, true, 0, 0));  // on daemon start, as dockerd
}

TEST(Health, ConfigFromTestForms) {
  Json c{{"Healthcheck", {{"Test", {"CMD-SHELL", "curl -f x || exit 1"}}, {"Interval", 2000000000}}}};
  auto h = health_config_of(c);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->argv, (std::vector<std::string>{"/bin/sh", "-c", "curl -f x || exit 1"}));
  EXPECT_EQ(h->interval_ns, 2000000000);
  EXPECT_EQ(h->timeout_ns, 30000000000);
  EXPECT_EQ(h->retries, 3);
  c["Shell"] = {"/bin/bash", "-xc"};
  EXPECT_EQ(health_config_of(c)->argv[0], "/bin/bash");
  auto e = health_config_of(Json{{"Healthcheck", {{"Test", {"CMD", "/check", "a b"}}}}});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->argv, (std::vector<std::string>{"/check", "a b"}));
  EXPECT_FALSE(health_config_of(Json{{"Healthcheck", {{"Test", {"NONE"}}}}}));
  EXPECT_FALSE(health_config_of(Json::object()));
}

TEST(Health, ValidationAndMerge) {
  EXPECT_EQ(check_healthcheck(Json{{"Healthcheck", {{"Interval", 999}}}}).error().msg,
            "Interval in Healthcheck cannot be less than 1ms");
  EXPECT_EQ(check_healthcheck(Json{{"Healthcheck", {{"Timeout", 5}}}}).error().msg,
            "Timeout in Healthcheck cannot be less than 1ms");
  EXPECT_EQ(check_healthcheck(Json{{"Healthcheck", {{"StartPeriod", 5}}}}).error().msg,
            "StartPeriod in Healthcheck cannot be less than 1ms");
  EXPECT_EQ(check_healthcheck(Json{{"Healthcheck", {{"Retries", -2}}}}).error().msg,
            "Retries in Healthcheck cannot be negative");
  EXPECT_TRUE(check_healthcheck(Json{{"Healthcheck", {{"Interval", 1000000}}}}));
  Json img{{"Test", {"CMD", "/img"}}, {"Interval", 5}, {"Retries", 7}};
  Json user{{"Interval", 9}};
  Json m = merge_healthcheck(user, img);
  EXPECT_EQ(m["Test"], img["Test"]);
  EXPECT_EQ(m["Interval"], 9);
  EXPECT_EQ(m["Retries"], 7);
  EXPECT_EQ(merge_healthcheck(Json(), img), img);
}

TEST(Health, StateMachineAsMoby) {
  HealthConfig c;
  c.retries = 2;
  c.start_period_ns = 1000;
  Json h = new_health_state();
  auto res = [](int64_t t, int code) {
    HealthResult r;
    r.start_ns = t;
    r.end_ns = t + 1;
    r.exit_code = code;
    r.output = "o" + std::to_string(code);
    return r;
  };
  // Inside the start period a failure does not count.
  EXPECT_FALSE(apply_health_result(h, res(500, 1), c, 0));
  EXPECT_EQ(h["Status"], "starting");
  EXPECT_EQ(h["FailingStreak"], 0);
  EXPECT_FALSE(apply_health_result(h, res(1500, 1), c, 0));
  EXPECT_EQ(h["FailingStreak"], 1);
  EXPECT_TRUE(apply_health_result(h, res(2500, 1), c, 0));
  EXPECT_EQ(h["Status"], "unhealthy");
  EXPECT_TRUE(apply_health_result(h, res(3500, 0), c, 0));
  EXPECT_EQ(h["Status"], "healthy");
  EXPECT_EQ(h["FailingStreak"], 0);
  for (int i = 0; i < 4; ++i) apply_health_result(h, res(4000 + i, 0), c, 0);
  EXPECT_EQ(h["Log"].size(), 5u);  // only the last 5
  EXPECT_EQ(h["Log"][4]["ExitCode"], 0);
  EXPECT_EQ(h["Log"][4]["Output"], "o0");
  // Once healthy, a failure inside the start period counts.
  EXPECT_FALSE(apply_health_result(h, res(10, 1), c, 0));
  EXPECT_EQ(h["FailingStreak"], 1);
}

TEST(Health, GoDurations) {
  EXPECT_EQ(go_duration(30'000'000'000), "30s");
  EXPECT_EQ(go_duration(300'000'000), "300ms");
  EXPECT_EQ(go_duration(1'500'000'000), "1.5s");
  EXPECT_EQ(go_duration(90'000'000'000), "1m30s");
  EXPECT_EQ(go_duration(3'600'000'000'000), "1h0m0s");
}
