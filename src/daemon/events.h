// berthd's event bus: an in-memory ring of the last events (Docker keeps
// 1000) and live subscribers, with Docker's /events JSON shape and filters.
//
// Publishers (the container service through its EventSink, the daemon on
// reload) call publish(); GET /events takes a backlog and a Subscription
// in one step so no event falls between the two.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::daemon {

struct Event {
  std::string type;    // container, image, network, volume, daemon, ...
  std::string action;  // start, die, "health_status: healthy", ...
  std::string id;      // Actor.ID
  std::map<std::string, std::string> attrs;  // Actor.Attributes
  std::string scope = "local";
  int64_t time_nano = 0;
};

using EventFilters = std::vector<std::pair<std::string, std::vector<std::string>>>;

// Docker's JSON for one event (status/id/from only for container and image
// events, as dockerd fills those deprecated fields).
OrderedJson event_json(const Event& e);
// Unknown keys → Errc::invalid "invalid filter 'x'"; bad type values too.
Status validate_event_filters(const EventFilters& f);
// moby's events/filter.go rules: every present key must match.
bool event_matches(const Event& e, const EventFilters& f);

class EventBus {
 public:
  explicit EventBus(size_t capacity = 1000) : capacity_(capacity) {}

  class Subscription {
   public:
    Subscription();
    int fd() const { return fd_.get(); }  // readable when events are queued
    // Takes every queued event (clears the fd's readiness).
    std::vector<Event> drain();
    // true when the subscriber fell too far behind and lost events.
    bool overflowed() const { return overflow_; }

   private:
    friend class EventBus;
    void push(const Event& e);
    std::mutex mu_;
    std::deque<Event> q_;
    bool overflow_ = false;
    UniqueFd fd_;
  };
  using SubPtr = std::shared_ptr<Subscription>;

  // Stamps time_nano when it is 0, keeps it in the ring and hands it to
  // every subscriber.
  void publish(Event e);
  // Copies the ring's events with since_ns <= time <= until_ns (0 = no
  // bound) into *backlog and, when `live`, registers a subscriber.
  SubPtr subscribe(int64_t since_ns, int64_t until_ns, bool live, std::vector<Event>* backlog);
  void unsubscribe(const SubPtr& s);
  size_t size();

 private:
  size_t capacity_;
  std::mutex mu_;
  std::deque<Event> ring_;
  std::vector<SubPtr> subs_;
};

// Publishes when `bus` is set (handlers of image, network and volume routes
// call it after a successful operation, with Docker's Actor fields).
inline void publish_event(EventBus* bus, std::string type, std::string action, std::string id,
                          std::map<std::string, std::string> attrs = {}) {
  if (bus) bus->publish(Event{std::move(type), std::move(action), std::move(id), std::move(attrs)});
}

}  // namespace berth::daemon
