#include "shim/monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "common/fs.h"
#include "common/time.h"

namespace berth::shim {

namespace {

constexpr uint64_t kListen = 1, kSignal = 2, kOut = 3, kErr = 4, kIn = 5;
constexpr size_t kReadSize = 64 * 1024;
// Output pipes stay at the kernel's default size. Growing them (1 MiB with
// F_SETPIPE_SZ saved ~15% of shim CPU per MB) is charged to root's per-user
// pipe budget (fs.pipe-user-pages-soft, 64 MiB): past ~32 containers every
// new pipe of a process without CAP_SYS_RESOURCE/CAP_SYS_ADMIN, i.e. every
// pipe inside every container, would shrink to 8 KiB.
// Reads per readable event while each one fills the buffer: drains a pipe a
// fast writer keeps full without an epoll_wait per 64 KiB, and still returns
// to the loop after 1 MiB so the other stream, clients and signals are served.
constexpr int kReadsPerWake = 16;
constexpr size_t kMaxRequestLine = 64 * 1024;
constexpr int64_t kDrainGraceNs = 2'000'000'000;  // output EOF wait after init exit
constexpr int kFinalFlushMs = 2000;               // attach delivery at exit
constexpr int64_t kLogFlushDelayNs = 2'000'000;   // bound on a log line's wait in memory
// Quiet time after the last log flush before the driver gives its buffer
// pages back (LogDriver::trim): never while output streams (re-faulting the
// buffer every 2 ms tripled the shim's CPU per MB), soon after it stops.
constexpr int64_t kLogTrimDelayNs = 500'000'000;

int64_t now_ns() { return timeutil::now_unix_nano(); }

}  // namespace
}  // namespace berth::shim

// The executable's start and the end of its code (GNU ld).
extern "C" char __executable_start[];
extern "C" char etext[];

namespace berth::shim {
namespace {

// Unmaps (from this process's page tables only: the page cache keeps them,
// shared with every other shim) the pages of our own code. Spawned by
// berthd, the monitor is the exec'd process, so its RSS counts all the
// startup code (option parsing, bootstrap, the runtime spawn: ~250 KiB more
// than the forked monitor had); once quiet, only what it runs from then on
// comes back, as with a fork. Code is never written, so nothing is lost.
void drop_code_pages() {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  uintptr_t b = reinterpret_cast<uintptr_t>(__executable_start) & ~(page - 1);
  uintptr_t e = reinterpret_cast<uintptr_t>(etext) & ~(page - 1);
  if (e > b) (void)::madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
}

void set_nonblock(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

// True if `pid` is a child of this process (then it cannot be reaped, and
// its pid cannot be reused, by anyone but us).
bool is_our_child(pid_t pid) {
  auto stat = fs::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  auto rp = stat->rfind(')');
  if (rp == std::string::npos || rp + 4 >= stat->size()) return false;
  // ") S PPID ..."
  const char* p = stat->c_str() + rp + 4;
  return std::strtol(p, nullptr, 10) == ::getpid();
}

}  // namespace

void Monitor::Buffer::consume(size_t n) {
  off += n;
  if (off == data.size()) {
    data.clear();
    off = 0;
    if (data.capacity() > 256 * 1024) data.shrink_to_fit();
  } else if (off > 64 * 1024 && off * 2 > data.size()) {
    data.erase(0, off);
    off = 0;
  }
}

Monitor::Monitor(const Options& opts, const RuntimeCli& runtime, logging::LogDriver* log,
                 MonitorFds fds, pid_t init_pid)
    : opts_(opts), runtime_(runtime), log_(log), fds_(std::move(fds)), init_pid_(init_pid) {}

Monitor::~Monitor() = default;

Status Monitor::setup() {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return sys_error("epoll_create1");
  readbuf_.reset(new char[kReadSize]);
  auto add = [&](int fd, uint64_t token, uint32_t ev) -> Status {
    epoll_event e{};
    e.events = ev;
    e.data.u64 = token;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &e) != 0) return sys_error("epoll_ctl");
    return ok();
  };
  set_nonblock(fds_.listen.get());
  BERTH_TRY_VOID(add(fds_.listen.get(), kListen, EPOLLIN));
  BERTH_TRY_VOID(add(fds_.sigfd.get(), kSignal, EPOLLIN));
  // Exec mode and --run: the process already runs; its output and exit wait
  // for the first `start` (after berthd connected its attach clients).
  gate_open_ = opts_.exec_process.empty() && !opts_.run_now;
  if (opts_.run_now) locate_oom_counter();
  if (!gate_open_) return ok();
  return open_gate();
}

Status Monitor::open_gate() {
  gate_open_ = true;
  auto add = [&](int fd, uint64_t token, uint32_t ev) -> Status {
    epoll_event e{};
    e.events = ev;
    e.data.u64 = token;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &e) != 0) return sys_error("epoll_ctl");
    return ok();
  };
  if (fds_.out) {
    set_nonblock(fds_.out.get());
    BERTH_TRY_VOID(add(fds_.out.get(), kOut, EPOLLIN));
  }
  if (fds_.err) {
    set_nonblock(fds_.err.get());
    BERTH_TRY_VOID(add(fds_.err.get(), kErr, EPOLLIN));
  }
  if (fds_.in) set_nonblock(fds_.in.get());
  return ok();
}

int Monitor::run() {
  if (!setup()) return 1;
  // The first quiet kLogTrimDelayNs also gives the startup code back.
  log_trim_at_ns_ = now_ns() + kLogTrimDelayNs;
  epoll_event events[32];
  while (!done_) {
    int timeout = -1;
    if (exiting_) {
      int64_t left = drain_deadline_ns_ - now_ns();
      timeout = left <= 0 ? 0 : static_cast<int>(left / 1000000) + 1;
    }
    if (log_dirty_since_ns_ != 0 || log_trim_at_ns_ != 0) {
      int64_t left = log_dirty_since_ns_ != 0 ? log_dirty_since_ns_ + kLogFlushDelayNs - now_ns()
                                              : log_trim_at_ns_ - now_ns();
      int ms = left <= 0 ? 0 : static_cast<int>((left + 999999) / 1000000);
      if (timeout < 0 || ms < timeout) timeout = ms;
    }
    int n = ::epoll_wait(epoll_.get(), events, 32, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    for (int i = 0; i < n; ++i) handle(events[i].data.u64, events[i].events);
    // The driver writes by itself when its buffer fills; what is left goes
    // out once it has waited kLogFlushDelayNs.
    if (log_dirty_since_ns_ != 0 && now_ns() - log_dirty_since_ns_ >= kLogFlushDelayNs) {
      if (log_) (void)log_->flush();
      log_dirty_since_ns_ = 0;
      log_trim_at_ns_ = now_ns() + kLogTrimDelayNs;
    } else if (log_trim_at_ns_ != 0 && log_dirty_since_ns_ == 0 && now_ns() >= log_trim_at_ns_) {
      if (log_) log_->trim();
      log_trim_at_ns_ = 0;
      if (!code_dropped_) drop_code_pages();
      code_dropped_ = true;
    }
    if (exiting_ && ((!fds_.out && !fds_.err) || now_ns() >= drain_deadline_ns_)) finish();
  }
  return 0;
}

void Monitor::handle(uint64_t token, uint32_t events) {
  switch (token) {
    case kListen: accept_clients(); return;
    case kSignal: on_signal(); return;
    case kOut: on_output(0); return;
    case kErr: on_output(1); return;
    case kIn:
      if (events & (EPOLLERR | EPOLLHUP)) {
        close_stdin();
      } else {
        on_stdin_writable();
      }
      return;
    default: {
      auto it = clients_.find(token);
      if (it != clients_.end()) on_client(*it->second, events);
    }
  }
}

void Monitor::on_signal() {
  signalfd_siginfo si;
  while (::read(fds_.sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
  }
  for (;;) {
    int st = 0;
    pid_t p = ::waitpid(-1, &st, WNOHANG);
    if (p <= 0) break;
    if (p == init_pid_ && status_ != Status_::stopped) {
      if (!gate_open_) {
        deferred_exit_ = true;
        deferred_status_ = st;
        continue;
      }
      begin_exit(st);
    }
  }
}

namespace {
// "oom_kill N" in memory.oom_control (v1) or memory.events (v2).
uint64_t read_oom_kills(const std::string& file) {
  if (file.empty()) return 0;
  auto t = fs::read_file(file);
  if (!t) return 0;
  auto p = t->find("oom_kill ");
  if (p == std::string::npos) return 0;
  return std::strtoull(t->c_str() + p + 9, nullptr, 10);
}
}  // namespace

void Monitor::locate_oom_counter() {
  if (!opts_.exec_process.empty() || init_pid_ <= 0) return;
  auto t = fs::read_file("/proc/" + std::to_string(init_pid_) + "/cgroup");
  if (!t) return;
  size_t pos = 0;
  while (pos < t->size()) {
    size_t nl = t->find('\n', pos);
    if (nl == std::string::npos) nl = t->size();
    std::string line = t->substr(pos, nl - pos);
    pos = nl + 1;
    auto a = line.find(':');
    auto b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    bool mem = false;
    size_t s = 0;
    while (s <= ctrls.size()) {
      size_t c = ctrls.find(',', s);
      if (c == std::string::npos) c = ctrls.size();
      if (ctrls.compare(s, c - s, "memory") == 0) mem = true;
      s = c + 1;
    }
    if (mem) {
      oom_file_ = "/sys/fs/cgroup/" + ctrls + path + "/memory.oom_control";
      if (!fs::exists(oom_file_)) oom_file_ = "/sys/fs/cgroup/memory" + path + "/memory.oom_control";
      break;
    }
    if (ctrls.empty() && fs::exists("/sys/fs/cgroup/cgroup.controllers") &&
        fs::exists("/sys/fs/cgroup" + path + "/memory.events"))
      oom_file_ = "/sys/fs/cgroup" + path + "/memory.events";
  }
  oom_kills_at_start_ = read_oom_kills(oom_file_);
}

void Monitor::begin_exit(int wait_status) {
  status_ = Status_::stopped;
  oom_killed_ = read_oom_kills(oom_file_) > oom_kills_at_start_;
  exit_code_ = WIFEXITED(wait_status)     ? WEXITSTATUS(wait_status)
               : WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status)
                                          : 255;
  exited_at_ns_ = now_ns();
  exiting_ = true;
  drain_deadline_ns_ = exited_at_ns_ + kDrainGraceNs;
}

void Monitor::close_output(int which) {
  UniqueFd& fd = which == 0 ? fds_.out : fds_.err;
  if (!fd) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd.get(), nullptr);
  fd.reset();
}

void Monitor::on_output(int which) {
  UniqueFd& fd = which == 0 ? fds_.out : fds_.err;
  if (!fd) return;
  auto s = (which == 0 || opts_.tty) ? logging::Stream::out : logging::Stream::err;
  for (int k = 0; k < kReadsPerWake; ++k) {
    ssize_t n = ::read(fd.get(), readbuf_.get(), kReadSize);
    if (n > 0) {
      if (log_) {
        // Each read is stamped when it was read, as Docker's copier does.
        int64_t t = now_ns();
        (void)log_->write(s, std::string_view(readbuf_.get(), static_cast<size_t>(n)), t);
        if (log_dirty_since_ns_ == 0) log_dirty_since_ns_ = t;
      }
      deliver(s, readbuf_.get(), static_cast<size_t>(n));
      if (static_cast<size_t>(n) < kReadSize) return;  // drained: back to epoll
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    close_output(which);  // EOF, or EIO on a pty whose slave side is gone
    return;
  }
}

void Monitor::deliver(logging::Stream s, const char* data, size_t n) {
  std::vector<uint64_t> gone;
  std::string framed;
  for (auto& [token, cp] : clients_) {
    Client& c = *cp;
    if (c.kind != Kind::attach || c.close_after_flush) continue;
    bool want = opts_.tty ? c.want_stdout : (s == logging::Stream::err ? c.want_stderr : c.want_stdout);
    if (!want) continue;
    if (opts_.tty) {
      queue(c, std::string_view(data, n));
    } else {
      if (framed.empty()) logging::append_stdcopy_frame(framed, s, std::string_view(data, n));
      queue(c, framed);
    }
    if (c.out.size() > kClientBufferCap || !flush_client(c)) gone.push_back(token);
  }
  for (auto t : gone) drop(t);
}

void Monitor::queue(Client& c, std::string_view bytes) { c.out.data.append(bytes); }

bool Monitor::flush_client(Client& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd.get(), c.out.data.data() + c.out.off, c.out.size(),
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return false;
    }
    c.out.consume(static_cast<size_t>(n));
  }
  if (c.out.empty() && c.close_after_flush) return false;
  update_events(c);
  return true;
}

void Monitor::update_events(Client& c) {
  uint32_t ev = 0;
  bool paused = c.kind == Kind::attach && c.want_stdin && stdin_paused_;
  if (!c.read_closed && !paused) ev |= EPOLLIN;
  if (!c.out.empty()) ev |= EPOLLOUT;
  if (ev == c.events) return;
  epoll_event e{};
  e.events = ev;
  e.data.u64 = c.token;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &e);
  c.events = ev;
}

void Monitor::drop(uint64_t token) {
  auto it = clients_.find(token);
  if (it == clients_.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second->fd.get(), nullptr);
  clients_.erase(it);
}

void Monitor::accept_clients() {
  for (;;) {
    int fd = ::accept4(fds_.listen.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;  // EAGAIN, or transient errors (EMFILE): try again later
    auto c = std::make_unique<Client>();
    c->fd.reset(fd);
    c->token = next_token_++;
    c->events = EPOLLIN;
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = c->token;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &e) != 0) continue;
    clients_.emplace(c->token, std::move(c));
  }
}

void Monitor::on_client(Client& c, uint32_t events) {
  const uint64_t token = c.token;
  if (events & EPOLLERR) {
    drop(token);
    return;
  }
  if (events & EPOLLOUT) {
    if (!flush_client(c)) {
      drop(token);
      return;
    }
  }
  if ((events & (EPOLLIN | EPOLLHUP)) && !c.read_closed) {
    // Read everything available; on HUP keep going until EOF so that stdin
    // sent right before the close is not lost.
    for (;;) {
      char* buf = readbuf_.get();
      ssize_t n = ::recv(c.fd.get(), buf, kReadSize, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        drop(token);
        return;
      }
      if (n == 0) {
        c.read_closed = true;
        if (c.kind == Kind::request) {  // closed before a full request
          drop(token);
          return;
        }
        if (c.kind == Kind::attach && c.want_stdin && opts_.stdin_open) {
          // stdin EOF. With --stdin-once (and no tty) the container's stdin
          // is closed; otherwise this attach ends, as dockerd does.
          if (opts_.stdin_once && !opts_.tty) {
            stdin_close_pending_ = true;
            if (stdin_buf_.empty()) close_stdin();
          } else {
            c.close_after_flush = true;
          }
        }
        break;
      }
      std::string_view data(buf, static_cast<size_t>(n));
      if (c.kind == Kind::request) {
        c.line.append(data);
        auto nl = c.line.find('\n');
        if (nl == std::string::npos) {
          if (c.line.size() > kMaxRequestLine) {
            queue(c, reply_error("request too long"));
            c.close_after_flush = true;
            c.read_closed = true;
            break;
          }
          continue;
        }
        std::string rest = c.line.substr(nl + 1);
        std::string line = c.line.substr(0, nl);
        c.line.clear();
        c.line.shrink_to_fit();
        auto req = parse_request(line);
        if (!req) {
          queue(c, reply_error(req.error().msg));
          c.close_after_flush = true;
          c.read_closed = true;
        } else {
          dispatch(c, *req);
        }
        if (clients_.find(token) == clients_.end()) return;
        if (c.read_closed) break;  // answered; nothing more is read
        if (c.kind != Kind::attach || rest.empty()) continue;
        data = rest;
        // Bytes that followed the attach request are stdin.
        if (c.want_stdin && opts_.stdin_open && fds_.in && !stdin_close_pending_) {
          stdin_buf_.data.append(data);
          on_stdin_writable();
        }
        continue;
      }
      if (c.kind == Kind::attach && c.want_stdin && opts_.stdin_open && fds_.in &&
          !stdin_close_pending_) {
        stdin_buf_.data.append(data);
        on_stdin_writable();
        if (stdin_paused_) break;
      }
      // Anything else (waiters, output-only attaches) is discarded.
    }
  }
  if (clients_.find(token) == clients_.end()) return;
  if (events & EPOLLHUP) {
    // Peer closed both directions.
    drop(token);
    return;
  }
  if (!flush_client(c)) drop(token);
}

void Monitor::dispatch(Client& c, const Request& r) {
  auto answer = [&](std::string reply) {
    queue(c, reply);
    c.close_after_flush = true;
    c.read_closed = true;
  };
  switch (r.op) {
    case Op::start: {
      if (!gate_open_) {
        // Exec mode or --run: the process already runs; let its output flow now.
        if (auto st = open_gate(); !st) return answer(reply_error(st.error().msg));
        status_ = Status_::running;
        if (deferred_exit_) begin_exit(deferred_status_);
        return answer(reply_ok({{"pid", init_pid_}}));
      }
      if (status_ == Status_::running) return answer(reply_error("container " + opts_.id + " is already running"));
      if (status_ == Status_::stopped) return answer(reply_error("container " + opts_.id + " is not running"));
      auto o = runtime_.run({"start", opts_.id});
      if (!o) return answer(reply_error(o.error().msg));
      if (!o->success()) return answer(reply_error(o->message()));
      if (status_ == Status_::created) status_ = Status_::running;
      locate_oom_counter();
      return answer(reply_ok({{"pid", init_pid_}}));
    }
    case Op::state:
      return answer(reply_ok(state_fields()));
    case Op::wait:
      c.kind = Kind::waiter;
      return;
    case Op::kill:
      return handle_kill(c, r);
    case Op::resize: {
      if (!opts_.tty) return answer(reply_error("container " + opts_.id + " has no tty"));
      if (!fds_.out) return answer(reply_error("container " + opts_.id + " is not running"));
      winsize ws{};
      ws.ws_row = static_cast<unsigned short>(r.height);
      ws.ws_col = static_cast<unsigned short>(r.width);
      if (::ioctl(fds_.out.get(), TIOCSWINSZ, &ws) != 0)
        return answer(reply_error(sys_error("resize tty").msg));
      return answer(reply_ok());
    }
    case Op::attach:
      c.kind = Kind::attach;
      c.want_stdin = r.attach_stdin;
      c.want_stdout = r.attach_stdout;
      c.want_stderr = r.attach_stderr;
      queue(c, reply_ok());
      return;
    case Op::shutdown:
      // The shim always exits once the container has stopped and waiters
      // are answered; shutdown only acknowledges that. A held process
      // (exec mode, --run) that is never started must not hold the shim
      // forever: its exit, once it comes, is processed from now on.
      if (!gate_open_) {
        if (auto st = open_gate(); !st) return answer(reply_error(st.error().msg));
        if (deferred_exit_) begin_exit(deferred_status_);
      }
      return answer(reply_ok());
  }
}

void Monitor::handle_kill(Client& c, const Request& r) {
  auto answer = [&](std::string reply) {
    queue(c, reply);
    c.close_after_flush = true;
    c.read_closed = true;
  };
  if (status_ == Status_::stopped) return answer(reply_error("container " + opts_.id + " is not running"));
  // Fast path: the init is our (unreaped) child, so its pid cannot have been
  // reused; signal it directly instead of exec'ing the runtime.
  if (!r.all && is_our_child(init_pid_)) {
    if (::kill(init_pid_, r.signal) == 0) return answer(reply_ok());
    if (errno != ESRCH) return answer(reply_error(sys_error("kill").msg));
  }
  std::vector<std::string> args = {"kill"};
  if (r.all) args.push_back("--all");
  args.push_back(opts_.id);
  args.push_back(std::to_string(r.signal));
  auto o = runtime_.run(args);
  if (!o) return answer(reply_error(o.error().msg));
  if (!o->success()) return answer(reply_error(o->message()));
  answer(reply_ok());
}

void Monitor::on_stdin_writable() {
  while (fds_.in && !stdin_buf_.empty()) {
    ssize_t n = ::write(fds_.in.get(), stdin_buf_.data.data() + stdin_buf_.off, stdin_buf_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      close_stdin();  // EPIPE: the container closed its stdin
      break;
    }
    stdin_buf_.consume(static_cast<size_t>(n));
  }
  if (!fds_.in) {
    stdin_buf_.data.clear();
    stdin_buf_.off = 0;
  }
  if (stdin_buf_.empty() && stdin_close_pending_) close_stdin();
  update_stdin_events();
}

void Monitor::update_stdin_events() {
  bool want_out = fds_.in && !stdin_buf_.empty();
  if (want_out != stdin_registered_out_ && fds_.in) {
    epoll_event e{};
    e.events = EPOLLOUT;
    e.data.u64 = kIn;
    ::epoll_ctl(epoll_.get(), want_out ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fds_.in.get(), &e);
    stdin_registered_out_ = want_out;
  }
  bool paused = stdin_buf_.size() > kStdinHighWater;
  if (paused != stdin_paused_) {
    stdin_paused_ = paused;
    for (auto& [t, cp] : clients_)
      if (cp->kind == Kind::attach && cp->want_stdin) update_events(*cp);
  }
}

void Monitor::close_stdin() {
  if (fds_.in) {
    if (stdin_registered_out_) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fds_.in.get(), nullptr);
    stdin_registered_out_ = false;
    fds_.in.reset();
  }
  stdin_buf_.data.clear();
  stdin_buf_.off = 0;
  if (stdin_paused_) {
    stdin_paused_ = false;
    for (auto& [t, cp] : clients_)
      if (cp->kind == Kind::attach && cp->want_stdin) update_events(*cp);
  }
}

Json Monitor::state_fields() const {
  Json j = Json::object();
  j["status"] = status_ == Status_::created ? "created" : status_ == Status_::running ? "running" : "stopped";
  j["pid"] = init_pid_;
  if (status_ == Status_::stopped) {
    j["exit_code"] = exit_code_;
    j["exited_at"] = timeutil::rfc3339_nano(exited_at_ns_);
  }
  return j;
}

std::string Monitor::wait_reply() const {
  return reply_ok({{"exit_code", exit_code_},
                   {"exited_at", timeutil::rfc3339_nano(exited_at_ns_)},
                   {"oom_killed", oom_killed_}});
}

void Monitor::finish() {
  done_ = true;
  // 1. Whatever is still buffered in the pipes (or pty).
  for (int which = 0; which < 2; ++which) {
    UniqueFd& fd = which == 0 ? fds_.out : fds_.err;
    while (fd) {
      ssize_t n = ::read(fd.get(), readbuf_.get(), kReadSize);
      if (n <= 0) break;
      auto s = (which == 0 || opts_.tty) ? logging::Stream::out : logging::Stream::err;
      if (log_) (void)log_->write(s, std::string_view(readbuf_.get(), static_cast<size_t>(n)), now_ns());
      deliver(s, readbuf_.get(), static_cast<size_t>(n));
    }
    close_output(which);
  }
  close_stdin();
  // 2. The log is complete before anyone learns of the exit.
  if (log_) (void)log_->close(now_ns());
  // 3. Remaining output to attach clients (bounded wait), then close them.
  int64_t deadline = now_ns() + int64_t{kFinalFlushMs} * 1000000;
  for (;;) {
    std::vector<pollfd> pfds;
    for (auto& [t, cp] : clients_) {
      if (cp->kind != Kind::attach || cp->out.empty()) continue;
      if (!flush_client(*cp) || cp->out.empty()) continue;
      pfds.push_back({cp->fd.get(), POLLOUT, 0});
    }
    int64_t left = (deadline - now_ns()) / 1000000;
    if (pfds.empty() || left <= 0) break;
    ::poll(pfds.data(), pfds.size(), static_cast<int>(left));
  }
  std::vector<uint64_t> attach;
  for (auto& [t, cp] : clients_)
    if (cp->kind == Kind::attach) attach.push_back(t);
  for (auto t : attach) drop(t);
  // 4. The exit record, then waiters: berthd learns of the exit without
  // waiting for the runtime's delete (one exec and the cgroup removal).
  Json ex = Json::object();
  ex["exit_code"] = exit_code_;
  ex["exited_at"] = timeutil::rfc3339_nano(exited_at_ns_);
  ex["oom_killed"] = oom_killed_;
  ex["pid"] = init_pid_;
  (void)fs::write_file_atomic(fs::join(opts_.state_dir, "exit.json"), ex.dump() + "\n",
                              fs::Durability::none, 0644);
  std::string wr = wait_reply();
  for (auto& [t, cp] : clients_) {
    if (cp->kind != Kind::waiter) continue;
    (void)::send(cp->fd.get(), wr.data(), wr.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  // Also answer requests that were queued but not yet written.
  for (auto& [t, cp] : clients_)
    if (cp->kind == Kind::request && !cp->out.empty()) (void)flush_client(*cp);
  clients_.clear();
  ::unlink(opts_.socket.c_str());
  // 5. Runtime state. berthd may already be removing STATE_DIR, so the
  // runtime's log goes to /dev/null; berthd waits for this process to end
  // (shim.pid) before it starts a new shim for the same container.
  if (!opts_.exec_process.empty()) {
    ::unlink(fs::join(opts_.state_dir, "shim.pid").c_str());
    return;
  }
  RuntimeCli quiet = runtime_.with_log("/dev/null");
  auto del = quiet.run({"delete", opts_.id});
  if (!del || !del->success()) (void)quiet.run({"delete", "--force", opts_.id});
  ::unlink(fs::join(opts_.state_dir, "shim.pid").c_str());
}

}  // namespace berth::shim
