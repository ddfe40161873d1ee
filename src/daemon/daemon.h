// berthd's composition root: opens the stores, reconciles, serves the API
// until SIGINT/SIGTERM.
#pragma once

#include "common/log.h"
#include "daemon/config.h"

namespace berth::daemon {

// Returns the process exit code.
int run(const Config& cfg, log::Logger& log);

}  // namespace berth::daemon
