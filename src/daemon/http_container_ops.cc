// /containers/{id}/{pause,unpause,update,rename,top,stats} routes.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/strings.h"
#include "common/time.h"
#include "daemon/routes.h"

namespace berth::daemon {

namespace {

Json zero_cpu_stats() {
  return Json{{"cpu_usage", Json{{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
              {"throttling_data", Json{{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
}

// Docker's stats body: the sample plus the previous sample's cpu_stats.
Json with_previous(Json cur, const Json* prev) {
  if (prev) {
    cur["preread"] = prev->value("read", std::string("0001-01-01T00:00:00Z"));
    cur["precpu_stats"] = prev->value("cpu_stats", zero_cpu_stats());
  } else {
    cur["preread"] = "0001-01-01T00:00:00Z";
    cur["precpu_stats"] = zero_cpu_stats();
  }
  return cur;
}

bool peer_gone(int fd) {
  pollfd p{fd, static_cast<short>(POLLIN | POLLRDHUP), 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char c;
  ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

}  // namespace

// Docker's `until`: a timestamp, or a duration before now ("24h", "10m").
Result<int64_t> parse_until(const std::string& v) {
  if (!v.empty() && (v.back() == 'h' || v.back() == 'm' || v.back() == 's')) {
    auto n = str::parse_int(v.substr(0, v.size() - 1));
    if (n) {
      int64_t unit = v.back() == 'h' ? 3600 : v.back() == 'm' ? 60 : 1;
      return timeutil::now_unix_nano() - *n * unit * 1000000000LL;
    }
  }
  return parse_timestamp(v);
}

void add_container_op_routes(Router& r, Backends& b) {
  auto& cs = b.containers;

  r.add("POST", "/containers/{id}/pause", [&cs](Request& req, Response& res) -> Status {
    BERTH_TRY_VOID(cs.pause(req.param("id")));
    return res.no_content();
  });

  r.add("POST", "/containers/{id}/unpause", [&cs](Request& req, Response& res) -> Status {
    BERTH_TRY_VOID(cs.unpause(req.param("id")));
    return res.no_content();
  });

  r.add("POST", "/containers/{id}/update", [&cs](Request& req, Response& res) -> Status {
    Json body = BERTH_TRY(req.json_body());
    Json out = BERTH_TRY(cs.update(req.param("id"), body.is_null() ? Json::object() : body));
    return res.json(200, out);
  });

  r.add("POST", "/containers/{id}/rename", [&cs](Request& req, Response& res) -> Status {
    BERTH_TRY_VOID(cs.rename(req.param("id"), req.q("name").value_or("")));
    return res.no_content();
  });

  r.add("GET", "/containers/{id}/changes", [&cs](Request& req, Response& res) -> Status {
    Json out = BERTH_TRY(cs.changes(req.param("id")));
    return res.json(200, out);
  });

  r.add("POST", "/containers/prune", [&cs](Request& req, Response& res) -> Status {
    std::vector<std::pair<std::string, std::vector<std::string>>> filters;
    if (auto f = req.q("filters"); f && !f->empty()) filters = BERTH_TRY(container::parse_filters(*f));
    int64_t until = 0;
    std::vector<std::pair<std::string, bool>> labels;  // "k" or "k=v", negated
    for (const auto& [k, vals] : filters) {
      if (k == "until") {
        for (const auto& v : vals) until = BERTH_TRY(parse_until(v));
      } else if (k == "label" || k == "label!") {
        for (const auto& v : vals) labels.emplace_back(v, k == "label!");
      } else {
        return make_error(Errc::invalid, "invalid filter '" + k + "'");
      }
    }
    auto matches = [&](const container::Record& rec) {
      if (until && rec.created_ns >= until) return false;
      Json lb = rec.config.value("Labels", Json::object());
      if (!lb.is_object()) lb = Json::object();
      for (const auto& [l, neg] : labels) {
        auto eq = l.find('=');
        std::string key = l.substr(0, eq);
        bool has = lb.contains(key) && (eq == std::string::npos || lb[key] == l.substr(eq + 1));
        if (has == neg) return false;
      }
      return true;
    };
    Json out = BERTH_TRY(cs.prune(matches));
    return res.json(200, out);
  });

  r.add("GET", "/containers/{id}/top", [&cs](Request& req, Response& res) -> Status {
    Json out = BERTH_TRY(cs.top(req.param("id"), req.q("ps_args").value_or("")));
    return res.json(200, out);
  });

  r.add("GET", "/containers/{id}/stats", [&cs](Request& req, Response& res) -> Status {
    bool stream = req.qbool("stream", true);
    bool one_shot = req.qbool("one-shot", false);
    std::string id = BERTH_TRY(cs.resolve(req.param("id")));
    if (!stream) {
      Json first = BERTH_TRY(cs.stats_sample(id));
      if (one_shot) return res.json(200, with_previous(first, nullptr));
      // A second sample a moment later gives precpu_stats (CPU %).
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      auto second = cs.stats_sample(id);
      if (!second) return res.json(200, with_previous(first, nullptr));
      return res.json(200, with_previous(*second, &first));
    }
    BERTH_TRY_VOID(res.start_stream(200, "application/json"));
    std::optional<Json> prev;
    int fd = req.conn->fd();
    for (;;) {
      auto s = cs.stats_sample(id);
      if (!s) break;
      bool stopped = s->value("read", std::string()) == "0001-01-01T00:00:00Z";
      Json out = with_previous(*s, prev ? &*prev : nullptr);
      if (!res.chunk(out.dump() + "\n")) {
        res.set_keep_alive(false);
        return ok();
      }
      if (stopped) break;
      prev = std::move(*s);
      // One sample a second, as dockerd; leave early when the client goes.
      for (int i = 0; i < 10; ++i) {
        if (peer_gone(fd)) {
          res.set_keep_alive(false);
          return ok();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    return res.end_stream();
  });
}

}  // namespace berth::daemon
