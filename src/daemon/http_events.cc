// GET /events: the ring's backlog (since/until) and then live events, one
// JSON object per line, until `until` passes or the client goes away.
#include <poll.h>
#include <sys/socket.h>

#include "common/time.h"
#include "container/container.h"
#include "daemon/events.h"
#include "daemon/routes.h"

namespace berth::daemon {

namespace {

bool peer_closed(int fd) {
  char c;
  ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

}  // namespace

void add_event_routes(Router& r, Backends& b) {
  r.add("GET", "/events", [&b](Request& req, Response& res) -> Status {
    if (!b.events) return make_error(Errc::internal, "events are not available");
    int64_t since = 0, until = 0;
    if (auto s = req.q("since"); s && !s->empty()) since = BERTH_TRY(parse_timestamp(*s));
    if (auto u = req.q("until"); u && !u->empty()) until = BERTH_TRY(parse_timestamp(*u));
    EventFilters f;
    if (auto raw = req.q("filters")) f = BERTH_TRY(container::parse_filters(*raw));
    BERTH_TRY_VOID(validate_event_filters(f));
    int64_t now = timeutil::now_unix_nano();
    bool live = !(until && until <= now);
    std::vector<Event> backlog;
    auto sub = b.events->subscribe(since, until, live, &backlog);
    ScopeExit unsub([&] {
      if (sub) b.events->unsubscribe(sub);
    });
    BERTH_TRY_VOID(res.start_stream(200, "application/json"));
    std::string buf;
    for (const auto& e : backlog)
      if (event_matches(e, f)) buf += event_json(e).dump() + "\n";
    if (!buf.empty() && !res.chunk(buf)) {
      res.set_keep_alive(false);
      return ok();
    }
    if (!live) return res.end_stream();
    const int client = req.conn->fd();
    bool watch_client = true;
    for (;;) {
      int timeout_ms = -1;
      if (until) {
        int64_t left = until - timeutil::now_unix_nano();
        if (left <= 0) return res.end_stream();
        timeout_ms = static_cast<int>(std::min<int64_t>(left / 1000000 + 1, 1 << 30));
      }
      pollfd p[2] = {{sub->fd(), POLLIN, 0}, {client, static_cast<short>(POLLIN | POLLRDHUP), 0}};
      int n = ::poll(p, watch_client ? 2 : 1, timeout_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (watch_client && p[1].revents) {
        if (peer_closed(client)) break;
        watch_client = false;  // unexpected bytes; stop watching the client
      }
      if (p[0].revents) {
        buf.clear();
        bool done = false;
        for (const auto& e : sub->drain()) {
          if (until && e.time_nano > until) {
            done = true;
            break;
          }
          if (event_matches(e, f)) buf += event_json(e).dump() + "\n";
        }
        if (!buf.empty() && !res.chunk(buf)) break;
        if (done) return res.end_stream();
        if (sub->overflowed()) break;
      }
    }
    res.set_keep_alive(false);
    return ok();
  });
}

}  // namespace berth::daemon
