// The container init: what runs in the cloned child between clone() and
// execve(). Everything it needs is precomputed into an InitPlan by the
// runtime process; the child only makes syscalls (no allocation, no
// logging) and reports failures as an InitReport over a CLOEXEC socket.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/process_attrs.h"
#include "runtime/rootfs_plan.h"
#include "runtime/security.h"

namespace berth::runtime {

enum class InitStep : int32_t {
  ready = 0,
  wait_parent,
  join_namespace,
  set_ids_in_userns,
  unshare_cgroup,
  hostname,
  domainname,
  loopback,
  sysctl,
  root_propagation,
  bind_rootfs,
  open_rootfs,
  mount_step,
  pivot_root,
  console,
  send_console,
  masked_path,
  readonly_path,
  rootfs_propagation,
  readonly_root,
  rlimit,
  cwd,
  lookup_not_found,   // index: -1 when args[0] has a '/'
  lookup_permission,
  setsid,
  set_ctty,
  drop_bounding,
  seccomp,
  setgroups,
  setgid,
  setuid,
  capset,
  ambient,
  no_new_privs,
  exec_fifo,
  exec,
  io_priority,
  personality,
  exec_self,  // the program resolves to the runtime binary (CVE-2019-5736)
  hook_create_container,  // index: the hook; err: errno, or -status / -(1000+signal), or ETIMEDOUT
  hook_start_container,
  scheduler,         // sched_setattr
  cpu_affinity,      // execCPUAffinity.final
  mempolicy,         // set_mempolicy
  seccomp_listener,  // sending the notify listener fd to the runtime
  hooks_request,     // not a failure: "mounts are done, run prestart/createRuntime now"
};

struct InitReport {
  InitStep step = InitStep::ready;
  int32_t err = 0;
  int32_t index = -1;
};

struct NsJoin {
  int fd = -1;
  int nstype = 0;  // CLONE_NEW*
};

// A hook run by the init itself (createContainer, startContainer): argv and
// envp prepared before clone so the child only forks, execs and waits.
struct InitHook {
  std::string path;
  std::vector<std::string> args, env;
  std::vector<char*> argv, envp;
  int timeout_s = 0;  // 0: none
};

struct InitPlan {
  int sync_fd = -1;       // child's end (CLOEXEC)
  int fifo_fd = -1;       // O_PATH fd of ROOT/ID/exec.fifo
  int console_sock = -1;  // connected --console-socket, when terminal
  std::vector<NsJoin> joins;  // user first; pid is joined by the parent
  bool new_user = false, new_cgroup = false, new_net = false;
  // The init waits for the runtime's go (it is in the cgroups) before its
  // first step by default. With attach_during_mounts it mounts meanwhile
  // and waits before the first device node, hook or pivot_root: the
  // runtime's cgroup.procs writes (each hierarchy's first one waits for an
  // RCU grace period) overlap the mounts. Only without a new user
  // namespace (the id maps come first) or cgroup namespace (unshared from
  // the final cgroup).
  bool attach_during_mounts = false;
  std::optional<std::string> hostname, domainname;
  std::vector<std::pair<std::string, std::string>> sysctls;  // /proc/sys path, value
  RootfsPlan rootfs;
  bool no_pivot = false;
  std::string cwd;
  std::vector<std::string> args, env;
  std::vector<char*> argv, envp;  // NULL-terminated views of args/env
  std::string path_env;           // PATH used to resolve args[0]
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  mode_t umask = 022;
  struct Rlim {
    int resource;
    rlimit lim;
  };
  std::vector<Rlim> rlimits;
  bool has_caps = false;
  CapSets caps;
  bool no_new_privs = false;
  int io_priority = -1;                // ioprio_set value, -1: leave
  bool has_sched = false;              // process.scheduler
  SchedAttr sched;
  bool has_final_affinity = false;     // execCPUAffinity.final (exec)
  cpu_set_t final_affinity;
  bool has_mempolicy = false;          // linux.memoryPolicy
  MemPolicy mempolicy;
  // prestart/createRuntime hooks exist: after the mounts (before
  // createContainer hooks and pivot_root) the init sends a hooks_request
  // report and waits for the runtime to run them and answer one byte.
  bool parent_hooks = false;
  long personality = -1;               // personality(2) value, -1: leave
  bool has_seccomp = false;
  SeccompProgram seccomp;  // with notify(): the listener fd is sent over sync_fd
                           // ("seccomp" + SCM_RIGHTS), then one byte is awaited
  bool terminal = false;
  unsigned short rows = 0, cols = 0;
  int preserve_fds = 0;
  // The runtime binary's identity: the init refuses to execve it (directly,
  // through /proc/self/exe or as a #! interpreter), see exec_guard().
  dev_t self_dev = 0;
  ino_t self_ino = 0;
  sigset_t sigmask;  // restored before exec
  bool restore_sigmask = false;
  // Hooks that run inside the container's namespaces: createContainer
  // before pivot_root (path resolved on the host), startContainer after
  // `start`, just before execve (path resolved in the container). Their
  // stdin is hook_state_fd (a memfd the parent fills with the state JSON).
  std::vector<InitHook> create_container_hooks, start_container_hooks;
  int hook_state_fd = -1;

  // Point argv/envp at args/env and record the runtime binary's identity
  // (call after filling them, before clone).
  void finalize();
};

[[noreturn]] void init_main(const InitPlan& plan) noexcept;

// `exec`: a process joining a running container. Uses sync_fd, joins (all
// of the container's namespaces, user first; pid joined by the parent), cwd,
// args/env, identity, rlimits, caps, seccomp, no_new_privs, terminal +
// console_sock, preserve_fds, sigmask. Reports failures like init_main and
// nothing on success: the exec closes sync_fd.
[[noreturn]] void exec_main(const InitPlan& plan) noexcept;

// Human-readable message for a failure report ("exec: \"nope\": executable
// file not found in $PATH", "mount proc on /proc: operation not permitted").
std::string describe_init_failure(const InitReport& r, const InitPlan& plan);

}  // namespace berth::runtime
