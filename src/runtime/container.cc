#include "runtime/container.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>

#include "common/fs.h"
#include "common/strings.h"
#include "common/time.h"
#include "runtime/cgroup.h"
#include "runtime/child_sync.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "runtime/rootfs_plan.h"
#include "runtime/security.h"
#include "sys/path_in_root.h"
#include "sys/proc.h"
#include "sys/unix_socket.h"

namespace berth::runtime {

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Error invalid(std::string msg) { return make_error(Errc::invalid, std::move(msg)); }

int clone_flag(oci::NsType t) {
  switch (t) {
    case oci::NsType::pid: return CLONE_NEWPID;
    case oci::NsType::network: return CLONE_NEWNET;
    case oci::NsType::mount: return CLONE_NEWNS;
    case oci::NsType::ipc: return CLONE_NEWIPC;
    case oci::NsType::uts: return CLONE_NEWUTS;
    case oci::NsType::user: return CLONE_NEWUSER;
    case oci::NsType::cgroup: return CLONE_NEWCGROUP;
    case oci::NsType::time: return CLONE_NEWTIME;
  }
  return 0;
}


// Which namespace a sysctl belongs to; runc refuses host-global ones.
Status check_sysctl(const oci::Linux& lx, const std::string& key) {
  auto has_new = [&](oci::NsType t) {
    const auto* n = lx.find_ns(t);
    return n != nullptr;
  };
  auto e = [&](const std::string& why) { return invalid("linux.sysctl: \"" + key + "\": " + why); };
  static const std::set<std::string> ipc = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                            "kernel.sem", "kernel.shmall", "kernel.shmmax",
                                            "kernel.shmmni", "kernel.shm_rmid_forced"};
  if (ipc.count(key) || str::starts_with(key, "fs.mqueue.")) {
    if (!has_new(oci::NsType::ipc)) return e("requires an ipc namespace");
    return ok();
  }
  if (str::starts_with(key, "net.")) {
    if (!has_new(oci::NsType::network)) return e("requires a network namespace");
    return ok();
  }
  if (key == "kernel.hostname" || key == "kernel.domainname") {
    if (!has_new(oci::NsType::uts)) return e("requires a uts namespace");
    return ok();
  }
  return e("is not namespaced and cannot be set for a container");
}

Status check_supported(const oci::Spec& s) {
  if (!s.unsupported.empty()) {
    const std::string& f = s.unsupported.front();
    if (f == "process.apparmorProfile" && !host_has_apparmor())
      return invalid(f + ": AppArmor is not enabled on this host");
    if ((f == "process.selinuxLabel" || f == "linux.mountLabel") && !host_has_selinux())
      return invalid(f + ": SELinux is not enabled on this host");
    if (f == "linux.intelRdt" && ::access("/sys/fs/resctrl/schemata", F_OK) != 0)
      return invalid(f + ": Intel RDT (resctrl) is not available on this host: /sys/fs/resctrl is not mounted");
    return invalid(f + ": not supported by berth-runtime");
  }
  const auto& lx = *s.linux_spec;
  if (!lx.has_ns(oci::NsType::mount)) return invalid("linux.namespaces: a mount namespace is required");
  const auto* user = lx.find_ns(oci::NsType::user);
  const auto* pid = lx.find_ns(oci::NsType::pid);
  if (user && !user->path.empty() && pid && pid->path.empty())
    return invalid("linux.namespaces: joining a user namespace together with a new pid namespace is not supported");
  for (size_t i = 0; i < lx.namespaces.size(); ++i) {
    const auto& n = lx.namespaces[i];
    if (!n.path.empty() && n.type == oci::NsType::mount)
      return invalid("linux.namespaces[" + std::to_string(i) +
                     "].path: joining an existing mount namespace is not supported: the rootfs mounts and "
                     "pivot_root would be applied to a namespace the container does not own (the host's or "
                     "another container's)");
  }
  return ok();
}

void write_id_map(pid_t pid, const char* file, const std::vector<oci::IdMapping>& maps, Status* st) {
  std::string text;
  for (const auto& m : maps)
    text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) + "\n";
  std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    *st = sys_error(std::string("linux.") + (file[0] == 'u' ? "uidMappings" : "gidMappings") + ": write " + path);
}

uid_t map_to_host(const std::vector<oci::IdMapping>& maps, uint32_t id) {
  for (const auto& m : maps)
    if (id >= m.container_id && id - m.container_id < m.size) return m.host_id + (id - m.container_id);
  return id;
}

Result<bool> stat_is_dir(const std::string& p) {
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return sys_error("stat " + p);
  return S_ISDIR(st.st_mode);
}

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  ::nanosleep(&ts, nullptr);
}

// Send SIGKILL to a whole container and wait (bounded, 5 s) for its init
// to go. The wait is on a pidfd, which turns readable the moment the init
// exits (a zombie counts as gone, as in process_matches), not a 10 ms poll.
void kill_everything(const ContainerState& s, const std::vector<std::string>& cg_dirs) {
  UniqueFd pidfd;
  if (sys::process_matches(s.pid, s.start_time)) {
    pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0)));
    if (!pidfd) {
      ::kill(s.pid, SIGKILL);  // no pidfd (old kernel, no fds): signal and poll below
    } else if (sys::process_matches(s.pid, s.start_time)) {
      // Checked again once the pidfd pins the process: it is the init, not
      // a reuse of its pid, and the signal goes to exactly that process.
      (void)::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
    } else {
      pidfd.reset();  // gone meanwhile
    }
  }
  if (!cg_dirs.empty()) {
    if (auto pids = cgroup_pids(cg_dirs))
      for (pid_t p : *pids) ::kill(p, SIGKILL);
  }
  if (pidfd) {
    pollfd pfd{pidfd.get(), POLLIN, 0};
    for (int i = 0; i < 50; ++i) {  // EINTR-proof, 5 s in all
      int r = ::poll(&pfd, 1, 100);
      if (r > 0 || (r < 0 && errno != EINTR) || !sys::process_matches(s.pid, s.start_time)) break;
    }
    return;
  }
  for (int i = 0; i < 500 && sys::process_matches(s.pid, s.start_time); ++i) sleep_ms(i < 10 ? 1 : 10);
}

std::string state_for_hooks(const ContainerState& s, const char* status) {
  OrderedJson j = oci_state_json(s, ContainerStatus::running);
  j["status"] = status;
  return j.dump();
}

}  // namespace

Result<int> rlimit_resource(const std::string& name) {
  static const std::pair<const char*, int> table[] = {
      {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
  };
  for (const auto& [n, v] : table)
    if (name == n) return v;
  return make_error(Errc::invalid, "unknown rlimit type \"" + name + "\"");
}

Result<pid_t> Runtime::create(const CreateOptions& o) { return create_impl(o, nullptr, nullptr); }

Result<pid_t> Runtime::create_impl(const CreateOptions& o, const sigset_t* child_mask, ContainerState* created) {
  BERTH_TRY_VOID(validate_id(o.id));
  // ---- 1. Everything that can fail on bad input, before touching the host.
  char absbuf[PATH_MAX];
  if (!::realpath(o.bundle.c_str(), absbuf)) return sys_error("bundle " + o.bundle);
  const std::string bundle = absbuf;
  auto text = fs::read_file(bundle + "/config.json");
  if (!text) return std::move(text).error().wrap("config.json");
  // Parsed once: the spec, the seccomp cache key and the copy kept in state.
  auto cfg_json = parse_json(*text);
  if (!cfg_json) return invalid("config.json: invalid JSON: " + cfg_json.error().msg);
  auto parsed = oci::parse_spec_json(*cfg_json);
  if (!parsed) return std::move(parsed).error().wrap("config.json");
  oci::Spec spec = std::move(*parsed);
  if (auto v = oci::validate_spec(spec); !v) return std::move(v).error().wrap("config.json");
  if (auto v = check_supported(spec); !v) return std::move(v).error().wrap("config.json");
  const auto& lx = *spec.linux_spec;
  const auto& proc = *spec.process;

  std::string rootfs = spec.root.path[0] == '/' ? spec.root.path : bundle + "/" + spec.root.path;
  {
    auto d = stat_is_dir(rootfs);
    if (!d) return invalid("config.json: root.path: " + d.error().msg);
    if (!*d) return invalid("config.json: root.path: " + rootfs + " is not a directory");
    if (!::realpath(rootfs.c_str(), absbuf)) return sys_error("root.path " + rootfs);
    rootfs = absbuf;
  }
  if (proc.terminal && o.console_socket.empty())
    return invalid("process.terminal is true but no --console-socket was given");
  if (!proc.terminal && !o.console_socket.empty())
    return invalid("--console-socket given but process.terminal is false");

  const auto layout = BERTH_TRY(detect_host_cgroup_layout());
  const std::string cg_path = BERTH_TRY_CTX(resolve_cgroups_path(lx.cgroups_path ? &*lx.cgroups_path : nullptr, o.id), "config.json");
  Cgroup cgroup(layout, cg_path);
  if (lx.resources) BERTH_TRY_VOID(cgroup.check(*lx.resources).transform_error([](Error e) { return std::move(e).wrap("config.json"); }));

  InitPlan plan;
  const auto* user_ns = lx.find_ns(oci::NsType::user);
  bool new_user = user_ns && user_ns->path.empty();
  PlanInputs pin;
  pin.bundle = bundle;
  pin.rootfs = rootfs;
  pin.cgroups = &layout;
  pin.cgroup_path = cg_path;
  pin.can_mknod = !user_ns;
  const auto* net_ns = lx.find_ns(oci::NsType::network);
  // sysfs is mountable in any network namespace of the container's own,
  // new or joined by path (berthd's pinned sandboxes); only loopback
  // bring-up is for new ones.
  pin.new_netns = net_ns != nullptr;
  pin.source_is_dir = stat_is_dir;
  plan.rootfs = BERTH_TRY_CTX(plan_rootfs(spec, pin), "config.json");
  plan.no_pivot = o.no_pivot;
  plan.new_user = new_user;
  plan.new_net = net_ns && net_ns->path.empty();
  const auto* cg_ns = lx.find_ns(oci::NsType::cgroup);
  plan.new_cgroup = cg_ns && cg_ns->path.empty();
  plan.attach_during_mounts = !user_ns && !plan.new_cgroup;
  const auto* uts_ns = lx.find_ns(oci::NsType::uts);
  if (!spec.hostname.empty()) plan.hostname = spec.hostname;
  if (!spec.domainname.empty()) plan.domainname = spec.domainname;
  (void)uts_ns;
  for (const auto& [k, v] : lx.sysctl) {
    BERTH_TRY_CTX(check_sysctl(lx, k), "config.json");
    std::string path = "/proc/sys/" + k;
    for (size_t i = 10; i < path.size(); ++i)
      if (path[i] == '.') path[i] = '/';
    plan.sysctls.emplace_back(path, v);
  }
  plan.cwd = proc.cwd;
  plan.args = proc.args;
  plan.env = proc.env;
  plan.path_env = kDefaultPath;
  for (const auto& e : proc.env)
    if (str::starts_with(e, "PATH=")) plan.path_env = e.substr(5);
  plan.uid = proc.user.uid;
  plan.gid = proc.user.gid;
  plan.groups.assign(proc.user.additional_gids.begin(), proc.user.additional_gids.end());
  if (proc.user.umask) plan.umask = static_cast<mode_t>(*proc.user.umask & 0777);
  for (size_t i = 0; i < proc.rlimits.size(); ++i) {
    const auto& r = proc.rlimits[i];
    int res = BERTH_TRY_CTX(rlimit_resource(r.type), "config.json: process.rlimits[" + std::to_string(i) + "].type");
    if (r.soft > r.hard)
      return invalid("config.json: process.rlimits[" + std::to_string(i) + "]: soft limit exceeds hard limit");
    plan.rlimits.push_back({res, rlimit{r.soft, r.hard}});
  }
  if (proc.capabilities) {
    plan.has_caps = true;
    plan.caps = BERTH_TRY_CTX(resolve_capabilities(*proc.capabilities), "config.json");
  }
  plan.no_new_privs = proc.no_new_privileges;
  if (proc.io_priority) plan.io_priority = (proc.io_priority->io_class << 13) | proc.io_priority->priority;
  if (lx.personality) plan.personality = static_cast<long>(*lx.personality);
  if (proc.scheduler) {
    plan.has_sched = true;
    plan.sched = BERTH_TRY_CTX(resolve_scheduler(*proc.scheduler, "process.scheduler"), "config.json");
  }
  // process.execCPUAffinity is for exec'd processes only (OCI spec: "not
  // applicable to the container's init process"); it is still validated.
  if (proc.exec_cpu_affinity) {
    if (!proc.exec_cpu_affinity->initial.empty())
      BERTH_TRY_CTX(parse_cpu_list(proc.exec_cpu_affinity->initial, "process.execCPUAffinity.initial"), "config.json");
    if (!proc.exec_cpu_affinity->final_cpus.empty())
      BERTH_TRY_CTX(parse_cpu_list(proc.exec_cpu_affinity->final_cpus, "process.execCPUAffinity.final"), "config.json");
  }
  if (lx.memory_policy) {
    plan.has_mempolicy = true;
    plan.mempolicy = BERTH_TRY_CTX(resolve_memory_policy(*lx.memory_policy), "config.json");
  }
  plan.parent_hooks = !spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty();
  if (lx.seccomp) {
    plan.has_seccomp = true;
    std::string key;
    if (cfg_json->contains("linux") && (*cfg_json)["linux"].contains("seccomp"))
      key = (*cfg_json)["linux"]["seccomp"].dump();
    plan.seccomp = BERTH_TRY_CTX(key.empty() ? compile_seccomp(*lx.seccomp)
                                             : compile_seccomp_cached(*lx.seccomp, key, dir_.root() + "/.seccomp"),
                                 "config.json");
  }
  // The parsed tree has served (spec, seccomp cache key): free it now. Freed
  // after the clone, every page of it the init still shares would be copied
  // for the frees' writes, one fault each.
  *cfg_json = Json();
  plan.terminal = proc.terminal;
  if (proc.console_size) {
    plan.rows = static_cast<unsigned short>(proc.console_size->height);
    plan.cols = static_cast<unsigned short>(proc.console_size->width);
  }
  plan.preserve_fds = o.preserve_fds;
  if (child_mask) {
    plan.sigmask = *child_mask;
    plan.restore_sigmask = true;
  }
  auto init_hooks = [](const std::vector<oci::Hook>& hs) {
    std::vector<InitHook> out;
    for (const auto& h : hs) {
      InitHook ih;
      ih.path = h.path;
      ih.args = h.args;
      ih.env = h.env;
      ih.timeout_s = h.timeout.value_or(0);
      out.push_back(std::move(ih));
    }
    return out;
  };
  plan.create_container_hooks = init_hooks(spec.hooks.create_container);
  plan.start_container_hooks = init_hooks(spec.hooks.start_container);
  UniqueFd hook_state;
  if (!plan.create_container_hooks.empty() || !plan.start_container_hooks.empty()) {
    hook_state.reset(::memfd_create("berth-hook-state", MFD_CLOEXEC));
    if (!hook_state) return sys_error("memfd_create");
    plan.hook_state_fd = hook_state.get();
  }
  plan.finalize();

  // Namespaces to join: opened now, entered by the child (pid by us).
  std::vector<UniqueFd> ns_fds;
  UniqueFd join_pid;
  unsigned long clone_flags = 0;
  for (const auto& n : lx.namespaces) {
    if (n.path.empty()) {
      // cgroup: unshared by the init once in its cgroup; time: unshared
      // by us below so the offsets are written before the init enters it.
      if (n.type != oci::NsType::cgroup && n.type != oci::NsType::time)
        clone_flags |= static_cast<unsigned long>(clone_flag(n.type));
      continue;
    }
    UniqueFd fd(::open(n.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return sys_error("config.json: linux.namespaces: open " + n.path);
    if (n.type == oci::NsType::pid) {
      join_pid = std::move(fd);
      continue;
    }
    NsJoin j{fd.get(), clone_flag(n.type)};
    if (n.type == oci::NsType::user)
      plan.joins.insert(plan.joins.begin(), j);
    else
      plan.joins.push_back(j);
    ns_fds.push_back(std::move(fd));
  }
  (void)ns_fds;

  // ---- 2. Host state: state dir, fifo, cgroup. Rolled back on failure.
  BERTH_TRY_VOID(fs::mkdir_p(dir_.root(), 0700));
  const std::string sdir = dir_.dir(o.id);
  if (::mkdir(sdir.c_str(), 0711) != 0) {
    if (errno == EEXIST) return make_error(Errc::conflict, "container with id exists: " + o.id);
    return sys_error("mkdir " + sdir);
  }
  ScopeExit rm_state([&] { (void)fs::remove_all(sdir); });
  const std::string fifo = dir_.fifo(o.id);
  mode_t old = ::umask(0);
  int mk = ::mkfifo(fifo.c_str(), 0622);
  ::umask(old);
  if (mk != 0) return sys_error("mkfifo " + fifo);
  UniqueFd fifo_fd(::open(fifo.c_str(), O_PATH | O_CLOEXEC));
  if (!fifo_fd) return sys_error("open " + fifo);
  plan.fifo_fd = fifo_fd.get();

  BERTH_TRY_VOID(cgroup.create());
  ScopeExit rm_cgroup([&] { (void)cgroup.destroy(); });
  if (lx.resources) BERTH_TRY_VOID(cgroup.apply(with_default_devices(*lx.resources)));

  UniqueFd console;
  if (proc.terminal) {
    console = BERTH_TRY_CTX(sys::connect_unix(o.console_socket), "--console-socket");
    plan.console_sock = console.get();
  }
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) return sys_error("socketpair");
  UniqueFd parent_sock(sp[0]), child_sock(sp[1]);
  plan.sync_fd = child_sock.get();

  ContainerState st;
  st.id = o.id;
  st.bundle = bundle;
  st.rootfs = rootfs;
  st.created = timeutil::rfc3339_nano(timeutil::now_unix_nano());
  st.annotations = spec.annotations;
  st.cgroup_path = cg_path;
  st.cgroup_dirs = cgroup.dirs();
  st.own_pid_ns = lx.has_ns(oci::NsType::pid);
  st.poststart = spec.hooks.poststart;
  st.poststop = spec.hooks.poststop;

  if (new_user) {
    // The init runs as the mapped root, which usually cannot write the
    // host-owned rootfs: create missing mount points for it now (confined to
    // the rootfs). Failures surface as the init's mount errors.
    UniqueFd rfd(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    for (const auto& step : plan.rootfs.steps) {
      if (!rfd || step.kind == StepKind::mknod || step.kind == StepKind::symlink) continue;
      bool under_dev = str::starts_with(step.target, "/dev/");
      if (under_dev) continue;  // created inside the container's own /dev tmpfs
      int fd = sys::create_in_root(rfd.get(), step.target.c_str(),
                                   step.target_is_dir && step.kind != StepKind::bind_device);
      if (fd >= 0) ::close(fd);
    }
  }

  // ---- 3. clone the init.
  if (join_pid && ::setns(join_pid.get(), CLONE_NEWPID) != 0)
    return sys_error("config.json: linux.namespaces: setns pid");
  // A new time namespace: unshared for our children only, its offsets
  // written while no process is in it yet, entered by the init at clone;
  // then we point our children back at our own (hooks run on host time).
  UniqueFd host_timens;
  const auto* time_ns = lx.find_ns(oci::NsType::time);
  if (time_ns && time_ns->path.empty()) {
    host_timens.reset(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
    if (!host_timens) return sys_error("linux.namespaces: open /proc/self/ns/time_for_children");
    if (::unshare(CLONE_NEWTIME) != 0) return sys_error("linux.namespaces: unshare time namespace");
    std::string offs = timens_offsets_text(lx.time_offsets);
    if (!offs.empty()) {
      UniqueFd ofd(::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC));
      if (!ofd || ::write(ofd.get(), offs.data(), offs.size()) != static_cast<ssize_t>(offs.size())) {
        Error e = sys_error("linux.timeOffsets: write /proc/self/timens_offsets");
        (void)::setns(host_timens.get(), CLONE_NEWTIME);
        return e;
      }
    }
  }
  clone_args ca{};
  ca.flags = clone_flags;
  ca.exit_signal = SIGCHLD;
  long cpid = ::syscall(SYS_clone3, &ca, sizeof ca);
  if (cpid == 0) {
    parent_sock.release();  // leave the fd alone; it is close-on-exec
    init_main(plan);
  }
  if (host_timens && ::setns(host_timens.get(), CLONE_NEWTIME) != 0 && cpid > 0) {
    Error e = sys_error("linux.namespaces: leave the container's time namespace");
    ::kill(static_cast<pid_t>(cpid), SIGKILL);
    ::waitpid(static_cast<pid_t>(cpid), nullptr, 0);
    return e;
  }
  if (cpid < 0) return sys_error("clone3");
  const pid_t pid = static_cast<pid_t>(cpid);
  child_sock.reset();
  ScopeExit kill_child([&] {
    ::kill(pid, SIGKILL);
    int ws;
    ::waitpid(pid, &ws, 0);
  });

  Status setup;
  setup = cgroup.add_pid(pid);
  if (setup && new_user) {
    write_id_map(pid, "uid_map", lx.uid_mappings, &setup);
    if (setup) write_id_map(pid, "gid_map", lx.gid_mappings, &setup);
  }
  if (setup && proc.oom_score_adj) {
    std::string p = "/proc/" + std::to_string(pid) + "/oom_score_adj";
    UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CLOEXEC));
    std::string v = std::to_string(*proc.oom_score_adj);
    if (!fd || ::write(fd.get(), v.data(), v.size()) != static_cast<ssize_t>(v.size()))
      setup = sys_error("process.oomScoreAdj: write " + p);
  }
  if (!setup && plan.attach_during_mounts) {
    // The init mounts meanwhile: one that failed (and exited, hence the
    // failed attach) has left its report, which names the real cause.
    pollfd pf{parent_sock.get(), POLLIN, 0};
    if (::poll(&pf, 1, 0) == 1) {
      ChildMsg m = recv_child_msg(parent_sock.get());
      if (m.kind == ChildMsg::report && m.rep.step != InitStep::ready && m.rep.step != InitStep::hooks_request)
        return invalid(describe_init_failure(m.rep, plan));
    }
  }
  if (!setup) return std::move(setup).error();
  st.pid = pid;
  if (setup && hook_state) {
    // The in-container hooks read the state (with the init's host pid) on stdin.
    std::string sj = state_for_hooks(st, "created");
    if (::pwrite(hook_state.get(), sj.data(), sj.size(), 0) != static_cast<ssize_t>(sj.size()))
      setup = sys_error("write hook state");
  }
  if (!setup) return std::move(setup).error();
  // MSG_NOSIGNAL: an init that already died must not SIGPIPE the runtime.
  // One that failed a mount before this go (attach_during_mounts) has left
  // its report: EPIPE falls through to reading it.
  if (::send(parent_sock.get(), "g", 1, MSG_NOSIGNAL) != 1 && errno != EPIPE && errno != ECONNRESET)
    return sys_error("start init");
  // While the init mounts and pivots: the stored config (the bytes read
  // from the bundle, not a re-dump) and the init's start time (fixed at
  // clone), so that only the small state.json is left once it is ready.
  BERTH_TRY_VOID(dir_.create_config_text(o.id, *text));
  {
    auto ps = sys::read_proc_stat(pid);
    if (!ps) return std::move(ps).error().wrap("read init start time");
    st.start_time = ps->start_time;
  }

  // The init's requests until it is ready: run the prestart/createRuntime
  // hooks (its namespaces and mounts exist, pivot_root not done yet), take
  // a seccomp notify listener to the agent. Each is answered with one byte.
  InitReport rep;
  for (;;) {
    ChildMsg m = recv_child_msg(parent_sock.get());
    if (m.kind == ChildMsg::listener) {
      OrderedJson sj = oci_state_json(st, ContainerStatus::running);
      sj["status"] = "creating";
      BERTH_TRY_VOID(deliver_seccomp_listener(*lx.seccomp, m.fd.get(), pid, sj));
      m.fd.reset();
      if (::send(parent_sock.get(), "g", 1, MSG_NOSIGNAL) != 1) return sys_error("resume init");
      continue;
    }
    if (m.kind != ChildMsg::report) {
      int ws = 0;
      ::waitpid(pid, &ws, 0);
      kill_child.dismiss();
      return make_error(Errc::internal, "container init exited during setup");
    }
    if (m.rep.step == InitStep::hooks_request) {
      std::string sj = state_for_hooks(st, "creating");
      BERTH_TRY_VOID(run_hooks(spec.hooks.prestart, "hooks.prestart", sj));
      BERTH_TRY_VOID(run_hooks(spec.hooks.create_runtime, "hooks.createRuntime", sj));
      if (::send(parent_sock.get(), "g", 1, MSG_NOSIGNAL) != 1) return sys_error("resume init");
      continue;
    }
    rep = m.rep;
    break;
  }
  if (rep.step != InitStep::ready) return invalid(describe_init_failure(rep, plan));

  BERTH_TRY_VOID(dir_.save(st));
  if (!o.pid_file.empty())
    BERTH_TRY_VOID(fs::write_file_atomic(o.pid_file, std::to_string(pid), fs::Durability::none, 0644));
  kill_child.dismiss();
  rm_cgroup.dismiss();
  rm_state.dismiss();
  (void)map_to_host;
  if (created) *created = std::move(st);
  return pid;
}

Status Runtime::start(const std::string& id) {
  ContainerState s = BERTH_TRY(dir_.load(id));
  ContainerStatus status = current_status(dir_, s);
  if (status == ContainerStatus::stopped) return make_error(Errc::conflict, "cannot start a container that has stopped");
  if (status != ContainerStatus::created) return make_error(Errc::conflict, "cannot start an already running container");
  return start_created(s);
}

Status Runtime::start_created(const ContainerState& s) {
  const std::string& id = s.id;
  const std::string fifo = dir_.fifo(id);
  UniqueFd fd(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return sys_error("open " + fifo);
  for (;;) {
    pollfd pfd{fd.get(), POLLIN, 0};
    int r = ::poll(&pfd, 1, 100);
    if (r < 0 && errno != EINTR) return sys_error("poll exec fifo");
    if (r > 0) {
      char c;
      ssize_t n = ::read(fd.get(), &c, 1);
      if (n == 1) break;
      if (n == 0) return make_error(Errc::internal, "container init exited before start");
      if (errno != EAGAIN && errno != EINTR) return sys_error("read exec fifo");
    }
    if (!sys::process_matches(s.pid, s.start_time))
      return make_error(Errc::conflict, "cannot start a container that has stopped");
  }
  ::unlink(fifo.c_str());
  if (!s.poststart.empty()) (void)run_hooks(s.poststart, "hooks.poststart", state_for_hooks(s, "running"));
  return ok();
}

Result<OrderedJson> Runtime::state(const std::string& id) const {
  ContainerState s = BERTH_TRY(dir_.load(id));
  return oci_state_json(s, current_status(dir_, s));
}

Status Runtime::kill(const std::string& id, int sig, bool all) {
  ContainerState s = BERTH_TRY(dir_.load(id));
  // As runc: --all also reaches leftovers of a stopped container (its
  // cgroup still exists until delete); a single-pid kill of a stopped one
  // is refused so a reused pid is never signalled.
  if (current_status(dir_, s) == ContainerStatus::stopped && !all)
    return make_error(Errc::conflict, "container not running");
  if (all) {
    std::vector<std::string> dirs = s.cgroup_dirs;  // recorded at create
    if (dirs.empty()) {
      auto layout = BERTH_TRY(detect_host_cgroup_layout());
      dirs = Cgroup(layout, s.cgroup_path).dirs();
    }
    auto pids = BERTH_TRY(cgroup_pids(dirs));
    for (pid_t p : pids) ::kill(p, sig);
    return ok();
  }
  if (::kill(s.pid, sig) != 0) return sys_error("kill");
  return ok();
}

Status Runtime::destroy(const ContainerState& s) {
  // The cgroup's directories as create recorded them: delete needs no
  // mountinfo scan. A state without them (older runtime) is resolved from
  // the host layout; so is the freezer when the cgroup is frozen.
  std::vector<std::string> dirs = s.cgroup_dirs;
  auto host_cgroup = [&]() -> std::optional<Cgroup> {
    auto layout = detect_host_cgroup_layout();
    if (!layout) return std::nullopt;
    return Cgroup(*layout, s.cgroup_path);
  };
  if (dirs.empty() && !s.cgroup_path.empty())
    if (auto cg = host_cgroup()) dirs = cg->dirs();
  if (!dirs.empty() && cgroup_frozen(dirs)) {
    // Frozen (v1) tasks do not die until thawed: queue SIGKILL, then thaw.
    if (auto pids = cgroup_pids(dirs))
      for (pid_t p : *pids) ::kill(p, SIGKILL);
    if (auto cg = host_cgroup()) (void)cg->set_frozen(false);
  }
  kill_everything(s, dirs);
  if (!dirs.empty()) {
    // Stragglers of a container without its own pid namespace.
    if (auto pids = cgroup_pids(dirs); pids && !pids->empty()) {
      for (pid_t p : *pids) ::kill(p, SIGKILL);
      for (int i = 0; i < 210; ++i) {
        auto left = cgroup_pids(dirs);
        if (!left || left->empty()) break;
        sleep_ms(i < 10 ? 1 : 10);
      }
    }
    BERTH_TRY_VOID(remove_cgroup_dirs(dirs));
  }
  if (!s.poststop.empty()) (void)run_hooks(s.poststop, "hooks.poststop", state_for_hooks(s, "stopped"));
  return dir_.remove(s.id);
}

Status Runtime::remove(const std::string& id, bool force) {
  auto s = dir_.load(id);
  if (!s) {
    if (force && s.error().kind == Errc::not_found) {
      (void)dir_.remove(id);  // a half-written state dir
      return ok();
    }
    return std::move(s).error();
  }
  ContainerStatus status = current_status(dir_, *s);
  if ((status == ContainerStatus::running || status == ContainerStatus::paused) && !force)
    return make_error(Errc::conflict,
                      "cannot delete container " + id + " that is not stopped: " + status_name(status));
  return destroy(*s);
}

Result<std::vector<ListEntry>> Runtime::list() const {
  std::vector<ListEntry> out;
  for (const auto& id : dir_.ids()) {
    auto s = dir_.load(id);
    if (!s) continue;
    ContainerStatus st = current_status(dir_, *s);
    out.push_back({std::move(*s), st});
  }
  return out;
}

Result<int> Runtime::run(const CreateOptions& o, bool detach) {
  // create hands over the state it saved: start needs neither to read it
  // back nor to check the status of the container it has just created.
  ContainerState created;
  if (detach) {
    BERTH_TRY(create_impl(o, nullptr, &created));
    if (auto s = start_created(created); !s) {
      (void)remove(o.id, true);
      return std::move(s).error();
    }
    return 0;
  }
  // Foreground: block the signals we forward, let the init restore the mask.
  sigset_t fwd, old;
  sigemptyset(&fwd);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD})
    sigaddset(&fwd, sig);
  ::sigprocmask(SIG_BLOCK, &fwd, &old);
  ScopeExit restore([&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); });
  pid_t pid = BERTH_TRY(create_impl(o, &old, &created));
  if (auto s = start_created(created); !s) {
    (void)remove(o.id, true);
    return std::move(s).error();
  }
  UniqueFd sfd(::signalfd(-1, &fwd, SFD_CLOEXEC));
  if (!sfd) return sys_error("signalfd");
  int code = 0;
  for (;;) {
    int ws = 0;
    pid_t r = ::waitpid(pid, &ws, WNOHANG);
    if (r == pid) {
      code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
      break;
    }
    if (r < 0 && errno != EINTR) return sys_error("waitpid");
    signalfd_siginfo si;
    ssize_t n = ::read(sfd.get(), &si, sizeof si);
    if (n != static_cast<ssize_t>(sizeof si)) continue;
    if (si.ssi_signo != SIGCHLD) ::kill(pid, static_cast<int>(si.ssi_signo));
  }
  // Reap anything else reparented to us, then clean up like runc does.
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  BERTH_TRY_VOID(destroy(created));
  return code;
}

OrderedJson default_spec(bool terminal) {
  OrderedJson caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  OrderedJson j;
  j["ociVersion"] = "1.0.2";
  j["process"] = {{"terminal", terminal},
                  {"user", {{"uid", 0}, {"gid", 0}}},
                  {"args", terminal ? OrderedJson{"sh"} : OrderedJson{"sh"}},
                  {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
                  {"cwd", "/"},
                  {"capabilities",
                   {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
                  {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
                  {"noNewPrivileges", true}};
  j["root"] = {{"path", "rootfs"}, {"readonly", true}};
  j["hostname"] = "berth";
  j["mounts"] = {
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
      {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"},
       {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"},
       {"options", {"nosuid", "noexec", "nodev", "ro"}}},
      {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"},
       {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}},
  };
  j["linux"] = {
      {"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
      {"namespaces",
       {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}},
        {{"type", "cgroup"}}}},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
      {"readonlyPaths",
       {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  return j;
}

}  // namespace berth::runtime
