#include "container/shim_client.h"

#include <sys/syscall.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "common/sealed_copy.h"
#include "common/strings.h"
#include "common/fs.h"

extern char** environ;

namespace berth::container {

std::vector<std::string> shim_argv(const ShimSpawnOptions& o) {
  std::vector<std::string> a = {o.shim_binary, "--id", o.id, "--bundle", o.bundle,
                                "--runtime", o.runtime, "--runtime-root", o.runtime_root,
                                "--socket", o.socket, "--state-dir", o.state_dir};
  if (!o.log_config.empty()) {
    a.push_back("--log-config");
    a.push_back(o.log_config);
  } else {
    a.push_back("--log-driver");
    a.push_back(o.log_driver);
  }
  if (o.log_config.empty() && o.log_driver == "json-file") {
    a.push_back("--log-path");
    a.push_back(o.log_path);
  }
  if (o.tty) a.push_back("--tty");
  if (o.stdin_open) a.push_back("--stdin");
  if (o.stdin_once) a.push_back("--stdin-once");
  if (o.run_now) a.push_back("--run");
  if (o.runtime_fd >= 0) {
    a.push_back("--runtime-fd");
    a.push_back("3");  // spawn_shim puts it there
  }
  if (!o.exec_process.empty()) {
    a.push_back("--exec-process");
    a.push_back(o.exec_process);
  }
  a.push_back("--report-fd");
  a.push_back(std::to_string(shim_report_fd(o)));  // spawn_shim puts the pipe there
  return a;
}

Result<std::unique_ptr<ShimReaper>> ShimReaper::create() {
  std::unique_ptr<ShimReaper> r(new ShimReaper());
  r->epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!r->epoll_) return sys_error("epoll_create1");
  sigemptyset(&r->ignored_);
  sigaddset(&r->ignored_, SIGPIPE);
  for (int sig = 1; sig <= SIGRTMAX; ++sig) {
    struct sigaction sa {};
    // glibc's own signals (32, 33) fail here and in sigaddset: skipped.
    if (::sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler == SIG_IGN) sigaddset(&r->ignored_, sig);
  }
  return r;
}

Status ShimReaper::adopt(UniqueFd pidfd) {
  if (!pidfd) return make_error(Errc::invalid, "no pidfd to reap");
  std::lock_guard g(mu_);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = pidfd.get();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, pidfd.get(), &ev) != 0) return sys_error("epoll_ctl pidfd");
  int fd = pidfd.get();
  pidfds_[fd] = std::move(pidfd);
  return ok();
}

size_t ShimReaper::reap() {
  std::lock_guard g(mu_);
  epoll_event evs[32];
  size_t reaped = 0;
  for (;;) {
    int n = ::epoll_wait(epoll_.get(), evs, 32, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      siginfo_t si{};
      int r = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(fd), &si, WEXITED | WNOHANG);
      // Not exited after all (si_pid 0): stays. Reaped, or no longer
      // ours to wait for (ECHILD): dropped, or it would stay readable.
      if (r == 0 && si.si_pid == 0) continue;
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
      pidfds_.erase(fd);
      ++reaped;
    }
    if (n < 32) break;
  }
  return reaped;
}

size_t ShimReaper::pending() {
  std::lock_guard g(mu_);
  return pidfds_.size();
}

Result<UniqueFd> spawn_shim(const ShimSpawnOptions& o, ShimReaper& reaper) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  auto argv_s = shim_argv(o);
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  const int report_fd = shim_report_fd(o);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
  posix_spawn_file_actions_adddup2(&fa, 0, 1);
  // The report pipe is the shim's stderr too until it points that at
  // /dev/null, so that a usage error still reaches us.
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  // The shared sealed runtime copy becomes the shim's fd 3 (from a fresh
  // close-on-exec duplicate, so dup2 never meets the same fd number).
  UniqueFd rt_fd;
  if (o.runtime_fd >= 0) rt_fd.reset(::fcntl(o.runtime_fd, F_DUPFD_CLOEXEC, 10));
  if (o.runtime_fd >= 0 && !rt_fd) {
    posix_spawn_file_actions_destroy(&fa);
    return sys_error("dup runtime fd");
  }
  if (rt_fd) posix_spawn_file_actions_adddup2(&fa, rt_fd.get(), 3);
  // From fd 2, placed already: wr's own number may have been taken by 3.
  posix_spawn_file_actions_adddup2(&fa, 2, report_fd);
  posix_spawn_file_actions_addclosefrom_np(&fa, report_fd + 1);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&at, &none);
  // Handled signals are reset by the exec; only what berthd ignores would
  // be inherited. Naming just those spares glibc's child a reset of every
  // signal (it only looks at the others).
  posix_spawnattr_setsigdefault(&at, &reaper.ignored_signals());
  // Its own session, as a daemon: berthd's signals to its process group
  // and terminal do not reach it.
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, o.shim_binary.c_str(), &fa, &at, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) return sys_error("spawn " + o.shim_binary, rc);
  wr.reset();
  rt_fd.reset();
  // The verdict: "ok", or "E<msg>\n" once the shim has cleaned up, or EOF
  // (it died, or failed before it could report; its stderr text then).
  // Stop at a complete verdict rather than wait for EOF.
  std::string msg;
  char buf[4096];
  for (;;) {
    if (msg == "ok" || (!msg.empty() && msg[0] == 'E' && msg.back() == '\n')) break;
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (msg.size() < 65536) msg.append(buf, static_cast<size_t>(n));
  }
  if (msg == "ok") {
    // Our child, not yet waited for: its pid cannot be reused before
    // pidfd_open. Without a pidfd (EMFILE) the shim runs on, as before, but
    // is left a zombie when it exits.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (pidfd) (void)reaper.adopt(UniqueFd(::fcntl(pidfd.get(), F_DUPFD_CLOEXEC, 3)));
    return pidfd;
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return sys_error("waitpid shim");
  }
  std::string err;
  if (!msg.empty() && msg[0] == 'E') {
    err = msg.substr(1);
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
  } else {
    err = std::move(msg);
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
    if (auto nl = err.rfind('\n'); nl != std::string::npos) err = err.substr(nl + 1);
  }
  if (err.empty())
    err = WIFSIGNALED(st) ? "berth-shim killed by signal " + std::to_string(WTERMSIG(st))
                          : "berth-shim exited with status " + std::to_string(WEXITSTATUS(st));
  return make_error(Errc::internal, err);
}

std::shared_ptr<UniqueFd> SealedRuntimeCache::get(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || path.compare(slash + 1, std::string::npos, "berth-runtime") != 0)
    return nullptr;
  UniqueFd src(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!src || ::fstat(src.get(), &st) != 0) return nullptr;
  Copy id;
  id.dev = st.st_dev;
  id.ino = st.st_ino;
  id.size = st.st_size;
  id.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  id.ctime_ns = int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec;
  std::lock_guard g(mu_);
  auto& c = copies_[path];
  if (c.fd && c.dev == id.dev && c.ino == id.ino && c.size == id.size && c.mtime_ns == id.mtime_ns &&
      c.ctime_ns == id.ctime_ns)
    return c.fd;
  auto mem = sealed_copy_of(src.get());
  if (!mem) {
    copies_.erase(path);
    return nullptr;
  }
  id.fd = std::make_shared<UniqueFd>(std::move(*mem));
  c = std::move(id);
  return c.fd;
}

void wait_for_exit(const UniqueFd& pidfd, int timeout_ms) {
  if (!pidfd) return;
  pollfd p{pidfd.get(), POLLIN, 0};
  while (::poll(&p, 1, timeout_ms) < 0 && errno == EINTR) {
  }
}

Result<ShimConn> ShimConn::connect(const std::string& socket) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (socket.size() >= sizeof sa.sun_path)
    return make_error(Errc::invalid, "shim socket path too long: " + socket);
  std::memcpy(sa.sun_path, socket.c_str(), socket.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return sys_error("connect to shim " + socket);
  return ShimConn(std::move(fd));
}

Status ShimConn::send(const Json& req) {
  std::string line = req.dump() + "\n";
  return fs::write_all(fd_.get(), line);
}

Result<Json> ShimConn::read_answer() {
  for (;;) {
    auto nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return parse_json(line);
    }
    char b[4096];
    ssize_t n = ::read(fd_.get(), b, sizeof b);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read from shim");
    }
    if (n == 0) return make_error(Errc::unavailable, "shim closed the connection");
    buf_.append(b, static_cast<size_t>(n));
    if (buf_.size() > (1u << 20)) return make_error(Errc::internal, "shim answer too long");
  }
}

Result<Json> shim_call(const std::string& socket, const Json& req) {
  auto c = BERTH_TRY(ShimConn::connect(socket));
  BERTH_TRY_VOID(c.send(req));
  Json a = BERTH_TRY(c.read_answer());
  if (!a.is_object() || !a.value("ok", false)) {
    std::string m = a.is_object() && a.contains("error") && a["error"].is_string()
                        ? a["error"].get<std::string>()
                        : "shim request failed";
    return make_error(Errc::internal, m);
  }
  return a;
}

}  // namespace berth::container
