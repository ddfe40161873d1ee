// --platform strings as containerd's platforms.Parse reads them:
// "os", "arch", "os/arch", "os/arch/variant", normalised (x86_64 → amd64,
// aarch64 → arm64, armhf → arm/v7, …).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::image {

struct Platform {
  std::string os, architecture, variant;
};

// Errc::invalid `"<s>": unknown operating system or architecture: invalid
// argument` when a part is neither; an OS other than linux parses but
// check_platform_os() refuses it.
Result<Platform> parse_platform(std::string_view s);
// This daemon runs Linux containers only: Docker's "operating system is
// not supported" for anything else.
Status check_platform_os(const Platform& p);

}  // namespace berth::image
