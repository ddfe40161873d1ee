// A commit with pause=true freezes a running container while its writable
// layer is read. The freeze is the daemon's, not the user's: if berthd dies
// in the middle (kill -9), the container must not stay paused for ever.
// A durable marker file per container (DATA_ROOT/commit-pauses/<id>) is
// written before the pause and removed after the unpause; the next start
// thaws every container whose marker it finds still paused.
#pragma once

#include <string>

#include "common/log.h"
#include "common/result.h"
#include "container/service.h"

namespace berth::daemon {

class CommitPauseMarker {
 public:
  // Durably record that the daemon is about to pause `container_id`.
  static Result<CommitPauseMarker> create(const std::string& data_root, const std::string& container_id);
  CommitPauseMarker(CommitPauseMarker&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  CommitPauseMarker& operator=(CommitPauseMarker&&) = delete;
  ~CommitPauseMarker();  // removes the marker (the pause is over, or never happened)

 private:
  explicit CommitPauseMarker(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// On start: thaw the containers a crashed daemon left paused for a commit,
// and drop every marker. Returns how many containers it unpaused.
int recover_commit_pauses(const std::string& data_root, container::ContainerService& containers, log::Logger& log);

}  // namespace berth::daemon
