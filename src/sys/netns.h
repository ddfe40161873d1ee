// Persistent network namespaces: a bind mount of a namespace onto a file
// (as `ip netns add`), and running code inside one on a helper thread.
#pragma once

#include <functional>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::sys {

// Creates a new, empty network namespace and pins it at `path` (a file
// created here). The namespace outlives every process in it until
// remove_netns. `in_ns` (optional) runs on the creating thread inside the
// new namespace (e.g. to open a netlink socket there: no later thread hop).
Status create_netns(const std::string& path, const std::function<Status()>& in_ns = nullptr);
// Pins an existing namespace (`ns_file`, e.g. /proc/PID/ns/net) at `path`.
Status pin_netns(const std::string& ns_file, const std::string& path);
// Unmounts (detached) and unlinks; a missing file is fine.
Status remove_netns(const std::string& path);
// Runs f on a fresh thread that joined the network namespace at `path`
// (or of /proc/<pid>/ns/net); the thread ends with f.
Status run_in_netns(const std::string& path, const std::function<Status()>& f);

}  // namespace berth::sys
