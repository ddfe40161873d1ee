// Health checks: Config.Healthcheck (from the image's HEALTHCHECK or the
// --health-* flags), the probe run inside the container through the OCI
// runtime's `exec`, and Docker's state machine (starting → healthy /
// unhealthy, FailingStreak, the last 5 results).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::container {

struct HealthConfig {
  std::vector<std::string> argv;  // what the probe runs (shell form already expanded)
  int64_t interval_ns = 30'000'000'000;
  int64_t timeout_ns = 30'000'000'000;
  int64_t start_period_ns = 0;
  int retries = 3;
};

// Config (merged with the image's) → the probe, or nullopt when there is
// none or it is disabled (Test ["NONE"]).
std::optional<HealthConfig> health_config_of(const Json& config);

// moby's create-time checks ("Interval in Healthcheck cannot be less than 1ms", ...).
Status check_healthcheck(const Json& config);
// moby's merge: the user's Healthcheck over the image's, field by field.
Json merge_healthcheck(const Json& user, const Json& image);

struct HealthResult {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int exit_code = 0;
  std::string output;
};

constexpr size_t kHealthLogEntries = 5;
constexpr size_t kHealthMaxOutput = 4096;

// State.Health as inspect shows it: {"Status","FailingStreak","Log":[...]}.
Json new_health_state();  // "starting"
// Applies a probe result (moby's handleProbeResult); returns true when
// Status changed.
bool apply_health_result(Json& health, const HealthResult& r, const HealthConfig& c,
                         int64_t started_ns);

// Go's time.Duration.String() for the timeout message ("30s", "500ms", "1.5s").
std::string go_duration(int64_t ns);

// Runs RUNTIME --root ROOT exec ID ARGV... and collects up to 4096 bytes of
// its combined output. Gives up (kills the exec) after timeout_ns or when
// cancel_fd becomes readable.
HealthResult run_probe(const std::string& runtime, const std::string& runtime_root,
                       const std::string& id, const std::vector<std::string>& argv,
                       int64_t timeout_ns, int cancel_fd);

// One thread per running container with a health check: waits Interval,
// probes, reports. Destruction stops and joins it (an in-flight probe is
// cancelled).
class HealthMonitor {
 public:
  using Report = std::function<void(const HealthResult&)>;
  // `probing` (optional) is called as each probe begins (dockerd's
  // exec_create/exec_start events); `report` when it has ended.
  HealthMonitor(HealthConfig cfg, std::string runtime, std::string runtime_root, std::string id,
                Report report, std::function<void()> probing = {});
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

 private:
  void loop();
  HealthConfig cfg_;
  std::string runtime_, runtime_root_, id_;
  Report report_;
  std::function<void()> probing_;
  UniqueFd stop_;  // eventfd
  std::thread thread_;
};

}  // namespace berth::container
