// HostConfig.StorageOpt at create: "size=" becomes a project quota on the
// container's layer directory (snapshot/quota.h), or dockerd's errors.
#pragma once

#include <string>

#include "common/json.h"
#include "common/result.h"
#include "container/overlay.h"

namespace berth::container {

Status apply_storage_opt(const Json& host_config, const std::string& data_root, const RootfsDirs& d);

}  // namespace berth::container
