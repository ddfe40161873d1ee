// The archive API under `docker cp` and `docker export`: paths of a
// container resolved in the scope of its root (symlinks are followed as if
// the root were "/", never outside it), Docker's path stat, tars of a path
// or of the whole tree, and extraction of a tar into a directory.
//
// A CopyRoot is the container's filesystem as the container sees it, its
// volumes and bind mounts (directories and files) mounted in place by the
// kernel: for a running container its /proc/<pid>/root, for a stopped one
// the overlay's merged dir seen from a private mount namespace in which the
// container's mounts are bound onto it (service_archive.cc). Every path is
// resolved with openat2(RESOLVE_IN_ROOT), so the kernel crosses mounts as
// the container would and nothing escapes the root.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "container/container.h"

namespace berth::container {

using Sink = std::function<Status(std::string_view)>;

// A volume or bind of the container: only what the daemon checks itself
// (Docker's "mounted volume is marked read-only"); the root shows it.
struct CopyMount {
  std::string destination;  // cleaned absolute container path
  bool read_only = false;
};

class CopyRoot {
 public:
  CopyRoot() = default;
  CopyRoot(UniqueFd root, std::vector<CopyMount> mounts) : root_(std::move(root)), mounts_(std::move(mounts)) {}
  // The directory fd and the path relative to it that hold the cleaned
  // absolute container path `abs`.
  std::pair<int, std::string> locate(const std::string& abs) const;
  // The mount `abs` lies on (nullptr: the rootfs).
  const CopyMount* mount_of(const std::string& abs) const;
  // Every symlink in `abs` followed in the scope of the root, up to 255
  // links; components that do not exist are kept lexically (as Go's
  // FollowSymlinkInScope). Returns a cleaned absolute path.
  Result<std::string> resolve(std::string_view abs) const;
  int root_fd() const { return root_.get(); }

 private:
  UniqueFd root_;
  std::vector<CopyMount> mounts_;
};

// Docker's ContainerPathStat; `mode` is Go's os.FileMode.
struct PathStat {
  std::string name;
  int64_t size = 0;
  uint32_t mode = 0;
  int64_t mtime_ns = 0;
  std::string link_target;
  bool is_dir = false;
};
uint32_t go_file_mode(mode_t m);
// The header's JSON, keys in Docker's order.
std::string path_stat_json(const PathStat& s);

// Docker keeps a trailing "/." or "/" of the client's path: "/" + path,
// lexically cleaned, with that suffix put back.
std::string archive_abs_path(std::string_view path);
// filepath.Base: "/" for "/", "." for "/d/.", "d" for "/d/".
std::string go_base(std::string_view abs);

// What GET/HEAD /containers/{id}/archive work on: the stat the header
// carries and the resolved path whose tree the body holds.
struct ArchiveSource {
  PathStat stat;
  std::string resolved;  // cleaned absolute container path of the tarred tree
  std::string rebase;    // the name the tar's top entry gets
};
// Errc::not_found when the path does not exist (the caller words Docker's
// message), Errc::internal "lstat …: not a directory" for a file used as a
// directory.
Result<ArchiveSource> stat_archive_path(const CopyRoot& root, std::string_view path);
// The tar stream of a source (directories recursively, symlinks as links,
// hard links within the tree as links), written through sink.
Status write_archive(const CopyRoot& root, const ArchiveSource& src, const Sink& sink);
// `docker export`: the whole tree, entry names relative to "/".
Status write_export(const CopyRoot& root, const Sink& sink);

struct ExtractRequest {
  std::string path;  // as the client gave it
  bool no_overwrite_dir_non_dir = false;
  bool chown = false;
  uint32_t uid = 0, gid = 0;
  bool readonly_rootfs = false;
};
// PUT /containers/{id}/archive: the destination (last symlink followed)
// must be an existing directory; the tar read from in_fd is extracted
// there without any entry able to leave it. Errors: not_found (no such
// path), internal "extraction point is not a directory", invalid for a
// read-only destination, conflict for a dir/non-dir clash.
Status extract_archive(const CopyRoot& root, const ExtractRequest& req, int in_fd);

// The archive API on a container record (service_archive.cc). A stopped
// container's overlay is mounted for the call and unmounted afterwards;
// the caller holds the container's operation lock (ContainerService::
// with_rootfs) so no start comes in between. Errors carry Docker's
// wording (`ref` as the client named the container).
// archive_get: `on_stat` sees the path stat JSON before any byte of the
// tar; with `head_only` nothing else happens.
Status archive_get(const Record& rec, const std::string& data_root, std::string_view ref, const std::string& path,
                   bool head_only, const std::function<Status(const std::string& stat_json)>& on_stat,
                   const Sink& body);
// The tar is read from in_fd to EOF.
Status archive_put(const Record& rec, const std::string& data_root, std::string_view ref, const ExtractRequest& req,
                   int in_fd);
// docker export: the container's own filesystem, no volumes.
Status export_rootfs(const Record& rec, const std::string& data_root, const Sink& body);
// SizeRw (bytes in the upper dir) and SizeRootFs (image layers + SizeRw).
std::pair<int64_t, int64_t> container_sizes(const Record& rec, const std::string& data_root);

}  // namespace berth::container
