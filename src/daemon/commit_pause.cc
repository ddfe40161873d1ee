#include "daemon/commit_pause.h"

#include <unistd.h>

#include "common/fs.h"

namespace berth::daemon {

namespace {
std::string marker_dir(const std::string& data_root) { return data_root + "/commit-pauses"; }
}  // namespace

Result<CommitPauseMarker> CommitPauseMarker::create(const std::string& data_root, const std::string& container_id) {
  const std::string dir = marker_dir(data_root);
  BERTH_TRY_VOID(fs::mkdir_p(dir, 0700));
  const std::string path = dir + "/" + container_id;
  // fsync'd file and directory: the marker exists on disk before the freeze.
  BERTH_TRY_VOID(fs::write_file_atomic(path, container_id + "\n", fs::Durability::fsync, 0600));
  return CommitPauseMarker(path);
}

CommitPauseMarker::~CommitPauseMarker() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

int recover_commit_pauses(const std::string& data_root, container::ContainerService& containers, log::Logger& log) {
  const std::string dir = marker_dir(data_root);
  int thawed = 0;
  for (const auto& id : fs::list_dir(dir)) {
    const std::string path = dir + "/" + id;
    if (id.find(".tmp") != std::string::npos) {  // an atomic write the crash interrupted
      ::unlink(path.c_str());
      continue;
    }
    auto state = containers.inspect(id);
    if (state && state->contains("State") && (*state)["State"].is_object() &&
        (*state)["State"].value("Paused", false)) {
      if (auto st = containers.unpause(id); st) {
        ++thawed;
        BERTH_LOG(log, info, "unpaused a container a crashed commit had paused", {"id", id});
      } else {
        BERTH_LOG(log, warn, "could not unpause a container a crashed commit had paused", {"id", id},
                  {"error", st.error().msg});
        continue;  // keep the marker: the next start tries again
      }
    }
    ::unlink(path.c_str());
  }
  return thawed;
}

}  // namespace berth::daemon
