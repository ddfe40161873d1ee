// docker commit: a new image = the container's image + one layer made from
// the container's overlay upper dir (overlay whiteouts and opaque dirs
// turned back into .wh. entries), written as a tar stream straight into the
// safe extractor (which also hashes it and keeps a gzip copy for push).
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "image/image_store.h"

namespace berth::image {

struct CommitRequest {
  std::string container_id;
  std::string image_id;        // the container's image
  std::string upper_dir;       // the container's writable layer
  Json container_config;       // the container's Config (Docker shape)
  Json override_config;        // request body (a Config), may be null
  std::string repo, tag, comment, author;
  std::vector<std::string> changes;
};

Result<Image> commit(ImageStore& store, const CommitRequest& req);

// Write the overlay upper dir `dir` as a layer tar to fd (exposed for tests).
Status write_upper_tar(const std::string& dir, int fd);

}  // namespace berth::image
