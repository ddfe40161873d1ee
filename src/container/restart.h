// Restart policies (no, on-failure[:N], always, unless-stopped): create-time
// validation as dockerd's, and the restart manager's decision with Docker's
// backoff (100 ms, doubling up to 1 minute, reset after 10 s of running).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/json.h"
#include "common/result.h"

namespace berth::container {

struct RestartPolicy {
  std::string name = "no";  // no, on-failure, always, unless-stopped
  int max_retry = 0;        // on-failure only; 0 = no limit
};

// HostConfig.RestartPolicy → policy ("" and absent mean "no").
RestartPolicy restart_policy_of(const Json& host_config);

// dockerd's validateRestartPolicy plus the AutoRemove conflict; rewrites
// hc["RestartPolicy"] to its canonical {"Name","MaximumRetryCount"} form.
Status check_restart_policy(Json& host_config);

class RestartManager {
 public:
  static constexpr int64_t kInitialDelayNs = 100'000'000;  // 100 ms
  static constexpr int64_t kMaxDelayNs = 60'000'000'000;   // 1 minute
  static constexpr int64_t kResetAfterNs = 10'000'000'000; // 10 s of running

  // After an exit: the delay before restarting, or nullopt when the policy
  // says no. `restart_count` is the container's RestartCount so far;
  // `manually_stopped` (the user stopped it) matters to unless-stopped only:
  // the caller skips this call altogether after a stop or during shutdown,
  // as dockerd's cancelled restart manager does.
  std::optional<int64_t> should_restart(const RestartPolicy& p, int exit_code, bool manually_stopped,
                                        int64_t ran_ns, int restart_count);
  // The delay the next restart would use (for tests and logs).
  int64_t current_delay_ns() const { return delay_ns_; }
  void reset() { delay_ns_ = 0; }

 private:
  int64_t delay_ns_ = 0;
};

}  // namespace berth::container
