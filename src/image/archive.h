// docker save / docker load archives.
//
// save writes Docker's archive: <config-hex>.json, <layer-id>/layer.tar
// (+VERSION, json), manifest.json and repositories, plus the OCI layout
// (oci-layout, index.json, blobs/sha256/<hex> for configs and manifests)
// so that both Docker and OCI tools read it. Layer tars are the exact
// uncompressed streams (their sha256 is the diff ID), made from the layer
// blob kept at pull/import time.
//
// load accepts either layout, plain or compressed (gzip, xz, bzip2, zstd).
// Entries are spooled to a private temp dir under the data root under
// generated names (never under the archive's own names), so no entry can
// write anywhere else; symlinked duplicates (Docker's) resolve within the
// archive's own namespace. Each layer is unpacked through the safe
// extractor and its diff ID checked against the config; each image appears
// in one transaction.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "image/image_store.h"
#include "image/pull.h"

namespace berth::image {

using ByteSink = std::function<Status(std::string_view)>;

// Resolve every name first (errors before any byte is written).
Result<std::vector<Image>> resolve_for_save(ImageStore& store, const std::vector<std::string>& names);
// names: the refs as given (tags of those refs are written in RepoTags;
// an image given by ID gets no tags, as Docker).
Status save(ImageStore& store, const std::vector<std::string>& names, const ByteSink& out);

// Returns the "Loaded image: …" / "Loaded image ID: …" lines.
Result<std::vector<std::string>> load(ImageStore& store, int in_fd, const ProgressFn& progress);

}  // namespace berth::image
