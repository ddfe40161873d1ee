#include "runtime/init.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

#include "sys/path_in_root.h"
#include "sys/unix_socket.h"

namespace berth::runtime {

void InitPlan::finalize() {
  argv.clear();
  envp.clear();
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  for (auto* hooks : {&create_container_hooks, &start_container_hooks}) {
    for (auto& h : *hooks) {
      h.argv.clear();
      h.envp.clear();
      if (h.args.empty()) h.args.push_back(h.path);
      for (auto& a : h.args) h.argv.push_back(a.data());
      h.argv.push_back(nullptr);
      for (auto& e : h.env) h.envp.push_back(e.data());
      h.envp.push_back(nullptr);
    }
  }
  struct stat st;
  if (::stat("/proc/self/exe", &st) == 0) {
    self_dev = st.st_dev;
    self_ino = st.st_ino;
  }
}

namespace {

// ---- everything below runs in the cloned child: syscalls only ----

[[noreturn]] void fail(const InitPlan& p, InitStep step, int index = -1, int err = errno) {
  InitReport r{step, err, index};
  // MSG_NOSIGNAL: after `start` the runtime may be gone; no SIGPIPE.
  (void)!::send(p.sync_fd, &r, sizeof r, MSG_NOSIGNAL);
  ::_exit(1);
}

// "/proc/self/fd/<fd>" into buf.
const char* fd_path(char (&buf)[64], int fd) {
  static const char prefix[] = "/proc/self/fd/";
  std::memcpy(buf, prefix, sizeof prefix - 1);
  char digits[16];
  int n = 0;
  unsigned v = static_cast<unsigned>(fd);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  size_t pos = sizeof prefix - 1;
  while (n) buf[pos++] = digits[--n];
  buf[pos] = '\0';
  return buf;
}

// Mount flags that a bind remount must keep (the kernel refuses to clear
// locked ones and we do not want to drop the others by accident).
unsigned long kept_flags(int fd) {
  struct statvfs sv;
  if (::fstatvfs(fd, &sv) != 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  return f;
}

unsigned long remount_flags(int fd, unsigned long wanted) {
  unsigned long keep = kept_flags(fd);
  // An explicit "rw" in the options is not representable here; ro is additive.
  unsigned long atime = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;
  if (wanted & atime) keep &= ~atime;
  keep &= ~MS_RDONLY;
  return wanted | keep;
}

void run_step(const InitPlan& p, int root_fd, const MountStep& s, int index) {
  char path[64];
  switch (s.kind) {
    case StepKind::mount:
    case StepKind::bind:
    case StepKind::remount:
    case StepKind::propagate:
    case StepKind::bind_device: {
      bool create_file = !s.target_is_dir || s.kind == StepKind::bind_device;
      int fd = sys::create_in_root(root_fd, s.target.c_str(), !create_file);
      if (fd < 0) fail(p, InitStep::mount_step, index);
      const char* t = fd_path(path, fd);
      int r;
      if (s.kind == StepKind::mount) {
        r = ::mount(s.source.c_str(), t, s.fstype.c_str(), s.flags,
                    s.data.empty() ? nullptr : s.data.c_str());
      } else if (s.kind == StepKind::bind || s.kind == StepKind::bind_device) {
        r = ::mount(s.source.c_str(), t, nullptr, s.flags | MS_BIND, nullptr);
      } else if (s.kind == StepKind::remount) {
        unsigned long fl = s.flags;
        if (fl & MS_BIND) fl = remount_flags(fd, fl);
        r = ::mount(nullptr, t, s.fstype.empty() ? nullptr : s.fstype.c_str(), fl,
                    s.data.empty() ? nullptr : s.data.c_str());
      } else {
        r = ::mount(nullptr, t, nullptr, s.flags, nullptr);
      }
      int e = errno;
      ::close(fd);
      if (r != 0) fail(p, InitStep::mount_step, index, e);
      return;
    }
    case StepKind::mknod: {
      const char* leaf = nullptr;
      int pfd = sys::parent_in_root(root_fd, s.target.c_str(), &leaf);
      if (pfd < 0) fail(p, InitStep::mount_step, index);
      if (::mknodat(pfd, leaf, s.mode, s.dev) != 0 && errno != EEXIST) fail(p, InitStep::mount_step, index);
      if (::fchownat(pfd, leaf, s.uid, s.gid, AT_SYMLINK_NOFOLLOW) != 0) fail(p, InitStep::mount_step, index);
      ::close(pfd);
      return;
    }
    case StepKind::symlink: {
      const char* leaf = nullptr;
      int pfd = sys::parent_in_root(root_fd, s.target.c_str(), &leaf);
      if (pfd < 0) fail(p, InitStep::mount_step, index);
      (void)::unlinkat(pfd, leaf, 0);
      if (::symlinkat(s.source.c_str(), pfd, leaf) != 0 && errno != EEXIST)
        fail(p, InitStep::mount_step, index);
      ::close(pfd);
      return;
    }
  }
}

void bring_up_loopback(const InitPlan& p) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) fail(p, InitStep::loopback);
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, "lo", 3);
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) fail(p, InitStep::loopback);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) fail(p, InitStep::loopback);
  ::close(s);
}

void write_sysctl(const InitPlan& p, int i) {
  const auto& [path, value] = p.sysctls[static_cast<size_t>(i)];
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(p, InitStep::sysctl, i);
  if (::write(fd, value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    fail(p, InitStep::sysctl, i);
  ::close(fd);
}

void mask_paths(const InitPlan& p) {
  char path[64];
  for (size_t i = 0; i < p.rootfs.masked_paths.size(); ++i) {
    int fd = ::open(p.rootfs.masked_paths[i].c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      fail(p, InitStep::masked_path, static_cast<int>(i));
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) fail(p, InitStep::masked_path, static_cast<int>(i));
    int r;
    if (S_ISDIR(st.st_mode))
      r = ::mount("tmpfs", fd_path(path, fd), "tmpfs", MS_RDONLY, "size=0k");
    else if (S_ISLNK(st.st_mode))
      r = 0;
    else
      r = ::mount("/dev/null", fd_path(path, fd), nullptr, MS_BIND, nullptr);
    if (r != 0) fail(p, InitStep::masked_path, static_cast<int>(i));
    ::close(fd);
  }
}

void readonly_paths(const InitPlan& p) {
  char path[64];
  for (size_t i = 0; i < p.rootfs.readonly_paths.size(); ++i) {
    int fd = ::open(p.rootfs.readonly_paths[i].c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      fail(p, InitStep::readonly_path, static_cast<int>(i));
    }
    if (::mount(fd_path(path, fd), fd_path(path, fd), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      fail(p, InitStep::readonly_path, static_cast<int>(i));
    ::close(fd);
    // Reopen: the bind mount now sits on top of the old dentry.
    fd = ::open(p.rootfs.readonly_paths[i].c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) fail(p, InitStep::readonly_path, static_cast<int>(i));
    unsigned long fl = remount_flags(fd, MS_BIND | MS_REMOUNT | MS_RDONLY);
    if (::mount(nullptr, fd_path(path, fd), nullptr, fl, nullptr) != 0)
      fail(p, InitStep::readonly_path, static_cast<int>(i));
    ::close(fd);
  }
}

// Allocate the pty inside the container's devpts; returns the slave fd.
int setup_console(const InitPlan& p) {
  int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail(p, InitStep::console);
  int unlock = 0;
  if (::ioctl(master, TIOCSPTLCK, &unlock) != 0) fail(p, InitStep::console);
  int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) fail(p, InitStep::console);
  if (p.rows || p.cols) {
    winsize ws{};
    ws.ws_row = p.rows;
    ws.ws_col = p.cols;
    (void)::ioctl(master, TIOCSWINSZ, &ws);
  }
  // /dev/console: bind the slave onto an empty file.
  int cfd = ::open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (cfd >= 0) ::close(cfd);
  char spath[64];
  char cpath[64];
  int console = ::open("/dev/console", O_PATH | O_CLOEXEC | O_NOFOLLOW);
  if (console < 0) fail(p, InitStep::console);
  if (::mount(fd_path(spath, slave), fd_path(cpath, console), nullptr, MS_BIND, nullptr) != 0)
    fail(p, InitStep::console);
  ::close(console);
  if (p.console_sock >= 0) {
    if (sys::send_fd(p.console_sock, master, "/dev/ptmx") != 0) fail(p, InitStep::send_console);
    ::close(p.console_sock);
  }
  ::close(master);
  return slave;
}

bool is_executable_file(const char* path, int* err) {
  struct stat st;
  if (::stat(path, &st) != 0) {
    *err = errno;
    return false;
  }
  if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) {
    *err = EACCES;
    return false;
  }
  return true;
}

// Resolve args[0] as Go's exec.LookPath does, into `out`.
void lookup(const InitPlan& p, char (&out)[PATH_MAX]) {
  const char* arg0 = p.args[0].c_str();
  size_t alen = std::strlen(arg0);
  int err = 0;
  if (std::strchr(arg0, '/')) {
    if (alen >= PATH_MAX) fail(p, InitStep::lookup_not_found, -1, ENAMETOOLONG);
    std::memcpy(out, arg0, alen + 1);
    if (is_executable_file(out, &err)) return;
    if (err == EACCES) fail(p, InitStep::lookup_permission, -1, EACCES);
    fail(p, InitStep::lookup_not_found, -1, err);
  }
  const char* s = p.path_env.c_str();
  for (;;) {
    const char* e = std::strchr(s, ':');
    size_t dlen = e ? static_cast<size_t>(e - s) : std::strlen(s);
    if (dlen == 0) {
      out[0] = '.';
      dlen = 1;
    } else if (dlen < PATH_MAX) {
      std::memcpy(out, s, dlen);
    }
    if (dlen + 1 + alen < PATH_MAX) {
      out[dlen] = '/';
      std::memcpy(out + dlen + 1, arg0, alen + 1);
      if (is_executable_file(out, &err)) return;
    }
    if (!e) break;
    s = e + 1;
  }
  fail(p, InitStep::lookup_not_found, 0, ENOENT);
}

// CVE-2019-5736: the init (and an exec'd process) run the runtime's own code
// until execve, and a program that resolves to the runtime binary -- the
// path /proc/self/exe, a link to it, or a #! script naming it as
// interpreter, up to the kernel's nesting depth -- would make a container
// process run the host binary, dumpable, open to /proc/PID/exe rewriting.
// Refuse it. Allocation-free: stack buffers only.
void exec_guard(const InitPlan& p, const char* exe) {
  if (p.self_ino == 0) return;
  char path[PATH_MAX];
  size_t n = std::strlen(exe);
  if (n >= sizeof path) return;
  std::memcpy(path, exe, n + 1);
  for (int depth = 0; depth < 5; ++depth) {
    struct stat st;
    if (::stat(path, &st) != 0) return;  // execve reports it
    if (st.st_dev == p.self_dev && st.st_ino == p.self_ino) fail(p, InitStep::exec_self, -1, EPERM);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char head[256];
    ssize_t r = ::read(fd, head, sizeof head - 1);
    ::close(fd);
    if (r < 3 || head[0] != '#' || head[1] != '!') return;
    head[r] = '\0';
    size_t i = 2;
    while (head[i] == ' ' || head[i] == '\t') ++i;
    size_t j = i;
    while (head[j] && head[j] != ' ' && head[j] != '\t' && head[j] != '\n') ++j;
    if (j == i || j - i >= sizeof path) return;
    std::memcpy(path, head + i, j - i);
    path[j - i] = '\0';
  }
}

// Run hooks in order inside the container's namespaces, each with the state
// JSON on stdin and killed at its timeout. Allocation-free.
void run_init_hooks(const InitPlan& p, const std::vector<InitHook>& hooks, InitStep step) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    const InitHook& h = hooks[i];
    pid_t pid = ::fork();
    if (pid < 0) fail(p, step, static_cast<int>(i));
    if (pid == 0) {
      if (p.hook_state_fd >= 0) {
        ::lseek(p.hook_state_fd, 0, SEEK_SET);
        ::dup2(p.hook_state_fd, 0);
      }
      ::execve(h.path.c_str(), h.argv.data(), h.envp.data());
      ::_exit(127);
    }
    timespec start;
    ::clock_gettime(CLOCK_MONOTONIC, &start);
    int ws = 0;
    for (;;) {
      pid_t r = ::waitpid(pid, &ws, WNOHANG);
      if (r == pid) break;
      if (r < 0 && errno != EINTR) fail(p, step, static_cast<int>(i));
      if (h.timeout_s > 0) {
        timespec now;
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= h.timeout_s) {
          ::kill(pid, SIGKILL);
          ::waitpid(pid, &ws, 0);
          fail(p, step, static_cast<int>(i), ETIMEDOUT);
        }
      }
      timespec ts{0, 2 * 1000 * 1000};
      ::nanosleep(&ts, nullptr);
    }
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) continue;
    fail(p, step, static_cast<int>(i), WIFEXITED(ws) ? -WEXITSTATUS(ws) : -(1000 + WTERMSIG(ws)));
  }
}

// Block until the runtime answers a request with one byte.
void wait_ack(const InitPlan& p) {
  char c = 0;
  ssize_t n;
  do {
    n = ::read(p.sync_fd, &c, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) ::_exit(1);
}

// Load the seccomp filter; a notify filter's listener fd goes to the
// runtime (which hands it to linux.seccomp.listenerPath) and is closed here:
// no container process keeps it.
void load_seccomp(const InitPlan& p) {
  sock_fprog prog{static_cast<unsigned short>(p.seccomp.filter.size()),
                  const_cast<sock_filter*>(p.seccomp.filter.data())};
  long r = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p.seccomp.flags, &prog);
  if (r < 0) fail(p, InitStep::seccomp);
  if (p.seccomp.notify()) {
    int lfd = static_cast<int>(r);
    if (sys::send_fd(p.sync_fd, lfd, "seccomp") != 0) fail(p, InitStep::seccomp_listener);
    ::close(lfd);
    wait_ack(p);
  }
}

// Scheduler and memory policy: before the identity change (raising a
// priority needs CAP_SYS_NICE).
void apply_sched(const InitPlan& p) {
  if (p.has_mempolicy && ::syscall(SYS_set_mempolicy, p.mempolicy.mode,
                                   p.mempolicy.maxnode ? p.mempolicy.nodes : nullptr, p.mempolicy.maxnode) != 0)
    fail(p, InitStep::mempolicy);
  if (p.has_sched && ::syscall(SYS_sched_setattr, 0, &p.sched, 0) != 0) fail(p, InitStep::scheduler);
}

// Signals this process inherited as ignored stay ignored across execve.
// The container's process starts with every disposition at its default, as
// under dockerd: nothing of the caller's (glibc's posix_spawn ignores its
// internal signals 32 and 33 in every child of a threaded parent, and a
// shell's background job ignores SIGINT and SIGQUIT). The raw system call:
// glibc's sigaction refuses 32 and 33.
void reset_ignored_signals() {
  struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    uint64_t mask;
  };
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    KernelSigaction old{};
    if (::syscall(SYS_rt_sigaction, sig, nullptr, &old, sizeof old.mask) != 0 || old.handler != SIG_IGN) continue;
    KernelSigaction dfl{};
    dfl.handler = SIG_DFL;
    (void)::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
  }
}

void apply_identity(const InitPlan& p) {
  if (p.io_priority >= 0 && ::syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, p.io_priority) != 0)
    fail(p, InitStep::io_priority);
  if (p.personality >= 0 && ::personality(static_cast<unsigned long>(p.personality)) < 0)
    fail(p, InitStep::personality);
  if (p.has_caps) {
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) fail(p, InitStep::drop_bounding);
    for (int c = 0; c < 64; ++c) {
      if (p.caps.bounding & (1ULL << c)) continue;
      if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
        if (errno == EINVAL) break;  // past the kernel's last capability
        fail(p, InitStep::drop_bounding, c);
      }
    }
  }
  if (p.has_seccomp && !p.no_new_privs) load_seccomp(p);
  if (::setgroups(p.groups.size(), p.groups.data()) != 0 && !(p.groups.empty() && errno == EPERM))
    fail(p, InitStep::setgroups);
  if (::setresgid(p.gid, p.gid, p.gid) != 0) fail(p, InitStep::setgid);
  if (::setresuid(p.uid, p.uid, p.uid) != 0) fail(p, InitStep::setuid);
  if (p.has_caps) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    for (int i = 0; i < 2; ++i) {
      data[i].effective = static_cast<uint32_t>(p.caps.effective >> (32 * i));
      data[i].permitted = static_cast<uint32_t>(p.caps.permitted >> (32 * i));
      data[i].inheritable = static_cast<uint32_t>(p.caps.inheritable >> (32 * i));
    }
    if (::syscall(SYS_capset, &hdr, data) != 0) fail(p, InitStep::capset);
    for (int c = 0; c < 64; ++c)
      if ((p.caps.ambient & (1ULL << c)) &&
          ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0)
        fail(p, InitStep::ambient, c);
    (void)::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  }
  if (p.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(p, InitStep::no_new_privs);
}

}  // namespace

[[noreturn]] void init_main(const InitPlan& p) noexcept {
  // Not dumpable until execve (see exec_main).
  (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ::umask(0);
  // 1. Wait until the parent has put us in the cgroups and written id maps
  // (or, attach_during_mounts, once the mounts are done: see init.h).
  bool attached = false;
  auto await_attach = [&] {
    if (attached) return;
    wait_ack(p);
    attached = true;
  };
  if (!p.attach_during_mounts) await_attach();

  for (size_t i = 0; i < p.joins.size(); ++i) {
    if (::setns(p.joins[i].fd, p.joins[i].nstype) != 0) fail(p, InitStep::join_namespace, static_cast<int>(i));
    ::close(p.joins[i].fd);
  }
  if (p.new_user) {
    // Become the namespace's root (when 0 is mapped) so files we create are owned sanely.
    (void)::setresgid(0, 0, 0);
    (void)::setresuid(0, 0, 0);
  }
  if (p.new_cgroup && ::unshare(CLONE_NEWCGROUP) != 0) fail(p, InitStep::unshare_cgroup);
  if (p.hostname && ::sethostname(p.hostname->data(), p.hostname->size()) != 0) fail(p, InitStep::hostname);
  if (p.domainname && ::setdomainname(p.domainname->data(), p.domainname->size()) != 0)
    fail(p, InitStep::domainname);
  if (p.new_net) bring_up_loopback(p);
  for (size_t i = 0; i < p.sysctls.size(); ++i) write_sysctl(p, static_cast<int>(i));

  // 2. Root filesystem.
  const RootfsPlan& rp = p.rootfs;
  if (::mount(nullptr, "/", nullptr, rp.root_propagation, nullptr) != 0) fail(p, InitStep::root_propagation);
  if (::mount(rp.rootfs.c_str(), rp.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    fail(p, InitStep::bind_rootfs);
  int root_fd = ::open(rp.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) fail(p, InitStep::open_rootfs);
  for (size_t i = 0; i < rp.steps.size(); ++i) {
    // Device nodes are made by a process in the container's device cgroup.
    if (rp.steps[i].kind == StepKind::mknod || rp.steps[i].kind == StepKind::bind_device) await_attach();
    run_step(p, root_fd, rp.steps[i], static_cast<int>(i));
  }
  await_attach();
  if (p.parent_hooks) {
    // prestart and createRuntime run now in the runtime's namespaces, as
    // runc runs them: the container's namespaces and mounts exist, the old
    // root is still reachable (before pivot_root).
    InitReport req{InitStep::hooks_request, 0, -1};
    if (::write(p.sync_fd, &req, sizeof req) != static_cast<ssize_t>(sizeof req)) ::_exit(1);
    wait_ack(p);
  }
  run_init_hooks(p, p.create_container_hooks, InitStep::hook_create_container);
  if (::fchdir(root_fd) != 0) fail(p, InitStep::pivot_root);
  if (p.no_pivot) {
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) fail(p, InitStep::pivot_root);
    if (::chroot(".") != 0) fail(p, InitStep::pivot_root);
  } else {
    if (::syscall(SYS_pivot_root, ".", ".") != 0) fail(p, InitStep::pivot_root);
    // The old root is stacked under "."; make it private and detach it.
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) fail(p, InitStep::pivot_root);
    if (::umount2(".", MNT_DETACH) != 0) fail(p, InitStep::pivot_root);
  }
  if (::chdir("/") != 0) fail(p, InitStep::pivot_root);
  ::close(root_fd);

  int slave = -1;
  if (p.terminal) slave = setup_console(p);
  mask_paths(p);
  readonly_paths(p);
  if (rp.rootfs_propagation && ::mount(nullptr, "/", nullptr, rp.rootfs_propagation, nullptr) != 0)
    fail(p, InitStep::rootfs_propagation);
  if (rp.readonly_root) {
    int fd = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    unsigned long fl = remount_flags(fd, MS_BIND | MS_REMOUNT | MS_RDONLY);
    ::close(fd);
    if (::mount(nullptr, "/", nullptr, fl, nullptr) != 0) fail(p, InitStep::readonly_root);
  }

  // 3. Process attributes.
  for (size_t i = 0; i < p.rlimits.size(); ++i)
    if (::setrlimit(static_cast<__rlimit_resource>(p.rlimits[i].resource), &p.rlimits[i].lim) != 0)
      fail(p, InitStep::rlimit, static_cast<int>(i));
  if (::chdir(p.cwd.c_str()) != 0) fail(p, InitStep::cwd);
  char exe[PATH_MAX];
  lookup(p, exe);
  exec_guard(p, exe);
  if (::setsid() < 0) fail(p, InitStep::setsid);
  apply_sched(p);
  if (slave >= 0) {
    if (::ioctl(slave, TIOCSCTTY, 0) != 0) fail(p, InitStep::set_ctty);
    for (int fd = 0; fd < 3; ++fd)
      if (::dup2(slave, fd) < 0) fail(p, InitStep::set_ctty);
    ::close(slave);
  }
  apply_identity(p);
  // A notify filter must reach the runtime while it still waits for us.
  bool late_seccomp = p.has_seccomp && p.no_new_privs;
  if (late_seccomp && p.seccomp.notify()) {
    load_seccomp(p);
    late_seccomp = false;
  }
  ::umask(p.umask);
  reset_ignored_signals();
  if (p.restore_sigmask) ::sigprocmask(SIG_SETMASK, &p.sigmask, nullptr);

  // 4. Report readiness, then block on the exec fifo until `start`.
  InitReport ready{InitStep::ready, 0, -1};
  if (::write(p.sync_fd, &ready, sizeof ready) != static_cast<ssize_t>(sizeof ready)) ::_exit(1);
  // No host fd survives exec: everything above 2 becomes close-on-exec.
  ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  for (int fd = 3; fd < 3 + p.preserve_fds; ++fd) ::fcntl(fd, F_SETFD, 0);
  char fifo[64];
  int wfd = ::open(fd_path(fifo, p.fifo_fd), O_WRONLY | O_CLOEXEC);
  if (wfd < 0) fail(p, InitStep::exec_fifo);
  if (::write(wfd, "0", 1) != 1) fail(p, InitStep::exec_fifo);
  ::close(wfd);
  ::close(p.fifo_fd);
  run_init_hooks(p, p.start_container_hooks, InitStep::hook_start_container);

  if (late_seccomp) load_seccomp(p);
  ::execve(exe, p.argv.data(), p.envp.data());
  int e = errno;
  static const char msg[] = "berth-runtime: exec failed: ";
  (void)!::write(2, msg, sizeof msg - 1);
  const char* es = ::strerrordesc_np(e);
  if (es) (void)!::write(2, es, std::strlen(es));
  (void)!::write(2, "\n", 1);
  fail(p, InitStep::exec, -1, e);
}

[[noreturn]] void exec_main(const InitPlan& p) noexcept {
  // Not dumpable until execve: container processes cannot open our
  // /proc/PID/exe (the runtime binary) or ptrace us (CVE-2019-5736).
  (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ::umask(0);
  char go = 0;
  ssize_t n;
  do {
    n = ::read(p.sync_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) ::_exit(1);
  for (size_t i = 0; i < p.joins.size(); ++i) {
    if (::setns(p.joins[i].fd, p.joins[i].nstype) != 0) fail(p, InitStep::join_namespace, static_cast<int>(i));
    ::close(p.joins[i].fd);
  }
  // In the container's cgroup now (v1 cpuset resets the affinity on attach).
  if (p.has_final_affinity && ::sched_setaffinity(0, sizeof p.final_affinity, &p.final_affinity) != 0)
    fail(p, InitStep::cpu_affinity);
  // Joining the mount namespace moved our root and cwd to its root: the
  // container's. cwd is resolved there, after every host fd but the sync
  // and console sockets is closed-on-exec (CVE-2024-21626).
  for (size_t i = 0; i < p.rlimits.size(); ++i)
    if (::setrlimit(static_cast<__rlimit_resource>(p.rlimits[i].resource), &p.rlimits[i].lim) != 0)
      fail(p, InitStep::rlimit, static_cast<int>(i));
  if (::chdir(p.cwd.c_str()) != 0) fail(p, InitStep::cwd);
  char exe[PATH_MAX];
  lookup(p, exe);
  exec_guard(p, exe);
  if (::setsid() < 0) fail(p, InitStep::setsid);
  apply_sched(p);
  if (p.terminal) {
    int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) fail(p, InitStep::console);
    int unlock = 0;
    if (::ioctl(master, TIOCSPTLCK, &unlock) != 0) fail(p, InitStep::console);
    int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) fail(p, InitStep::console);
    if (p.rows || p.cols) {
      winsize ws{};
      ws.ws_row = p.rows;
      ws.ws_col = p.cols;
      (void)::ioctl(master, TIOCSWINSZ, &ws);
    }
    if (p.console_sock >= 0) {
      if (sys::send_fd(p.console_sock, master, "/dev/ptmx") != 0) fail(p, InitStep::send_console);
      ::close(p.console_sock);
    }
    ::close(master);
    if (::ioctl(slave, TIOCSCTTY, 0) != 0) fail(p, InitStep::set_ctty);
    for (int fd = 0; fd < 3; ++fd)
      if (::dup2(slave, fd) < 0) fail(p, InitStep::set_ctty);
    if (slave > 2) ::close(slave);
  }
  apply_identity(p);
  ::umask(p.umask);
  reset_ignored_signals();
  if (p.restore_sigmask) ::sigprocmask(SIG_SETMASK, &p.sigmask, nullptr);
  ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  for (int fd = 3; fd < 3 + p.preserve_fds; ++fd) ::fcntl(fd, F_SETFD, 0);
  if (p.has_seccomp && p.no_new_privs) load_seccomp(p);
  ::execve(exe, p.argv.data(), p.envp.data());
  fail(p, InitStep::exec, -1, errno);
}

std::string describe_init_failure(const InitReport& r, const InitPlan& p) {
  std::string es = std::strerror(r.err);
  if (!es.empty()) es[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(es[0])));
  const std::string arg0 = p.args.empty() ? "" : p.args[0];
  auto idx = [&](const auto& v) { return r.index >= 0 && static_cast<size_t>(r.index) < v.size(); };
  switch (r.step) {
    case InitStep::ready: return "ok";
    case InitStep::lookup_not_found:
      if (r.index == 0) return "exec: \"" + arg0 + "\": executable file not found in $PATH";
      return "exec: \"" + arg0 + "\": stat " + arg0 + ": " + es;
    case InitStep::lookup_permission: return "exec: \"" + arg0 + "\": permission denied";
    case InitStep::exec: return "exec " + arg0 + ": " + es;
    case InitStep::hook_create_container:
    case InitStep::hook_start_container: {
      const auto& hs = r.step == InitStep::hook_create_container ? p.create_container_hooks : p.start_container_hooks;
      std::string field = std::string(r.step == InitStep::hook_create_container ? "hooks.createContainer" : "hooks.startContainer") +
                          "[" + std::to_string(r.index) + "]";
      std::string path = idx(hs) ? hs[static_cast<size_t>(r.index)].path : "?";
      if (r.err == ETIMEDOUT) return field + ": " + path + " timed out";
      if (r.err <= -1000) return field + ": " + path + " killed by signal " + std::to_string(-r.err - 1000);
      if (r.err < 0) return field + ": " + path + " exited with status " + std::to_string(-r.err);
      return field + ": " + path + ": " + es;
    }
    case InitStep::exec_self:
      return "exec: \"" + arg0 + "\": refusing to run the runtime binary inside the container (CVE-2019-5736)";
    case InitStep::mount_step: {
      if (!idx(p.rootfs.steps)) break;
      const auto& s = p.rootfs.steps[static_cast<size_t>(r.index)];
      std::string what;
      switch (s.kind) {
        case StepKind::mount: what = "mount " + s.fstype + " on " + s.target; break;
        case StepKind::bind: what = "bind mount " + s.source + " on " + s.target; break;
        case StepKind::remount: what = "remount " + s.target; break;
        case StepKind::propagate: what = "set propagation of " + s.target; break;
        case StepKind::mknod: what = "mknod " + s.target; break;
        case StepKind::bind_device: what = "bind device " + s.source; break;
        case StepKind::symlink: what = "symlink " + s.target; break;
      }
      if (s.spec_index >= 0) what = "mounts[" + std::to_string(s.spec_index) + "]: " + what;
      return what + ": " + es;
    }
    case InitStep::cwd: return "process.cwd: chdir " + p.cwd + ": " + es;
    case InitStep::sysctl:
      if (idx(p.sysctls)) return "linux.sysctl: write " + p.sysctls[static_cast<size_t>(r.index)].first + ": " + es;
      break;
    case InitStep::masked_path:
      if (idx(p.rootfs.masked_paths))
        return "linux.maskedPaths: " + p.rootfs.masked_paths[static_cast<size_t>(r.index)] + ": " + es;
      break;
    case InitStep::readonly_path:
      if (idx(p.rootfs.readonly_paths))
        return "linux.readonlyPaths: " + p.rootfs.readonly_paths[static_cast<size_t>(r.index)] + ": " + es;
      break;
    case InitStep::rlimit: return "process.rlimits[" + std::to_string(r.index) + "]: setrlimit: " + es;
    case InitStep::join_namespace: return "linux.namespaces: setns: " + es;
    case InitStep::scheduler: return "process.scheduler: sched_setattr: " + es;
    case InitStep::cpu_affinity: return "process.execCPUAffinity.final: sched_setaffinity: " + es;
    case InitStep::mempolicy: return "linux.memoryPolicy: set_mempolicy: " + es;
    case InitStep::seccomp:
      if ((p.seccomp.flags & (1U << 5)) && r.err == EINVAL)
        return "linux.seccomp: load filter: " + es +
               " (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs Linux 5.19 or later)";
      return "linux.seccomp: load filter: " + es;
    default: break;
  }
  static const char* names[] = {
      "ready", "wait for parent", "join namespace", "set ids in user namespace", "unshare cgroup namespace",
      "sethostname", "setdomainname", "bring up loopback", "sysctl", "make / private", "bind rootfs",
      "open rootfs", "mount", "pivot_root", "allocate console", "send console fd", "mask path",
      "readonly path", "set rootfs propagation", "remount rootfs read-only", "setrlimit", "chdir",
      "lookup", "lookup", "setsid", "set controlling terminal", "drop bounding capabilities",
      "load seccomp filter", "setgroups", "setgid", "setuid", "capset", "raise ambient capability",
      "set no_new_privs", "open exec fifo", "exec", "set io priority", "set personality", "exec", "hook", "hook",
      "sched_setattr", "sched_setaffinity", "set_mempolicy", "send seccomp listener", "hooks"};
  auto i = static_cast<size_t>(r.step);
  std::string what = i < sizeof names / sizeof names[0] ? names[i] : "init";
  return what + ": " + es;
}

}  // namespace berth::runtime
