// OCI hooks: run a hook binary with the container state JSON on stdin,
// its args/env, and an optional timeout in seconds.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "oci/spec.h"

namespace berth::runtime {

// Runs each hook in order; the first failure is returned naming
// `field[i]` ("hooks.prestart[0]: /bin/x exited with status 1: <stderr>").
Status run_hooks(const std::vector<oci::Hook>& hooks, const std::string& field,
                 const std::string& state_json);

}  // namespace berth::runtime
