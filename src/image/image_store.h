// The local image store: images (config blob + unpacked layers), tags,
// import, and the Docker API v1.41 JSON shapes.
//
// On disk (DESIGN.md §3):
//   DATA_ROOT/content/blobs/sha256/<hex>   image config JSON (id = its digest)
//   DATA_ROOT/overlay/<chain-id-hex>/diff  unpacked layer; .../layer marks it as ours
//   DATA_ROOT/overlay/.tmp-layer-*         extraction in progress (swept by open)
// Schema (berth.db, component "image"):
//   images(id PK, config TEXT, size, created, last_tag_time)
//   layers(chain_id PK, diff_id, parent, size)
//   image_layers(image_id → images ON DELETE CASCADE, idx, chain_id → layers; PK(image_id, idx))
//   image_tags(ref PK  -- familiar form "busybox:latest", image_id → images)
//
// Commit order of an import: layer extracted into a temp dir → renamed into
// place → config blob ingested (fsync, rename, fsync dir) → one SQLite
// transaction inserts every row. A crash before the transaction leaves only
// files without rows, which open() removes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "content/blob_store.h"
#include "image/reference.h"
#include "store/db.h"

namespace berth::image {

struct Image {
  std::string id;                       // "sha256:<64 hex>" = digest of the config JSON bytes
  Json config;                          // the OCI/Docker image config JSON
  std::vector<std::string> repo_tags;   // familiar form: "busybox:latest", "127.0.0.1:5000/x/y:v1"
  int64_t created_unix_nano = 0;        // from config.created
  int64_t size = 0;                     // bytes of the unpacked layers
  std::vector<std::string> layer_dirs;  // absolute dirs of unpacked layers, LOWEST FIRST
  // Additions:
  std::vector<std::string> repo_digests;  // "name@sha256:..." (none for imported images)
  int64_t last_tag_unix_nano = 0;         // Metadata.LastTagTime; 0 = never tagged
  std::vector<int64_t> layer_sizes;       // per layer, same order as layer_dirs
};

struct ImportOptions {
  std::string repo;                  // "", "name", or "name:tag"
  std::string tag;                   // may be ""
  std::vector<std::string> changes;  // Dockerfile instructions (see changes.h)
  std::string message;               // history comment ("Imported from -" when empty)
};

class ImageStore {
 public:
  static Result<std::unique_ptr<ImageStore>> open(store::Db& db, const std::string& data_root);

  // Name[:tag], name@digest, full ID "sha256:<hex>", bare 64-hex ID, or a
  // unique ID prefix (with or without "sha256:"). Not found (or ambiguous)
  // → Errc::not_found "No such image: <ref>".
  Result<Image> resolve(std::string_view ref) const;
  // Newest first.
  std::vector<Image> list() const;
  // GET /images/json?filters=: the decoded filters object, either
  // {"key":["v",..]} or the legacy {"key":{"v":true}}. Keys: dangling,
  // label (k or k=v, all must match), reference (glob on name:tag or name),
  // before, since (image references). Unknown keys → Errc::invalid.
  Result<std::vector<Image>> list(const Json& filters) const;
  // Reads a tar (plain/gzip/bzip2/xz/zstd) from fd until EOF; creates a
  // one-layer image like `docker import`, tagged when opts.repo is set.
  // The daemon answers with {"status":"<img.id>"}.
  Result<Image> import(int fd, const ImportOptions& opts);
  // Point `ref` (normalised; a tag, not a digest) at img; moves it from any
  // other image.
  Status tag(const Image& img, std::string_view ref);
  // POST /images/{name}/tag?repo=&tag= (tag may be empty → "latest").
  Status tag(const Image& img, std::string_view repo, std::string_view tag);
  // Remove one tag (ref as given; normalised). Returns the familiar ref.
  // Removing the last tag leaves the image dangling (use remove() to delete).
  Result<std::string> untag(std::string_view ref);
  // DELETE /images/{name}: Docker's semantics and response array
  // ([{"Untagged":..},{"Deleted":..}]). `ref` by name removes just that tag
  // unless it is the last one; by ID it needs `force` when several repos
  // reference the image (409 otherwise). The caller checks containers first.
  Result<Json> remove(std::string_view ref, bool force);

  Json to_list_json(const Image& img) const;
  Json to_inspect_json(const Image& img) const;
  // GET /images/{name}/history: newest first, Docker's shape.
  Json to_history_json(const Image& img) const;

  const std::string& data_root() const { return root_; }
  // The content store this image store opened (DATA_ROOT/content); share it
  // rather than opening a second one (open() sweeps ingest/).
  content::BlobStore& blobs() const { return *blobs_; }

 private:
  ImageStore(store::Db& db, std::string root) : db_(db), root_(std::move(root)) {}
  Status sweep();
  Status load();
  std::string layer_dir(std::string_view chain_hex) const { return root_ + "/overlay/" + std::string(chain_hex); }
  Result<std::string> find_id_locked(std::string_view ref) const;
  Result<std::string> untag_locked(std::string_view ref);
  void set_tag_locked(const std::string& ref, const std::string& id, int64_t when);

  store::Db& db_;
  std::string root_;
  std::unique_ptr<content::BlobStore> blobs_;
  mutable std::mutex mu_;                   // guards the maps; held across commits
  std::map<std::string, Image> images_;     // by id
  std::map<std::string, std::string> tags_; // familiar ref -> id
  std::map<std::string, int64_t> layer_refs_;  // chain id -> images using it
};

}  // namespace berth::image
