#include <gtest/gtest.h>
#include <poll.h>

#include "daemon/events.h"

using namespace berth;
using namespace berth::daemon;

namespace {
Event ev(std::string type, std::string action, std::string id, std::map<std::string, std::string> a,
         int64_t t = 0) {
  Event e;
  e.type = std::move(type);
  e.action = std::move(action);
  e.id = std::move(id);
  e.attrs = std::move(a);
  e.time_nano = t;
  return e;
}
}  // namespace

TEST(Events, JsonShapeAsDockerd) {
  auto e = ev("container", "die", "abc", {{"name", "web"}, {"image", "busybox"}, {"exitCode", "3"}},
              1700000000123456789);
  EXPECT_EQ(event_json(e).dump(),
            R"({"status":"die","id":"abc","from":"busybox","Type":"container","Action":"die",)"
            R"("Actor":{"ID":"abc","Attributes":{"exitCode":"3","image":"busybox","name":"web"}},)"
            R"("scope":"local","time":1700000000,"timeNano":1700000000123456789})");
  // Non-container, non-image events carry no deprecated status/id/from.
  auto n = event_json(ev("network", "create", "n1", {{"name", "br"}}, 5));
  EXPECT_FALSE(n.contains("status"));
  EXPECT_FALSE(n.contains("from"));
  auto i = event_json(ev("image", "tag", "sha256:x", {{"name", "a:b"}}, 5));
  EXPECT_EQ(i["status"], "tag");
  EXPECT_FALSE(i.contains("from"));
}

TEST(Events, FiltersFollowMoby) {
  auto e = ev("container", "health_status: healthy", "0123456789ab",
              {{"name", "web"}, {"image", "busybox:latest"}, {"tier", "front"}});
  EXPECT_TRUE(event_matches(e, {}));
  EXPECT_TRUE(event_matches(e, {{"event", {"health_status"}}}));  // moby #25798 prefix rule
  EXPECT_FALSE(event_matches(e, {{"event", {"die"}}}));
  EXPECT_TRUE(event_matches(e, {{"container", {"web"}}}));
  EXPECT_TRUE(event_matches(e, {{"container", {"0123"}}}));  // ID prefix
  EXPECT_FALSE(event_matches(e, {{"container", {"db"}}}));
  EXPECT_TRUE(event_matches(e, {{"image", {"busybox"}}}));  // tag stripped
  EXPECT_TRUE(event_matches(e, {{"image", {"busybox:latest"}}}));
  EXPECT_FALSE(event_matches(e, {{"image", {"alpine"}}}));
  EXPECT_TRUE(event_matches(e, {{"label", {"tier"}}}));
  EXPECT_TRUE(event_matches(e, {{"label", {"tier=front"}}}));
  EXPECT_FALSE(event_matches(e, {{"label", {"tier=back"}}}));
  EXPECT_TRUE(event_matches(e, {{"type", {"container", "image"}}}));
  EXPECT_FALSE(event_matches(e, {{"type", {"network"}}}));
  // A volume filter excludes container events.
  EXPECT_FALSE(event_matches(e, {{"volume", {"v"}}}));
  EXPECT_TRUE(event_matches(ev("volume", "create", "v1", {}), {{"volume", {"v1"}}}));
  EXPECT_TRUE(event_matches(ev("daemon", "reload", "eid", {{"name", "host"}}), {{"daemon", {"host"}}}));
  // Every key must match.
  EXPECT_FALSE(event_matches(e, {{"container", {"web"}}, {"label", {"x"}}}));
}

TEST(Events, FilterValidation) {
  EXPECT_TRUE(validate_event_filters({{"container", {"x"}}, {"type", {"container"}}}));
  auto bad = validate_event_filters({{"bogus", {"1"}}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().msg, "invalid filter 'bogus'");
  EXPECT_EQ(bad.error().kind, Errc::invalid);
}

TEST(Events, RingKeepsTheLastAndBacklogHonoursSinceUntil) {
  EventBus bus(3);
  for (int i = 1; i <= 5; ++i) bus.publish(ev("container", "start", std::to_string(i), {}, i * 100));
  EXPECT_EQ(bus.size(), 3u);
  std::vector<Event> b;
  auto s = bus.subscribe(1, 0, false, &b);
  EXPECT_EQ(s, nullptr);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].id, "3");
  b.clear();
  bus.subscribe(400, 400, false, &b);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].id, "4");
  b.clear();
  bus.subscribe(0, 0, false, &b);  // no bounds: live only
  EXPECT_TRUE(b.empty());
}

TEST(Events, SubscribersGetLiveEventsAndStampedTimes) {
  EventBus bus;
  auto s = bus.subscribe(0, 0, true, nullptr);
  ASSERT_NE(s, nullptr);
  pollfd p{s->fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  bus.publish(ev("container", "create", "a", {}));
  bus.publish(ev("container", "start", "a", {}));
  EXPECT_EQ(::poll(&p, 1, 0), 1);
  auto got = s->drain();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].action, "start");
  EXPECT_GT(got[0].time_nano, 1700000000000000000);
  EXPECT_LE(got[0].time_nano, got[1].time_nano);
  EXPECT_EQ(::poll(&p, 1, 0), 0);  // drained
  bus.unsubscribe(s);
  bus.publish(ev("container", "die", "a", {}));
  EXPECT_TRUE(s->drain().empty());
}
