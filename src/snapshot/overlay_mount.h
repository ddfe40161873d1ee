// Mounting an overlay of image layers. The classic mount(2) carries every
// option in one page (lowerdir=a:b:…,upperdir=…,workdir=…): a deep image
// with long layer paths (~60 layers of DATA_ROOT/overlay/<64 hex>/diff)
// does not fit. Then the new mount API adds one layer per fsconfig call
// ("lowerdir+", Linux 6.8+): fsopen → fsconfig… → FSCONFIG_CMD_CREATE →
// fsmount → move_mount.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace berth::snapshot {

struct OverlaySpec {
  std::vector<std::string> lowers_lowest_first;  // layer dirs, the base layer first
  std::string upper, work;                       // empty: a read-only overlay of the lowers
};

// The classic option string (lowerdir highest first).
std::string overlay_mount_options(const OverlaySpec& s);
// The longest option string mount(2) takes (one page, NUL included).
constexpr size_t kMaxMountData = 4095;

// Mounts the overlay at target: mount(2) when the options fit in a page,
// else fsopen/fsconfig("lowerdir+")/fsmount/move_mount. force_new_api uses
// the new API whatever the length (tests).
Status mount_overlay(const OverlaySpec& s, const std::string& target, bool force_new_api = false);

}  // namespace berth::snapshot
