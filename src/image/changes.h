// Dockerfile-style "changes" (docker import/commit --change): CMD,
// ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL
// applied to an image's container config ("config" object of the image
// config JSON).
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace berth::image {

// Docker's container config with every always-present field, as an import
// with no changes produces it (Env/Cmd/Entrypoint/... null).
Json empty_container_config();

// Apply the changes in order to `cfg` (a container config object). Errors
// are Errc::invalid with Docker's wording ("run is not a valid change
// command", "Invalid containerPort: abc", ...); cfg is untouched on error.
Status apply_changes(const std::vector<std::string>& changes, Json& cfg);

}  // namespace berth::image
