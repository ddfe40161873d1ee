#include "shim/runtime_cli.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/json.h"
#include "common/sealed_copy.h"
#include "common/unique_fd.h"
#include "common/strings.h"

namespace berth::shim {

namespace {

int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

std::string read_from(const std::string& path, int64_t off) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
    if (out.size() > (4u << 20)) break;
  }
  ::close(fd);
  return out;
}

// berth-runtime's `create`, `run` and `exec` run from a sealed memfd copy of
// themselves (CVE-2019-5736) and re-exec into one when they are not. The
// shim makes that copy and executes it directly: the runtime finds itself
// sealed and skips its own copy and second exec, one exec fewer per
// container start. Another runtime (runc, crun, a script) is executed from
// its path as given. On any failure the path is used, and berth-runtime
// makes the copy itself as before.
bool runs_sealed(const std::string& runtime, const std::vector<std::string>& args) {
  if (args.empty() || (args[0] != "create" && args[0] != "run" && args[0] != "exec")) return false;
  auto slash = runtime.rfind('/');
  return slash != std::string::npos && runtime.compare(slash + 1, std::string::npos, "berth-runtime") == 0;
}

UniqueFd sealed_runtime_copy(const std::string& runtime, const std::vector<std::string>& args) {
  if (!runs_sealed(runtime, args)) return UniqueFd();
  UniqueFd src(::open(runtime.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src) return UniqueFd();
  auto mem = sealed_copy_of(src.get());
  return mem ? std::move(*mem) : UniqueFd();
}

std::string first_line(std::string_view s) {
  s = str::trim(s);
  // Keep the last non-empty line: runtimes print the error last.
  size_t end = s.size();
  while (end > 0) {
    size_t start = s.rfind('\n', end - 1);
    start = start == std::string_view::npos ? 0 : start + 1;
    auto line = str::trim(s.substr(start, end - start));
    if (!line.empty()) return std::string(line);
    if (start == 0) break;
    end = start - 1;
  }
  return std::string(s);
}

// What the runtime's clone child needs; it writes exec_errno (shared
// memory) only when every exec failed.
struct SpawnArgs {
  int fds[3] = {-1, -1, -1};
  int sealed_fd = -1;
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int exec_errno = 0;
};
constexpr size_t kSpawnStack = 16 * 1024;

// Runs in the CLONE_VM|CLONE_VFORK child, on its own stack, with every
// signal blocked: system calls only, no allocation, then exec or _exit.
int spawn_child(void* p) {
  auto* a = static_cast<SpawnArgs*>(p);
  for (int i = 0; i < 3; ++i) {
    if (::dup2(a->fds[i], i) < 0) {
      a->exec_errno = errno;
      ::_exit(127);
    }
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);  // the shim ignores it; the runtime must not
  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  // The copy is close-on-exec: neither the runtime nor the container
  // inherits it as an fd.
  if (a->sealed_fd >= 0)
    ::syscall(SYS_execveat, a->sealed_fd, "", a->argv, a->envp, AT_EMPTY_PATH);
  ::execvpe(a->path, a->argv, a->envp);
  a->exec_errno = errno != 0 ? errno : ENOEXEC;
  ::_exit(127);
}

}  // namespace

std::string last_runtime_error(std::string_view log_text) {
  std::string last;
  size_t p = 0;
  while (p < log_text.size()) {
    size_t nl = log_text.find('\n', p);
    if (nl == std::string_view::npos) nl = log_text.size();
    auto line = log_text.substr(p, nl - p);
    p = nl + 1;
    if (line.find("\"error\"") == std::string_view::npos) continue;
    auto j = parse_json(line);
    if (!j || !j->is_object()) continue;
    auto lv = j->find("level");
    auto msg = j->find("msg");
    if (lv != j->end() && lv->is_string() && lv->get<std::string>() == "error" && msg != j->end() &&
        msg->is_string())
      last = msg->get<std::string>();
  }
  return last;
}

bool RuntimeCli::Outcome::success() const {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

std::string RuntimeCli::Outcome::message(std::string_view fallback_output) const {
  if (!error.empty()) return error;
  auto c = first_line(captured);
  if (!c.empty()) return c;
  auto f = first_line(fallback_output);
  if (!f.empty()) return f;
  if (WIFSIGNALED(wait_status))
    return "runtime killed by signal " + std::to_string(WTERMSIG(wait_status));
  return "runtime exited with status " + std::to_string(WEXITSTATUS(wait_status));
}

Result<RuntimeCli::Outcome> RuntimeCli::run(const std::vector<std::string>& args,
                                            Stdio stdio) const {
  std::vector<std::string> argv_s = {runtime_, "--root", root_, "--log", log_path_, "--log-format",
                                     "json"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) return sys_error("open /dev/null");
  UniqueFd devnull_fd(devnull);
  UniqueFd cap_r, cap_w;
  if (stdio.out < 0 || stdio.err < 0) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe");
    cap_r.reset(p[0]);
    cap_w.reset(p[1]);
  }
  int fd_in = stdio.in >= 0 ? stdio.in : devnull;
  int fd_out = stdio.out >= 0 ? stdio.out : cap_w.get();
  int fd_err = stdio.err >= 0 ? stdio.err : cap_w.get();
  const char* path = runtime_.c_str();

  UniqueFd sealed;
  int sealed_fd = -1;
  if (sealed_fd_ >= 0) {
    // berthd's copy: no open+copy+seal per run. Every command runs from it
    // (start, kill, delete too, not only the ones that need the copy): the
    // container is deleted by the same runtime build that created it, even
    // if the file was replaced meanwhile, and no path lookup is made.
    sealed_fd = sealed_fd_;
  } else {
    sealed = sealed_runtime_copy(runtime_, args);
    sealed_fd = sealed ? sealed.get() : -1;
  }
  int64_t log_off = file_size(log_path_);
  // No fork: a clone(CLONE_VM|CLONE_VFORK) child on a stack of our own
  // frame shares our memory until it execs (no page tables copied, no
  // copy-on-write faults in the shim: ~20x cheaper than fork on a VM), and
  // unlike posix_spawn it can execveat() the sealed copy (the runtime's
  // comm stays "memfd:berth-run") and makes one sigaction, not 64. Our fds
  // 0..2 are /dev/null (the monitor's), so the three are >= 3 and the dup2s
  // cannot clobber each other; one below 3 is moved up first all the same.
  SpawnArgs sa;
  UniqueFd moved[3];
  int fds[3] = {fd_in, fd_out, fd_err};
  for (int i = 0; i < 3; ++i) {
    if (fds[i] <= 2) {
      moved[i].reset(::fcntl(fds[i], F_DUPFD_CLOEXEC, 10));
      if (!moved[i]) return sys_error("dup runtime stdio");
      fds[i] = moved[i].get();
    }
    sa.fds[i] = fds[i];
  }
  sa.sealed_fd = sealed_fd;
  sa.path = path;
  sa.argv = argv.data();
  sa.envp = environ;
  // All signals blocked across the clone: no handler may run on the
  // child's stack in our memory (the child unblocks right before exec).
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  alignas(64) char stack[kSpawnStack];
  pid_t pid = ::clone(spawn_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &sa);
  int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return sys_error("clone runtime", clone_errno);
  if (sa.exec_errno != 0) {
    // The child has exited 127; as a shell reports a command it could not
    // execute.
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    Outcome failed;
    failed.wait_status = 127 << 8;
    failed.error = "exec of the OCI runtime failed: " + runtime_ + ": " + std::strerror(sa.exec_errno);
    return failed;
  }
  cap_w.reset();
  Outcome out;
  int st = 0;
  bool reaped = false;
  if (cap_r) {
    // Read the capture pipe until EOF, but stop once the runtime has exited:
    // a process it leaves behind (the container on `create`) may keep the
    // pipe open.
    ::fcntl(cap_r.get(), F_SETFL, O_NONBLOCK);
    char buf[4096];
    for (;;) {
      pollfd pfd{cap_r.get(), POLLIN, 0};
      ::poll(&pfd, 1, reaped ? 0 : 20);
      bool eof = false;
      for (;;) {
        ssize_t n = ::read(cap_r.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) eof = true;
        if (n <= 0) break;
        if (out.captured.size() < 65536) out.captured.append(buf, static_cast<size_t>(n));
      }
      if (eof || reaped) break;
      pid_t r = ::waitpid(pid, &st, WNOHANG);
      if (r == pid) reaped = true;
    }
  }
  while (!reaped && ::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return sys_error("waitpid runtime");
  }
  out.wait_status = st;
  if (!out.success()) out.error = last_runtime_error(read_from(log_path_, log_off));
  return out;
}

bool RuntimeCli::adopt_sealed_copy(int fd) {
  if (fd < 0) return false;
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0 || (seals & kSealedCopySeals) != kSealedCopySeals) return false;
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return false;
  sealed_fd_ = fd;
  return true;
}

Result<RuntimeCli::Outcome> RuntimeCli::run(const std::vector<std::string>& args) const {
  return run(args, Stdio{});
}

Status RuntimeCli::run_checked(const std::vector<std::string>& args) const {
  auto o = BERTH_TRY(run(args));
  if (o.success()) return ok();
  return make_error(Errc::internal, o.message());
}

}  // namespace berth::shim
