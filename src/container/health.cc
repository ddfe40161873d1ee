#include "container/health.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "common/strings.h"
#include "common/time.h"

extern char** environ;

namespace berth::container {

namespace {

constexpr int64_t kMinimumDurationNs = 1'000'000;  // 1ms

int64_t ns_field(const Json& hc, const char* k) {
  auto it = hc.find(k);
  return it != hc.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::vector<std::string> strings_of(const Json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& e : j)
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

}  // namespace

std::string go_duration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? static_cast<uint64_t>(-ns) : static_cast<uint64_t>(ns);
  auto frac = [](uint64_t v, uint64_t unit) {
    std::string s = std::to_string(v / unit);
    uint64_t rem = v % unit;
    if (rem) {
      std::string f = std::to_string(rem);
      std::string digits = std::to_string(unit).substr(1);
      f = std::string(digits.size() - f.size(), '0') + f;
      while (!f.empty() && f.back() == '0') f.pop_back();
      s += "." + f;
    }
    return s;
  };
  if (u < 1000) return sign + std::to_string(u) + "ns";
  if (u < 1000000) return sign + frac(u, 1000) + "µs";
  if (u < 1000000000) return sign + frac(u, 1000000) + "ms";
  std::string out;
  uint64_t secs_total = u / 1000000000;
  uint64_t h = secs_total / 3600, m = (secs_total / 60) % 60;
  uint64_t rem_ns = u - (h * 3600 + m * 60) * 1000000000ULL;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  out += frac(rem_ns, 1000000000) + "s";
  return sign + out;
}

std::optional<HealthConfig> health_config_of(const Json& config) {
  if (!config.is_object()) return std::nullopt;
  auto it = config.find("Healthcheck");
  if (it == config.end() || !it->is_object()) return std::nullopt;
  auto test = strings_of(it->value("Test", Json()));
  if (test.empty() || test[0] == "NONE") return std::nullopt;
  HealthConfig c;
  if (test[0] == "CMD") {
    c.argv.assign(test.begin() + 1, test.end());
  } else if (test[0] == "CMD-SHELL") {
    auto shell = strings_of(config.value("Shell", Json()));
    if (shell.empty()) shell = {"/bin/sh", "-c"};
    c.argv = shell;
    std::string cmd;
    for (size_t i = 1; i < test.size(); ++i) cmd += (i > 1 ? " " : "") + test[i];
    c.argv.push_back(cmd);
  } else {
    return std::nullopt;  // moby: "Unknown health check type" — the check never runs
  }
  if (c.argv.empty()) return std::nullopt;
  if (int64_t v = ns_field(*it, "Interval")) c.interval_ns = v;
  if (int64_t v = ns_field(*it, "Timeout")) c.timeout_ns = v;
  if (int64_t v = ns_field(*it, "StartPeriod")) c.start_period_ns = v;
  if (auto r = it->find("Retries"); r != it->end() && r->is_number_integer() && r->get<int>() > 0)
    c.retries = r->get<int>();
  return c;
}

Status check_healthcheck(const Json& config) {
  auto it = config.find("Healthcheck");
  if (it == config.end() || it->is_null()) return ok();
  auto invalid = [](std::string m) { return make_error(Errc::invalid, std::move(m)); };
  if (!it->is_object())
    return invalid("json: cannot unmarshal " + std::string(it->type_name()) +
                   " into Go struct field Config.Healthcheck of type container.HealthConfig");
  for (const char* k : {"Interval", "Timeout", "StartPeriod", "Retries"}) {
    auto f = it->find(k);
    if (f != it->end() && !f->is_null() && !f->is_number_integer())
      return invalid("json: cannot unmarshal " + std::string(f->type_name()) +
                     " into Go struct field HealthConfig.Healthcheck." + k + " of type " +
                     (std::string_view(k) == "Retries" ? "int" : "time.Duration"));
  }
  if (auto t = it->find("Test"); t != it->end() && !t->is_null()) {
    if (!t->is_array()) return invalid("json: cannot unmarshal " + std::string(t->type_name()) +
                                       " into Go struct field HealthConfig.Healthcheck.Test of type []string");
    for (const auto& e : *t)
      if (!e.is_string())
        return invalid("json: cannot unmarshal " + std::string(e.type_name()) +
                       " into Go struct field HealthConfig.Healthcheck.Test of type string");
  }
  int64_t iv = ns_field(*it, "Interval"), to = ns_field(*it, "Timeout"), sp = ns_field(*it, "StartPeriod");
  if (iv != 0 && iv < kMinimumDurationNs) return invalid("Interval in Healthcheck cannot be less than 1ms");
  if (to != 0 && to < kMinimumDurationNs) return invalid("Timeout in Healthcheck cannot be less than 1ms");
  if (ns_field(*it, "Retries") < 0) return invalid("Retries in Healthcheck cannot be negative");
  if (sp != 0 && sp < kMinimumDurationNs) return invalid("StartPeriod in Healthcheck cannot be less than 1ms");
  return ok();
}

Json merge_healthcheck(const Json& user, const Json& image) {
  if (!image.is_object()) return user;
  if (!user.is_object()) return image;
  Json out = user;
  if (strings_of(user.value("Test", Json())).empty() && image.contains("Test")) out["Test"] = image["Test"];
  for (const char* k : {"Interval", "Timeout", "StartPeriod", "Retries"})
    if (ns_field(user, k) == 0 && image.contains(k)) out[k] = image[k];
  return out;
}

Json new_health_state() {
  return Json{{"Status", "starting"}, {"FailingStreak", 0}, {"Log", Json::array()}};
}

bool apply_health_result(Json& h, const HealthResult& r, const HealthConfig& c, int64_t started_ns) {
  if (!h.is_object()) h = new_health_state();
  std::string before = h.value("Status", std::string("starting"));
  Json& log = h["Log"];
  if (!log.is_array()) log = Json::array();
  log.push_back(Json{{"Start", timeutil::rfc3339_nano(r.start_ns)},
                     {"End", timeutil::rfc3339_nano(r.end_ns)},
                     {"ExitCode", r.exit_code},
                     {"Output", r.output}});
  while (log.size() > kHealthLogEntries) log.erase(log.begin());
  int streak = h.value("FailingStreak", 0);
  std::string status = before;
  if (r.exit_code == 0) {
    streak = 0;
    status = "healthy";
  } else {
    bool count = true;
    // Failures inside the start period do not count until a check passed.
    if (before == "starting" && r.start_ns - started_ns < c.start_period_ns) count = false;
    if (count) {
      ++streak;
      if (streak >= c.retries) status = "unhealthy";
    }
  }
  h["FailingStreak"] = streak;
  h["Status"] = status;
  return status != before;
}

HealthResult run_probe(const std::string& runtime, const std::string& runtime_root,
                       const std::string& id, const std::vector<std::string>& argv,
                       int64_t timeout_ns, int cancel_fd) {
  HealthResult res;
  res.start_ns = timeutil::now_unix_nano();
  auto fail = [&](std::string msg) {
    res.exit_code = -1;
    res.output = std::move(msg);
    res.end_ns = timeutil::now_unix_nano();
    return res;
  };
  std::vector<std::string> args = {runtime, "--root", runtime_root, "exec", id};
  args.insert(args.end(), argv.begin(), argv.end());
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail("pipe: " + std::string(std::strerror(errno)));
  UniqueFd rd(p[0]), wr(p[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, runtime.c_str(), &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  wr.reset();
  if (rc != 0) return fail("exec " + runtime + ": " + std::strerror(rc));
  std::string out;
  bool timed_out = false, cancelled = false;
  const int64_t deadline = res.start_ns + timeout_ns;
  char buf[4096];
  for (;;) {
    int64_t left = deadline - timeutil::now_unix_nano();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd pf[2] = {{rd.get(), POLLIN, 0}, {cancel_fd, POLLIN, 0}};
    int n = ::poll(pf, cancel_fd >= 0 ? 2 : 1, static_cast<int>(left / 1000000 + 1));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (cancel_fd >= 0 && pf[1].revents) {
      cancelled = true;
      break;
    }
    if (pf[0].revents) {
      ssize_t r = ::read(rd.get(), buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      if (out.size() < kHealthMaxOutput)
        out.append(buf, std::min(static_cast<size_t>(r), kHealthMaxOutput - out.size()));
    }
  }
  if (timed_out || cancelled) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  res.end_ns = timeutil::now_unix_nano();
  if (timed_out) {
    res.exit_code = -1;
    res.output = "Health check exceeded timeout (" + go_duration(timeout_ns) + ")";
    return res;
  }
  if (cancelled) {
    res.exit_code = -1;
    res.output = "health check cancelled";
    return res;
  }
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  res.output = std::move(out);
  return res;
}

HealthMonitor::HealthMonitor(HealthConfig cfg, std::string runtime, std::string runtime_root,
                             std::string id, Report report, std::function<void()> probing)
    : cfg_(std::move(cfg)),
      runtime_(std::move(runtime)),
      runtime_root_(std::move(runtime_root)),
      id_(std::move(id)),
      report_(std::move(report)),
      probing_(std::move(probing)),
      stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  thread_ = std::thread([this] { loop(); });
}

HealthMonitor::~HealthMonitor() {
  uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void HealthMonitor::loop() {
  for (;;) {
    pollfd p{stop_.get(), POLLIN, 0};
    int64_t wait_ms = cfg_.interval_ns / 1000000;
    int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(wait_ms, 1)));
    if (n < 0 && errno == EINTR) continue;
    if (n != 0) return;  // stop requested (or poll failed)
    if (probing_) probing_();
    HealthResult r = run_probe(runtime_, runtime_root_, id_, cfg_.argv, cfg_.timeout_ns, stop_.get());
    pollfd q{stop_.get(), POLLIN, 0};
    if (::poll(&q, 1, 0) != 0) return;  // cancelled: the container is stopping
    report_(r);
  }
}

}  // namespace berth::container
