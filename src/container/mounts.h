// Container mounts: HostConfig.Binds (-v), HostConfig.Mounts (--mount),
// the image's and -v's anonymous volumes (Config.Volumes) and VolumesFrom,
// resolved at create into one list of mount points (volumes created then),
// and turned into OCI mounts at start (volumes mounted and filled from the
// image on first use).
#pragma once

#include <functional>
#include <string>

#include "common/json.h"
#include "common/result.h"
#include "volume/service.h"

namespace berth::container {

// `volumes_from(ref)` gives another container's resolved mount points.
using MountsOf = std::function<Result<Json>(const std::string& ref)>;

// Checks and resolves; creates named and anonymous volumes. Each element:
// {Type, Name, Source, Destination, Driver, Mode, RW, Propagation,
//  NoCopy, Anonymous, TmpfsOptions}.
Result<Json> resolve_mounts(const Json& config, const Json& host_config, volume::VolumeService* vols,
                            const MountsOf& volumes_from);
// Names of the anonymous volumes among mount points (rm -v).
std::vector<std::string> anonymous_volumes(const Json& mounts);
bool uses_volume(const Json& mounts, const std::string& name);

// OCI mounts for the resolved points; volume sources are mounted and, when
// empty and not nocopy, filled with the image's content at the destination
// (taken from `rootfs`).
Result<Json> oci_mounts(const Json& mounts, volume::VolumeService* vols, const std::string& rootfs);

}  // namespace berth::container
