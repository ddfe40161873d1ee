// Volumes with the `local` driver: DATA_ROOT/volumes/<name>/_data, metadata
// in SQLite, driver options (type/device/o) mounted with mount(2) on first
// use, and the copy-up of image content into a new volume.
//
// SQLite schema (component "volume"):
//   volumes
//   ├── name  TEXT PRIMARY KEY
//   └── data  TEXT   JSON: driver, labels, options, created_ns, anonymous
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/log.h"
#include "common/result.h"
#include "store/db.h"

namespace berth::volume {

struct Volume {
  std::string name;
  std::string driver = "local";
  Json labels = Json::object();
  Json options = Json::object();
  int64_t created_ns = 0;
  bool anonymous = false;
};

// Docker's local volume name rule.
Status validate_name(const std::string& name);
// The mount(2) call the local driver makes for options type/device/o:
// source, fstype, flags and data (pure; tested without the kernel).
struct MountCall {
  std::string source, fstype, data;
  unsigned long flags = 0;
};
Result<MountCall> plan_mount(const Json& options);
// Copies a directory tree (modes, owners, times, links, devices) into an
// existing directory, without following symlinks.
Status copy_tree(const std::string& from, const std::string& to);

class VolumeService {
 public:
  static Result<std::unique_ptr<VolumeService>> open(store::Db& db, std::string data_root, log::Logger& log);

  // Creates (or returns the existing) volume; name "" → an anonymous one.
  Result<Volume> create(const std::string& name, const std::string& driver, const Json& options,
                        const Json& labels, bool anonymous = false);
  Result<Volume> get(const std::string& name);
  Json to_json(const Volume& v) const;
  std::vector<Volume> all();
  // Removes metadata and data (callers check use first).
  Status remove(const std::string& name);
  // The host directory to bind into a container, mounting the driver's
  // options on first use.
  Result<std::string> mountpoint_for_use(const std::string& name);
  std::string mountpoint(const std::string& name) const { return root_ + "/" + name + "/_data"; }

 private:
  VolumeService(store::Db& db, std::string root, log::Logger& log) : db_(db), root_(std::move(root)), log_(log) {}
  Status save(const Volume& v);
  store::Db& db_;
  std::string root_;
  log::Logger& log_;
  std::mutex mu_;
  std::map<std::string, Volume> vols_;
  std::set<std::string> mounted_;
};

}  // namespace berth::volume
