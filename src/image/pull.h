// Registry pull: resolve a reference to a manifest (platform selection in
// lists/indexes), fetch and cap the config, then download the missing layers
// in parallel, each streamed at once into the content store (resumable
// ingest) and through the decompressor into the layer extractor, verified
// against its blob digest and its diff ID; the image appears in one
// transaction at the end (ImageStore::commit_image).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "image/image_store.h"
#include "registry/client.h"

namespace berth::image {

struct RegistryOptions {
  std::vector<std::string> insecure_registries;  // daemon.json insecure-registries
  std::vector<std::string> mirrors;              // daemon.json registry-mirrors (docker.io only)
  int max_concurrent_downloads = 3;
  int max_concurrent_uploads = 5;
};

// One progress message (Docker's JSON message: status/id/progressDetail/…).
// Called from several threads; the caller serialises.
using ProgressFn = std::function<void(const Json&)>;

struct PullRequest {
  std::string ref;       // as given: "busybox", "127.0.0.1:5000/x:v1", "x@sha256:…"
  std::string platform;  // "" or "os/arch[/variant]"
  registry::AuthConfig auth;
  // docker pull -a (fromImage without a tag and tag=""): every tag of the
  // repository, each pulled as its own reference; one final status line.
  bool all_tags = false;
  bool final_status = true;  // internal: false while pulling one tag of -a
};

struct PullResult {
  Image image;
  std::string familiar;  // "busybox:latest" / "x@sha256:…"
  std::string digest;    // manifest digest the reference resolved to
  bool downloaded = false;  // false: "Image is up to date"
};

// Errors before the first progress message are plain request errors;
// afterwards they belong in the stream.
Result<PullResult> pull(ImageStore& store, const RegistryOptions& opts, const PullRequest& req,
                        const ProgressFn& progress);

// "[=====>    ]  1.23MB/4.56MB" as Docker's JSONProgress.String.
std::string progress_bar(int64_t current, int64_t total);
// Docker's units.HumanSize (decimal, 4 significant digits).
std::string human_size(double bytes);
// Docker's progress message shapes.
Json progress_msg(const std::string& id, const std::string& status);
Json progress_msg(const std::string& id, const std::string& status, int64_t current, int64_t total);

// Registry endpoint of a normalised reference's domain.
registry::Endpoint endpoint_for(std::string_view domain, const RegistryOptions& opts);
// Where to pull `domain` from, in order: for docker.io each registry
// mirror ("http://host:port" or "https://host[/path]"), then the origin.
std::vector<registry::Endpoint> pull_endpoints(std::string_view domain, const RegistryOptions& opts);
// "linux/amd64[/v8]" → matches a manifest list entry's platform?
bool platform_matches(const Json& platform, std::string_view wanted);
std::string default_platform();

}  // namespace berth::image
