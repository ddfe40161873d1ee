#include "shim/shim.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "common/fs.h"
#include "common/strings.h"
#include "logging/drivers.h"
#include "logging/json_file.h"
#include "shim/console_socket.h"
#include "shim/monitor.h"
#include "shim/runtime_cli.h"

namespace berth::shim {

namespace {

Result<UniqueFd> listen_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return make_error(Errc::invalid, "socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return sys_error("socket");
  ::unlink(path.c_str());
  mode_t old = ::umask(0177);  // 0600
  int r = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (r != 0) return sys_error("bind " + path);
  if (::listen(fd.get(), 128) != 0) return sys_error("listen " + path);
  return fd;
}

struct Pipe {
  UniqueFd r, w;
};
Result<Pipe> make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe2");
  return Pipe{UniqueFd(p[0]), UniqueFd(p[1])};
}

std::string drain_nonblocking(int fd) {
  std::string out;
  if (fd < 0) return out;
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 65536) break;
  }
  return out;
}

// Everything the monitor process owns between bootstrap and exit.
class Bootstrap {
 public:
  explicit Bootstrap(const Options& o)
      : o_(o), runtime_(o.runtime, o.runtime_root, fs::join(o.state_dir, "runtime.log")) {
    // berthd's shared sealed copy of the runtime; one that is not sealed is
    // closed, and the shim makes its own copy as without the flag.
    if (o.runtime_fd >= 0 && !runtime_.adopt_sealed_copy(o.runtime_fd)) ::close(o.runtime_fd);
  }

  // Creates the container; on failure everything created so far is undone
  // and the error carries the message for berthd.
  Status create();
  int monitor();
  // Removes everything create() made (runtime state, socket, files).
  void undo();

 private:

  const Options& o_;
  RuntimeCli runtime_;
  bool created_state_dir_ = false;
  bool wrote_pid_ = false;
  bool runtime_created_ = false;
  UniqueFd listen_;
  UniqueFd sigfd_;
  std::unique_ptr<logging::LogDriver> log_;
  MonitorFds fds_;
  pid_t init_pid_ = 0;
};

Status Bootstrap::create() {
  if (!fs::exists(o_.state_dir)) {
    BERTH_TRY_VOID(fs::mkdir_p(o_.state_dir, 0711));
    created_state_dir_ = true;
  }
  BERTH_TRY_VOID(fs::write_file_atomic(fs::join(o_.state_dir, "shim.pid"),
                                       std::to_string(::getpid()), fs::Durability::none));
  wrote_pid_ = true;
  ::unlink(fs::join(o_.state_dir, "exit.json").c_str());
  ::unlink(fs::join(o_.state_dir, "init.pid").c_str());

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return sys_error("sigprocmask");
  sigfd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd_) return sys_error("signalfd");

  listen_ = BERTH_TRY_CTX(listen_unix(o_.socket), "control socket");

  if (!o_.log_config.empty()) {
    auto text = BERTH_TRY(fs::read_file(o_.log_config));
    auto j = BERTH_TRY(parse_json(text));
    auto cfg = BERTH_TRY(logging::driver_config_from_json(j));
    log_ = BERTH_TRY_CTX(logging::make_driver(cfg), "failed to initialize logging driver");
  } else if (o_.log_driver == LogDriverKind::json_file) {
    (void)fs::mkdir_p(fs::dirname(o_.log_path), 0700);
    log_ = BERTH_TRY(logging::JsonFileWriter::open(o_.log_path));
  }

  // The container's stdio.
  std::optional<ConsoleSocket> console;
  Pipe out, err, in;
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) return sys_error("open /dev/null");
  const bool exec_mode = !o_.exec_process.empty();
  // --run: create and start in one runtime process (runc/crun/berth-runtime
  // `run --detach`); the monitor holds output and exit until berthd's start.
  std::vector<std::string> args = {"create", "--bundle", o_.bundle, "--pid-file",
                                   fs::join(o_.state_dir, "init.pid")};
  if (o_.run_now)
    args = {"run", "--detach", "--bundle", o_.bundle, "--pid-file", fs::join(o_.state_dir, "init.pid")};
  if (exec_mode)
    args = {"exec", "-d", "--process", o_.exec_process, "--pid-file", fs::join(o_.state_dir, "init.pid")};
  RuntimeCli::Stdio stdio;
  if (o_.tty) {
    console.emplace(BERTH_TRY(make_console_socket(o_.state_dir)));
    args.push_back("--console-socket");
    args.push_back(console->path());
    stdio.in = devnull.get();  // out/err: captured by RuntimeCli
  } else {
    out = BERTH_TRY(make_pipe());
    err = BERTH_TRY(make_pipe());
    if (o_.stdin_open) in = BERTH_TRY(make_pipe());
    stdio.in = o_.stdin_open ? in.r.get() : devnull.get();
    stdio.out = out.w.get();
    stdio.err = err.w.get();
  }
  args.push_back(o_.id);

  auto outcome = BERTH_TRY(runtime_.run(args, stdio));
  // The container holds its ends now; ours must go so that EOF is seen.
  out.w.reset();
  err.w.reset();
  in.r.reset();
  if (!outcome.success()) {
    std::string fallback = drain_nonblocking(err.r.get());
    if (fallback.empty()) fallback = drain_nonblocking(out.r.get());
    return make_error(Errc::internal, outcome.message(fallback));
  }
  runtime_created_ = !exec_mode;  // an exec must never delete the container

  if (o_.tty) {
    UniqueFd master = BERTH_TRY(console->receive_master(5000));
    if (o_.stdin_open) {
      // A second fd on the master for the stdin direction (epoll needs
      // distinct fds for the read and write interests).
      int dup = ::fcntl(master.get(), F_DUPFD_CLOEXEC, 3);
      if (dup < 0) return sys_error("dup pty master");
      fds_.in.reset(dup);
    }
    fds_.out = std::move(master);
  } else {
    fds_.out = std::move(out.r);
    fds_.err = std::move(err.r);
    fds_.in = std::move(in.w);
  }

  auto pid_text = BERTH_TRY_CTX(fs::read_file(fs::join(o_.state_dir, "init.pid")), "read init.pid");
  auto pid = str::parse_int(str::trim(pid_text));
  if (!pid || *pid <= 0) return make_error(Errc::internal, "invalid init.pid \"" + pid_text + "\"");
  init_pid_ = static_cast<pid_t>(*pid);
  return ok();
}

void Bootstrap::undo() {
  if (runtime_created_) (void)runtime_.run({"delete", "--force", o_.id});
  listen_.reset();
  ::unlink(o_.socket.c_str());
  ::unlink(fs::join(o_.state_dir, "init.pid").c_str());
  ::unlink(fs::join(o_.state_dir, "runtime.log").c_str());
  if (wrote_pid_) ::unlink(fs::join(o_.state_dir, "shim.pid").c_str());
  if (created_state_dir_) ::rmdir(o_.state_dir.c_str());
}

int Bootstrap::monitor() {
  fds_.listen = std::move(listen_);
  fds_.sigfd = std::move(sigfd_);
  Monitor m(o_, runtime_, log_.get(), std::move(fds_), init_pid_);
  return m.run();
}

// The monitor process from its start to its exit: bootstrap, the verdict on
// `report` ("ok", or "E<msg>\n" after cleaning up), then the monitor loop.
// The caller made it a session leader.
int run_monitor(const Options& opts, UniqueFd report) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  ::signal(SIGPIPE, SIG_IGN);
  if (::chdir("/") != 0) {
  }
  int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    if (devnull > 2) ::close(devnull);
  }
  Bootstrap b(opts);
  Status st = b.create();
  if (!st) {
    // Reported only after cleanup so that berthd sees nothing left behind.
    std::string line = st.error().msg;
    for (auto& ch : line)
      if (ch == '\n') ch = ' ';
    b.undo();
    std::string m = "E" + line + "\n";
    (void)fs::write_all(report.get(), m);
    return 1;
  }
  (void)fs::write_all(report.get(), "ok");
  report.reset();
  return b.monitor();
}

}  // namespace

int run_shim(const Options& opts) {
  if (opts.report_fd >= 0) {
    // berthd spawned this process as the monitor, in its own session, with
    // the report pipe on report_fd (and on stderr until run_monitor points
    // that at /dev/null). Neither the runtime nor the container may
    // inherit the pipe: berthd reads it to EOF.
    if (::fcntl(opts.report_fd, F_SETFD, FD_CLOEXEC) != 0) {
      std::fprintf(stderr, "berth-shim: --report-fd %d: %s\n", opts.report_fd, std::strerror(errno));
      return 1;
    }
    return run_monitor(opts, UniqueFd(opts.report_fd));
  }
  // Run by hand: daemonize. The first process waits for the monitor's
  // verdict and exits with it.
  int rp[2];
  if (::pipe2(rp, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "berth-shim: pipe: %s\n", std::strerror(errno));
    return 1;
  }
  UniqueFd report_r(rp[0]), report_w(rp[1]);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    std::fprintf(stderr, "berth-shim: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (pid > 0) {
    report_w.reset();
    std::string msg;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(report_r.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      msg.append(buf, static_cast<size_t>(n));
    }
    if (msg == "ok") return 0;
    int st = 0;
    ::waitpid(pid, &st, 0);  // the failed monitor has cleaned up and exits
    if (msg.empty() || msg[0] != 'E') msg = "Eberth-shim: monitor process died during startup";
    std::string line = msg.substr(1);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    std::fprintf(stderr, "%s\n", line.c_str());
    return 1;
  }
  report_r.reset();
  ::setsid();
  return run_monitor(opts, std::move(report_w));
}

}  // namespace berth::shim
