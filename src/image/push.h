// Registry push: for each tag of a repository (or the one asked for), every
// layer's compressed blob is checked (HEAD), mounted from another repository
// of the same registry when one is known to hold it, or uploaded; then the
// config blob and a schema2 manifest. Progress as dockerd's.
#pragma once

#include <string>

#include "common/result.h"
#include "image/image_store.h"
#include "image/pull.h"
#include "registry/client.h"

namespace berth::image {

struct PushRequest {
  std::string name;  // repository as given ("127.0.0.1:5000/x")
  std::string tag;   // "" = every local tag of that repository
  registry::AuthConfig auth;
  int64_t chunk_size = 0;  // > 0: chunked upload (PATCH) instead of one PUT
};

Status push(ImageStore& store, const RegistryOptions& opts, const PushRequest& req, const ProgressFn& progress);

}  // namespace berth::image
