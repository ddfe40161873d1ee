// ContainerService: the container lifecycle (create, start, attach, wait,
// kill, stop, remove, inspect, list) on top of berth-shim, the overlay
// rootfs and the SQLite record store, plus the boot-time reconcile.
//
// Locking: mu_ guards the index and every container's mutable fields;
// Entry::op_mu serialises lifecycle operations on one container (start,
// exit processing, removal). op_mu is never taken while holding mu_.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "common/log.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "container/container.h"
#include "container/create_config.h"
#include "network/service.h"
#include "volume/service.h"
#include "container/health.h"
#include "container/recovery.h"
#include "container/restart.h"
#include "container/shim_client.h"
#include "store/db.h"

namespace berth::container {

struct SpecInput;
// Where lifecycle events go (the daemon's event bus). `attrs` are Docker's
// Actor.Attributes; for containers the service fills name, image and the
// labels, callers add e.g. exitCode or signal.
using EventSink = std::function<void(std::string_view type, std::string_view action,
                                     const std::string& id, std::map<std::string, std::string> attrs)>;

struct ServiceOptions {
  Paths paths;
  std::string shim_binary;
  std::string runtime_path;  // OCI runtime binary the shims drive
  std::string runtime_name = "berth";
  network::NetworkService* networks = nullptr;  // null: loopback-only containers
  volume::VolumeService* volumes = nullptr;     // null: no volumes
  // Other runtimes a container may name (HostConfig.Runtime): name → path.
  std::map<std::string, std::string> runtimes;
  EventSink events;  // may be empty (tests)
  // daemon.json log-driver / log-opts: used when a container names no
  // driver (options merge when it names the same one), as dockerd's.
  std::string default_log_type = "json-file";
  std::map<std::string, std::string> default_log_opts;
  Json default_ulimits;  // daemon.json default-ulimits ({"nofile":{"Name","Soft","Hard"}})
};

// The image a container is created from (filled in by the daemon from the
// image store, so this library does not depend on it).
struct ImageInfo {
  std::string id;                       // "sha256:…"
  std::string ref;                      // as the client named it (Config.Image)
  Json config;                          // image config's "config" section
  std::vector<std::string> layer_dirs;  // lowest first
};

// A one-shot notification with an fd to poll (eventfd), used by wait,
// stop, attach-before-start and logs -f.
class Notice {
 public:
  Notice();
  int fd() const { return fd_.get(); }
  bool fired() const { return fired_.load(); }
  void fire();
  // Blocks up to timeout_ms (-1 = forever); true once fired.
  bool wait_for(int timeout_ms) const;

 private:
  UniqueFd fd_;
  std::atomic<bool> fired_{false};
};

struct WaitResult {
  int exit_code = 0;
  std::string error;
};

enum class WaitCondition { not_running, next_exit, removed };
Result<WaitCondition> parse_wait_condition(std::string_view s);

class Waiter {
 public:
  Notice notice;
  WaitResult result;  // valid once notice fired
  WaitCondition condition = WaitCondition::not_running;
};

struct AttachOptions {
  bool stdin_ = false;
  bool stdout_ = true;
  bool stderr_ = true;
};

// An attach that may be waiting for the container's start. Once `ready`
// fires, `conn` is the shim attach stream (or invalid: the container went
// away, see `error`).
class PendingAttach {
 public:
  AttachOptions opts;
  Notice ready;
  UniqueFd conn;
  std::string leftover;  // output bytes read with the shim's ack
  std::string error;
};

// A started exec: the attach stream (when not detached) and what the
// hijacked client needs to know.
class ExecSession {
 public:
  std::string exec_id;
  std::string container_id;
  std::string detach_keys;  // the exec's DetachKeys as given ("ctrl-a,x"; "" when unset)
  UniqueFd attach;       // shim attach stream, invalid when detached or failed
  std::string leftover;  // output read with the shim's ack
  bool tty = false;
  bool stdin_ = false;
  std::string error;     // start failed: Docker's message (the exit code is set)
  std::shared_ptr<Waiter> done;  // fires when the exec's exit is recorded
};

struct Counts {
  int total = 0, running = 0, paused = 0, stopped = 0;
};

struct ListOptions {
  bool all = false;
  int limit = -1;
  std::vector<std::pair<std::string, std::vector<std::string>>> filters;
};

struct LogSource {
  std::string path;  // json-file; empty with log driver none
  bool local = false;  // the local driver's format
  bool tty = false;
  std::shared_ptr<Waiter> exit;  // fires when the container is not running
};

class ContainerService {
 public:
  static Result<std::unique_ptr<ContainerService>> open(store::Db& db, ServiceOptions opts,
                                                        log::Logger& log);
  ~ContainerService();
  ContainerService(const ContainerService&) = delete;
  ContainerService& operator=(const ContainerService&) = delete;

  // name may be empty (generated). Returns the ID.
  Result<std::string> create(std::string_view name, const Json& body, const ImageInfo& image);
  Status start(std::string_view ref);
  Status kill(std::string_view ref, int signal);
  // timeout_s: nullopt = the container's StopTimeout or 10; -1 = forever.
  Status stop(std::string_view ref, std::optional<int> timeout_s);
  // volumes: also remove the container's anonymous volumes (rm -v).
  Status remove(std::string_view ref, bool force, bool volumes = false);
  // `docker rm --link /parent/alias`: the parent forgets that link.
  Status remove_link(std::string_view link_name);
  Status resize(std::string_view ref, int height, int width);
  Result<std::shared_ptr<Waiter>> wait(std::string_view ref, WaitCondition c);
  // Registers (or, when running, connects) an attach. Call before
  // answering the client, so a start that follows sees it.
  Result<std::shared_ptr<PendingAttach>> attach(std::string_view ref, const AttachOptions& o);
  void cancel_attach(const std::shared_ptr<PendingAttach>& a);
  // Forgets a waiter whose client went away (from wait() or log_source()),
  // so its eventfd does not live until the container exits.
  void cancel_wait(const std::shared_ptr<Waiter>& w);
  Result<Json> inspect(std::string_view ref);
  // GET /containers/json's elements as text (container.h ListEntry).
  Result<std::vector<ListEntry>> list_entries(const ListOptions& o);
  // The same elements parsed, for callers that read their members.
  Result<std::vector<Json>> list(const ListOptions& o);
  Result<LogSource> log_source(std::string_view ref);
  Result<Record> get(std::string_view ref);
  // Runs fn on the container's record; for a container that is not
  // running, under its operation lock (as dockerd holds the container lock
  // for a copy), so a rootfs mounted for `docker cp`/`export` is never
  // unmounted under a start, and nothing is removed meanwhile.
  Status with_rootfs(std::string_view ref, const std::function<Status(const Record&)>& fn);
  Counts counts();
  // Stops every running container (daemon shutdown without live-restore).
  void stop_all(int timeout_s);
  // POST /networks/{id}/connect and /disconnect: live on a running
  // container, recorded in its NetworkingConfig either way.
  Status connect_network(std::string_view ref, const std::string& network, const Json& endpoint_config);
  Status disconnect_network(std::string_view ref, const std::string& network, bool force);
  // IDs of running containers (network reconcile after a restart).
  std::set<std::string> running_ids();
  // Containers (IDs) whose mounts use the named volume.
  std::vector<std::string> volume_users(const std::string& name);
  // Operations on a running container (service_ops.cc).
  Status pause(std::string_view ref);
  Status unpause(std::string_view ref);
  // POST /containers/{id}/update: Resources (+ RestartPolicy) merged into
  // HostConfig, applied live through the runtime's `update` when running.
  Result<Json> update(std::string_view ref, const Json& body);
  Status rename(std::string_view ref, std::string_view new_name);
  // One stats sample with name/id; Errc::conflict-free: a stopped container
  // gives zeros as Docker does.
  Result<Json> stats_sample(std::string_view ref);
  Result<Json> top(std::string_view ref, const std::string& ps_args);
  // GET /containers/{id}/changes
  Result<Json> changes(std::string_view ref);
  // POST /containers/prune: removes every stopped container `keep` does
  // not keep; {"ContainersDeleted":[..]|null,"SpaceReclaimed":N}.
  Result<Json> prune(const std::function<bool(const Record&)>& matches);

  // exec (service_exec.cc). Docker keeps exec instances in memory until
  // their container is removed; so does berth.
  Result<std::string> exec_create(std::string_view ref, const Json& body);
  // Starts the exec. With attach (not detached) the returned session's
  // `attach` is the shim's stream, already connected before the process
  // produced output. Errc::conflict for an exec already started.
  Result<std::shared_ptr<ExecSession>> exec_start(std::string_view exec_id, bool detach);
  Result<Json> exec_inspect(std::string_view exec_id);
  Status exec_resize(std::string_view exec_id, int height, int width);

  // SIGHUP reload: containers started from now on use this OCI runtime.
  void set_default_runtime(std::string name, std::string path);
  // Resolves a reference to a full ID (404 when unknown).
  Result<std::string> resolve(std::string_view ref);
  // Publishes a container event (Type "container") with Docker's
  // attributes: name, image, the container's labels, plus `extra` (e.g.
  // {"execID", …} for exec_create/exec_start/exec_die, {"signal","15"}).
  // The lifecycle operations here emit their own events; operations added
  // elsewhere (pause, unpause, rename, exec_*) call this. Unknown ref: no-op.
  void emit(std::string_view ref, std::string_view action,
            std::map<std::string, std::string> extra = {});

 private:
  struct Entry {
    Record rec;
    std::mutex op_mu;
    bool removed = false;
    bool shim_up = false;  // the shim exists (between spawn and exit)
    UniqueFd shim_pidfd;   // the last shim spawned; it may outlive shim_up while it deletes runtime state
    std::vector<std::shared_ptr<Waiter>> waiters;
    std::vector<std::shared_ptr<PendingAttach>> attaches;
    RestartManager restart_mgr;
    bool restart_canceled = false;             // a user stop/kill: no automatic restart
    std::shared_ptr<Notice> restart_pending;   // fires to cancel a scheduled restart
    std::unique_ptr<HealthMonitor> health;     // running containers with a health check
    std::string runtime_path;                  // the OCI runtime it was started with
  };
  using EntryPtr = std::shared_ptr<Entry>;

  ContainerService(store::Db& db, RecordStore rs, ServiceOptions opts, log::Logger& log);
  Result<EntryPtr> find(std::string_view ref);  // takes mu_
  Status reconcile();
  // Boot recovery of a container that is not (or no longer) monitored:
  // kills its shims and their runtime children (pid + start time), deletes
  // the runtime state, empties and removes its cgroups, unmounts its rootfs,
  // drops its sandbox and (unless keep_state_dir) the shim state dir.
  // Returns true when anything was found. recovery.h has the pieces.
  bool reap_leftovers(const std::string& id, const std::vector<recovery::ShimProc>& shims,
                      const std::string& runtime, bool keep_state_dir);
  Status persist_state(const Entry& e);
  Status start_entry(const EntryPtr& e, std::string_view ref, bool manual);
  Status stop_entry(std::string_view ref, std::optional<int> timeout_s, bool by_user);
  void schedule_restart(const EntryPtr& e, int64_t delay_ns);
  void restart_on_boot();
  void start_health(const EntryPtr& e);  // mu_ not held
  std::map<std::string, std::string> event_attrs(const Record& r) const;  // mu_ held
  void publish(const std::string& id, std::string_view action, std::map<std::string, std::string> attrs);
  Status prepare_bundle(Entry& e);
  struct LinkFacts {
    std::vector<std::string> env;  // <ALIAS>_* for the process environment
    std::string hosts;             // /etc/hosts lines
  };
  // The links of HostConfig.Links as they stand now; 409 if a linked
  // container is not running.
  Result<LinkFacts> resolve_links(const Record& r);
  // network connect/disconnect and volume mount/unmount events of a start
  // (up) or an exit (service_events.cc).
  void publish_resource_events(const Record& r, bool up);
  void rewrite_network_files(const Record& r);  // after connect/disconnect
  Status write_network_files(const Record& r, const std::string& own_hosts = "", bool embedded_dns = false);
  Result<std::string> setup_network(const Record& r, const std::string& link_hosts = "");
  Status fill_host_facts(SpecInput& in);
  // The OCI runtime binary a container runs with (HostConfig.Runtime).
  std::string runtime_for(const Record& r) const;
  // A frozen container cannot act on signals: thaw it after signalling.
  void thaw_if_paused(const EntryPtr& e);
  struct Exec {
    std::string id, container_id;
    Json config;  // the create body (Cmd, Env, User, WorkingDir, Tty, Attach*, Privileged)
    bool started = false, running = false, exited = false;
    int exit_code = 0;
    int pid = 0;
    std::vector<std::shared_ptr<Waiter>> waiters;
  };
  void on_exec_exit(const std::string& exec_id, Result<Json> answer);
  void forget_execs(const std::string& container_id);
  std::string exec_dir(const std::string& exec_id) const { return opts_.paths.exec_root + "/execs/" + exec_id; }
  std::string exec_socket(const std::string& exec_id) const { return opts_.paths.exec_root + "/execs/" + exec_id + ".sock"; }
  std::map<std::string, std::shared_ptr<Exec>> execs_;  // guarded by mu_
  void on_exit(const std::string& id, Result<Json> answer);
  // op_mu held. durable_row=false: the row's delete is not synced (see
  // RecordStore::remove); only for an --rm container whose durable row
  // still says running, which reconcile removes if the delete is lost.
  // `later`: directories moved out of their place (discard) whose contents
  // the caller deletes with purge() once waiters are answered; nullptr
  // purges before returning.
  void remove_locked(const EntryPtr& e, bool volumes = false, bool durable_row = true,
                     std::vector<std::string>* later = nullptr);
  // Moves directory `path` (under `root`) into ROOT/trash with one rename,
  // so that it is gone from its place at once, and adds the new name to
  // `later`; deletes it in place if the rename fails. purge() deletes what
  // was moved; reconcile empties both trash directories (a crash between).
  void discard(const std::string& path, const std::string& root, std::vector<std::string>& later);
  static void purge(std::vector<std::string>& later);
  std::atomic<uint64_t> discard_seq_{0};
  void monitor_loop();
  void watch(const std::string& id, UniqueFd conn);

  store::Db& db_;
  RecordStore records_;
  ServiceOptions opts_;
  log::Logger& log_;
  SealedRuntimeCache sealed_runtimes_;  // one sealed berth-runtime copy for every shim
  std::mutex mu_;
  std::map<std::string, EntryPtr> by_id_;
  std::map<std::string, std::string> by_name_;  // "/x" → id

  // Exit monitor: one epoll thread holding every running container's shim
  // `wait` connection.
  UniqueFd epoll_;
  UniqueFd monitor_wake_;
  std::mutex watch_mu_;
  std::map<int, std::pair<std::string, UniqueFd>> watched_;  // fd → (id, conn)
  std::atomic<bool> stopping_{false};
  std::atomic<bool> shutting_down_{false};  // stop_all: exits do not restart
  std::thread monitor_;
  // Reaps the shims berthd spawned (its children); watched by monitor_loop.
  std::unique_ptr<ShimReaper> shim_reaper_;
};

}  // namespace berth::container
