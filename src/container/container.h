// A container's record: what create fixed (Config, HostConfig, image,
// paths) and its lifecycle state, with Docker's JSON shapes for inspect and
// list, and the persistence of both in SQLite.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "store/db.h"

namespace berth::container {

enum class StateStatus { created, running, paused, restarting, removing, exited, dead };
std::string_view status_name(StateStatus s);
// Running, paused or restarting: the container has live processes.
inline bool is_running_status(StateStatus s) {
  return s == StateStatus::running || s == StateStatus::paused || s == StateStatus::restarting;
}
std::optional<StateStatus> parse_status(std::string_view s);

struct State {
  StateStatus status = StateStatus::created;
  int pid = 0;
  int exit_code = 0;
  bool oom_killed = false;
  std::string error;
  int64_t started_ns = 0;   // 0 = never started
  int64_t finished_ns = 0;  // 0 = never exited
  bool manually_stopped = false;  // the user stopped it (unless-stopped across daemon restarts)
  Json health;                    // State.Health (container/health.h); null without a check
};
Json state_to_json(const State& s);  // persistence form
State state_from_json(const Json& j);

// Legal lifecycle transitions (the state machine); others are conflicts.
bool transition_allowed(StateStatus from, StateStatus to);

struct Record {
  std::string id;
  std::string name;  // "/x"
  int64_t created_ns = 0;
  std::string image_id;   // "sha256:…"
  std::string image_ref;  // Config.Image as the client gave it
  std::vector<std::string> layer_dirs;  // image layers, lowest first
  std::string path;
  std::vector<std::string> args;
  Json config;
  Json host_config;
  Json networking_config;
  // Resolved mount points (container/mounts.h): volumes, binds, tmpfs, in
  // Docker's inspect shape plus berth's fields; null for old records.
  Json mounts;
  State state;
  int restart_count = 0;
};
Json record_to_json(const Record& r);  // persistence form (without state)
Result<Record> record_from_json(const Json& j, const Json& state);

struct Paths {
  std::string data_root;
  std::string exec_root;
  std::string container_dir(const std::string& id) const { return data_root + "/containers/" + id; }
  std::string log_path(const std::string& id) const {
    return container_dir(id) + "/" + id + "-json.log";
  }
  // The local driver's file (as Docker, not shown as inspect's LogPath).
  std::string local_log_path(const std::string& id) const {
    return container_dir(id) + "/local-logs/container.log";
  }
  std::string shim_socket(const std::string& id) const { return exec_root + "/shims/" + id + ".sock"; }
  std::string shim_state_dir(const std::string& id) const { return exec_root + "/shims/" + id; }
  std::string runtime_root() const { return exec_root + "/runtime"; }
};

// Docker's State.String() for `ps`: "Up 3 seconds", "Exited (0) 2 minutes ago", "Created".
std::string human_status(const State& s, int64_t now_ns);
// go-units HumanDuration.
std::string human_duration(int64_t ns);

// GET /containers/{id}/json
Json inspect_json(const Record& r, const Paths& p, const std::string& driver = "overlay2");
// An element of GET /containers/json, written as text, not built as a JSON
// tree and then dumped (the tree dominated `ps` with 1,000 containers,
// DESIGN.md §6). Joined, the pieces are byte for byte the dump of the
// tree the daemon used to build (keys sorted, nlohmann's escaping); they are
// split where the service puts in a live sandbox's networks and ports and
// the handler `ps -s`'s sizes.
struct ListEntry {
  std::string id;
  bool running = false;
  std::string head;      // {"Command":… through "Names":[…],
  std::string networks;  // NetworkSettings.Networks, an object
  std::string ports = "[]";
  std::optional<int64_t> size_rw, size_root_fs;  // SizeRw is left out when 0, as dockerd
  std::string tail;                               // "State":…,"Status":…}
  void append_to(std::string& out) const;
};
// extra_names: the "/parent/alias" names of links to the container.
ListEntry list_entry(const Record& r, int64_t now_ns, const std::vector<std::string>* extra_names = nullptr);
// A running container's ports and networks from NetworkService::settings.
void set_live_network(ListEntry& e, const Json& settings);

// GET /containers/json?filters=: Docker's filter JSON (new {"k":["v"]} or
// old {"k":{"v":true}} form) → key → values.
Result<std::vector<std::pair<std::string, std::vector<std::string>>>> parse_filters(
    std::string_view raw);
// Keys: id, name, status, label, exited, ancestor (image ref or ID), before/since are
// handled by the caller. Unknown key → Errc::invalid "invalid filter 'x'".
Result<bool> matches_filters(
    const Record& r, const std::vector<std::pair<std::string, std::vector<std::string>>>& f);
Status validate_list_filters(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& f);

// SQLite persistence. Schema (component "container"):
//
//   containers
//   ├── id     TEXT PRIMARY KEY        64 hex
//   ├── name   TEXT UNIQUE NOT NULL    "/x"
//   ├── record TEXT NOT NULL           JSON: what create fixed (record_to_json)
//   └── state  TEXT NOT NULL           JSON: lifecycle state (state_to_json)
class RecordStore {
 public:
  static Result<RecordStore> open(store::Db& db);
  // sync=false: committed without waiting for the disk (see remove()). Only
  // for an --rm container's row: the start that follows commits with a sync
  // and carries this row to disk with it (the WAL is written in order); if
  // power is lost before that, the container had not started and its
  // directories are orphans that reconcile removes.
  Status insert(const Record& r, bool sync = true);
  Status update_state(const std::string& id, const State& s);
  // Rewrites what create fixed (network connect, update, rename): record and name.
  Status update_record(const Record& r);
  // The state plus RestartCount (kept in the state column: it changes with it).
  Status update_state(const std::string& id, const State& s, int restart_count);
  // sync=false: the delete is committed without waiting for the disk
  // (SQLite synchronous=NORMAL for this one transaction). Only for a row
  // whose durable state already makes the next start remove it (an --rm
  // container whose row says running): after a power loss the row may come
  // back, and reconcile removes it again. A later synced commit carries
  // this one to disk too (the WAL is written in order).
  Status remove(const std::string& id, bool sync = true);
  Result<std::vector<Record>> load_all();

 private:
  explicit RecordStore(store::Db& db) : db_(&db) {}
  // Runs one statement; sync=false commits it with synchronous=NORMAL.
  Status run_one(const std::string& sql, const std::vector<std::string>& args, bool sync);
  store::Db* db_;
};

}  // namespace berth::container
