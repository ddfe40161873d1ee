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
//   layer_blobs(diff_id, digest, media_type, size; PK(diff_id, digest)) -- compressed blobs of a diff
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

#include "common/id.h"
#include "common/json.h"
#include "common/unique_fd.h"
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
  std::string message;               // history comment ("Imported from <source>" when empty)
  std::string source = "-";          // "-" (request body) or the URL imported from
  std::string os, architecture, variant;  // --platform; empty: this host's
};

// A compressed layer blob in the content store that carries a layer's
// diff (as pulled, or gzip made at import/commit); push uploads it.
struct LayerBlob {
  std::string diff_id;
  std::string digest;
  std::string media_type;
  int64_t size = 0;
};

// An extraction directory DATA_ROOT/overlay/.tmp-layer-*/diff; removed when
// dropped unless commit_image() moved it into place.
class TmpLayer {
 public:
  TmpLayer() = default;
  TmpLayer(TmpLayer&&) noexcept = default;
  TmpLayer& operator=(TmpLayer&&) noexcept = default;
  ~TmpLayer();
  int diff_fd() const { return diff_fd_.get(); }
  const std::string& name() const { return name_; }

 private:
  friend class ImageStore;
  std::shared_ptr<UniqueFd> overlay_fd_;
  UniqueFd diff_fd_;
  std::string name_;
};

// Everything a new image needs (pull, load, commit): the config bytes (its
// digest is the ID), every layer lowest first (new ones extracted in a
// TmpLayer, existing ones by chain ID), refs and layer blobs to record.
struct NewImage {
  std::string config_bytes;
  struct Layer {
    Digest chain = Digest::of("");
    Digest diff_id = Digest::of("");
    int64_t size = 0;
    TmpLayer* tmp = nullptr;  // null: the layer already exists
  };
  std::vector<Layer> layers;
  std::vector<std::string> tags;     // familiar refs to point at the image
  std::vector<std::string> digests;  // "name@sha256:..." repo digests
  std::vector<LayerBlob> blobs;
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

  // Building blocks of pull / load / commit.
  bool has_layer(const Digest& chain) const;
  int64_t layer_size(const Digest& chain) const;
  Result<TmpLayer> make_tmp_layer();
  // Layers into place, config blob in, one transaction, publish. The image
  // may already exist (then only refs and blobs are added).
  Result<Image> commit_image(NewImage& n);
  // The compressed blobs known for a diff ID (first: most recently added).
  std::vector<LayerBlob> layer_blobs(const std::string& diff_id) const;
  Status add_layer_blob(const LayerBlob& b);
  // Where a blob is known to live (registry host, repository): the
  // candidates for a cross-repository mount on push.
  Status add_blob_source(const std::string& digest, const std::string& registry, const std::string& repo);
  std::vector<std::pair<std::string, std::string>> blob_sources(const std::string& digest) const;
  // Record "name@sha256:…" for an image (after a push).
  Status add_repo_digest(const std::string& image_id, const std::string& ref);
  // berthd --validate-store: verify every blob's digest, every image's
  // config blob and layer directories, and the layer-blob rows; with
  // `repair`, remove what is corrupt (images with missing layers go, their
  // tags with them) and restore config blobs from the database. Returns
  // one line per problem.
  Result<std::vector<std::string>> check(bool repair);
  // Diff IDs of an image's layers, lowest first (from its config).
  static std::vector<std::string> diff_ids(const Image& img);

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
