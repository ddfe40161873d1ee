// berth-shim entry point: daemonize, create the container through the
// runtime, report to the spawning process, then run the Monitor.
#pragma once

#include "shim/options.h"

namespace berth::shim {

// Runs the whole shim. In the process that berthd started this returns the
// exit status to use (0 once the runtime's create succeeded, 1 with the
// runtime's message printed on stderr otherwise). In the daemonized monitor
// process it returns the monitor's exit status after the container exited.
int run_shim(const Options& opts);

}  // namespace berth::shim
