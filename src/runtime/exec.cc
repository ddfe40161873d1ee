// `exec`: start another process inside a running container, as runc does:
// the process joins every namespace of the container's init (opened from
// /proc/PID/ns, pid namespace entered by this process before clone), is put
// in the container's cgroup before it runs anything, and gets the same
// identity/caps/seccomp/rlimit treatment as the init.
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "common/fs.h"
#include "common/strings.h"
#include "runtime/cgroup.h"
#include "runtime/child_sync.h"
#include "runtime/container.h"
#include "runtime/init.h"
#include "sys/proc.h"
#include "sys/unix_socket.h"

namespace berth::runtime {

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Error invalid(std::string msg) { return make_error(Errc::invalid, std::move(msg)); }

// "uid" or "uid:gid" (runc's --user).
Status parse_user_flag(const std::string& u, oci::User* out) {
  auto parts = str::split(u, ':');
  if (parts.empty() || parts.size() > 2) return invalid("--user: expected UID[:GID], got \"" + u + "\"");
  auto uid = str::parse_int(parts[0]);
  if (!uid || *uid < 0 || *uid > UINT32_MAX) return invalid("--user: invalid uid \"" + parts[0] + "\"");
  out->uid = static_cast<uint32_t>(*uid);
  if (parts.size() == 2) {
    auto gid = str::parse_int(parts[1]);
    if (!gid || *gid < 0 || *gid > UINT32_MAX) return invalid("--user: invalid gid \"" + parts[1] + "\"");
    out->gid = static_cast<uint32_t>(*gid);
  }
  return ok();
}

// The process to run: --process FILE, or the container's process with the
// flags applied (runc's getProcess).
Result<oci::Process> exec_process(const ExecOptions& o, const oci::Spec& spec) {
  if (!o.process_file.empty()) {
    auto t = fs::read_file(o.process_file == "-" ? "/dev/stdin" : o.process_file);
    if (!t) return std::move(t).error().wrap("--process");
    std::string text = std::move(*t);
    auto j = parse_json(text);
    if (!j) return invalid("--process " + o.process_file + ": invalid JSON");
    return oci::parse_process_json(*j);
  }
  if (!spec.process) return invalid("the container has no process to base exec on");
  oci::Process p = *spec.process;
  if (o.args.empty()) return invalid("exec: arguments are required (or use --process)");
  p.args = o.args;
  if (!o.cwd.empty()) p.cwd = o.cwd;
  if (p.cwd.empty() || p.cwd[0] != '/') return invalid("--cwd: must be an absolute path");
  for (const auto& c : o.caps) {
    if (!p.capabilities) p.capabilities.emplace();
    p.capabilities->bounding.push_back(c);
    p.capabilities->effective.push_back(c);
    p.capabilities->permitted.push_back(c);
    p.capabilities->ambient.push_back(c);
  }
  p.env.insert(p.env.end(), o.env.begin(), o.env.end());
  p.terminal = o.tty;
  if (o.no_new_privs) p.no_new_privileges = *o.no_new_privs;
  if (!o.user.empty()) {
    oci::User u;
    BERTH_TRY_VOID(parse_user_flag(o.user, &u));
    p.user.uid = u.uid;
    p.user.gid = u.gid;
    p.user.additional_gids.clear();
  }
  for (uint32_t g : o.additional_gids) p.user.additional_gids.push_back(g);
  return p;
}

struct NsFile {
  const char* name;
  int flag;
};
// Join order: user first (it grants the rights for the others), mount last
// (it changes our root, and the other /proc paths are opened already).
constexpr NsFile kNamespaces[] = {{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},
                                  {"net", CLONE_NEWNET},   {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
                                  {"mnt", CLONE_NEWNS}};

bool same_ns(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

int wait_forwarding(pid_t pid, const sigset_t& fwd, int sfd);

Result<int> Runtime::exec(const ExecOptions& o) {
  ContainerState s = BERTH_TRY(dir_.load(o.id));
  ContainerStatus status = current_status(dir_, s);
  if (status == ContainerStatus::stopped) return make_error(Errc::conflict, "cannot exec in a stopped container");
  if (status == ContainerStatus::paused) return make_error(Errc::conflict, "cannot exec in a paused container");
  BERTH_TRY_VOID(dir_.load_config(s));
  auto spec_r = oci::parse_spec_json(s.config);
  if (!spec_r) return std::move(spec_r).error().wrap("stored config");
  const oci::Spec& spec = *spec_r;
  oci::Process proc = BERTH_TRY(exec_process(o, spec));
  if (proc.terminal && o.console_socket.empty())
    return invalid("process.terminal is true but no --console-socket was given");
  if (!proc.terminal && !o.console_socket.empty())
    return invalid("--console-socket given but process.terminal is false");

  InitPlan plan;
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
    int res = BERTH_TRY_CTX(rlimit_resource(r.type), "process.rlimits[" + std::to_string(i) + "].type");
    if (r.soft > r.hard) return invalid("process.rlimits[" + std::to_string(i) + "]: soft limit exceeds hard limit");
    plan.rlimits.push_back({res, rlimit{r.soft, r.hard}});
  }
  if (proc.capabilities) {
    plan.has_caps = true;
    plan.caps = BERTH_TRY(resolve_capabilities(*proc.capabilities));
  }
  plan.no_new_privs = proc.no_new_privileges;
  if (proc.io_priority) plan.io_priority = (proc.io_priority->io_class << 13) | proc.io_priority->priority;
  if (spec.linux_spec && spec.linux_spec->personality) plan.personality = static_cast<long>(*spec.linux_spec->personality);
  if (proc.scheduler) {
    plan.has_sched = true;
    plan.sched = BERTH_TRY(resolve_scheduler(*proc.scheduler, "process.scheduler"));
  }
  std::optional<cpu_set_t> initial_affinity;
  if (proc.exec_cpu_affinity) {
    if (!proc.exec_cpu_affinity->initial.empty())
      initial_affinity = BERTH_TRY(parse_cpu_list(proc.exec_cpu_affinity->initial, "process.execCPUAffinity.initial"));
    if (!proc.exec_cpu_affinity->final_cpus.empty()) {
      plan.final_affinity = BERTH_TRY(parse_cpu_list(proc.exec_cpu_affinity->final_cpus, "process.execCPUAffinity.final"));
      plan.has_final_affinity = true;
    }
  }
  if (spec.linux_spec && spec.linux_spec->memory_policy) {
    plan.has_mempolicy = true;
    plan.mempolicy = BERTH_TRY(resolve_memory_policy(*spec.linux_spec->memory_policy));
  }
  if (spec.linux_spec && spec.linux_spec->seccomp) {
    plan.has_seccomp = true;
    plan.seccomp = BERTH_TRY_CTX(compile_seccomp_cached(*spec.linux_spec->seccomp, s.config["linux"]["seccomp"].dump(),
                                                        dir_.root() + "/.seccomp"),
                                 "linux.seccomp");
  }
  plan.terminal = proc.terminal;
  if (proc.console_size) {
    plan.rows = static_cast<unsigned short>(proc.console_size->height);
    plan.cols = static_cast<unsigned short>(proc.console_size->width);
  }
  plan.preserve_fds = o.preserve_fds;

  // The container's namespaces, opened while the init is known alive.
  const std::string ns_dir = "/proc/" + std::to_string(s.pid) + "/ns/";
  std::vector<UniqueFd> ns_fds;
  for (const auto& n : kNamespaces) {
    std::string target = ns_dir + n.name;
    if (same_ns(target, std::string("/proc/self/ns/") + n.name)) continue;
    UniqueFd fd(::open(target.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) continue;  // namespace type absent from this kernel
      return sys_error("open " + target);
    }
    plan.joins.push_back(NsJoin{fd.get(), n.flag});
    ns_fds.push_back(std::move(fd));
  }
  UniqueFd pid_ns;
  if (!same_ns(ns_dir + "pid", "/proc/self/ns/pid")) {
    pid_ns.reset(::open((ns_dir + "pid").c_str(), O_RDONLY | O_CLOEXEC));
    if (!pid_ns) return sys_error("open " + ns_dir + "pid");
  }
  // Identity re-check: the fds above must belong to this container's init.
  if (!sys::process_matches(s.pid, s.start_time)) return make_error(Errc::conflict, "cannot exec in a stopped container");

  UniqueFd console;
  if (proc.terminal) {
    console = BERTH_TRY_CTX(sys::connect_unix(o.console_socket), "--console-socket");
    plan.console_sock = console.get();
  }
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) return sys_error("socketpair");
  UniqueFd parent_sock(sp[0]), child_sock(sp[1]);
  plan.sync_fd = child_sock.get();

  sigset_t fwd, old;
  sigemptyset(&fwd);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD}) sigaddset(&fwd, sig);
  if (!o.detach) {
    ::sigprocmask(SIG_BLOCK, &fwd, &old);
    plan.sigmask = old;
    plan.restore_sigmask = true;
  }
  ScopeExit restore([&] {
    if (!o.detach) ::sigprocmask(SIG_SETMASK, &old, nullptr);
  });
  plan.finalize();

  if (pid_ns && ::setns(pid_ns.get(), CLONE_NEWPID) != 0) return sys_error("setns pid namespace");
  clone_args ca{};
  ca.exit_signal = SIGCHLD;
  long cpid = ::syscall(SYS_clone3, &ca, sizeof ca);
  if (cpid < 0) return sys_error("clone3");
  if (cpid == 0) {
    parent_sock.release();
    exec_main(plan);
  }
  const pid_t pid = static_cast<pid_t>(cpid);
  child_sock.reset();
  ScopeExit kill_child([&] {
    ::kill(pid, SIGKILL);
    int ws;
    ::waitpid(pid, &ws, 0);
  });

  // execCPUAffinity.initial: while the process is still outside the
  // container's cgroup (joining a v1 cpuset resets it; .final comes after).
  if (initial_affinity && ::sched_setaffinity(pid, sizeof *initial_affinity, &*initial_affinity) != 0)
    return sys_error("process.execCPUAffinity.initial: sched_setaffinity");
  if (!s.cgroup_path.empty()) {
    auto layout = BERTH_TRY(detect_host_cgroup_layout());
    Cgroup cg(layout, s.cgroup_path);
    BERTH_TRY_VOID(cg.add_pid(pid).transform_error([](Error e) { return std::move(e).wrap("join the container's cgroup"); }));
  }
  if (proc.oom_score_adj) {
    std::string p = "/proc/" + std::to_string(pid) + "/oom_score_adj";
    std::string v = std::to_string(*proc.oom_score_adj);
    UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || ::write(fd.get(), v.data(), v.size()) != static_cast<ssize_t>(v.size()))
      return sys_error("process.oomScoreAdj: write " + p);
  }
  if (::send(parent_sock.get(), "g", 1, MSG_NOSIGNAL) != 1) return sys_error("start exec process");
  for (;;) {
    ChildMsg m = recv_child_msg(parent_sock.get());
    if (m.kind == ChildMsg::listener) {
      OrderedJson sj = oci_state_json(s, ContainerStatus::running);
      BERTH_TRY_VOID(deliver_seccomp_listener(*spec.linux_spec->seccomp, m.fd.get(), pid, sj));
      m.fd.reset();
      if (::send(parent_sock.get(), "g", 1, MSG_NOSIGNAL) != 1) return sys_error("resume exec process");
      continue;
    }
    if (m.kind == ChildMsg::report) return invalid(describe_init_failure(m.rep, plan));
    if (m.kind != ChildMsg::eof) return make_error(Errc::internal, "exec: lost contact with the new process");
    break;
  }
  // EOF: execve closed the socket (or the process died, which wait shows).
  kill_child.dismiss();
  if (!o.pid_file.empty())
    BERTH_TRY_VOID(fs::write_file_atomic(o.pid_file, std::to_string(pid), fs::Durability::none, 0644));
  if (o.detach) return 0;
  UniqueFd sfd(::signalfd(-1, &fwd, SFD_CLOEXEC));
  if (!sfd) return sys_error("signalfd");
  return wait_forwarding(pid, fwd, sfd.get());
}

// Wait for `pid`, forwarding the signals of `fwd` (read from signalfd
// `sfd`) to it; returns its exit code (128+signal when killed).
int wait_forwarding(pid_t pid, const sigset_t& fwd, int sfd) {
  (void)fwd;
  for (;;) {
    int ws = 0;
    pid_t r = ::waitpid(pid, &ws, WNOHANG);
    if (r == pid) return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    if (r < 0 && errno != EINTR) return 255;
    signalfd_siginfo si;
    ssize_t n = ::read(sfd, &si, sizeof si);
    if (n != static_cast<ssize_t>(sizeof si)) continue;
    if (si.ssi_signo != SIGCHLD) ::kill(pid, static_cast<int>(si.ssi_signo));
  }
}

}  // namespace berth::runtime
