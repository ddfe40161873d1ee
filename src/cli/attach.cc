// The attached-container session shared by `run`, `start -a` and `attach`
// (see attach.h).
#include "cli/attach.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "api/detach_keys.h"
#include "api/http_wire.h"
#include "common/fs.h"
#include "common/strings.h"

namespace berth::cli {

SignalWatch::SignalWatch(const std::vector<int>& sigs) {
  sigemptyset(&set_);
  for (int s : sigs) sigaddset(&set_, s);
  if (sigs.empty()) return;
  if (::sigprocmask(SIG_BLOCK, &set_, &old_) != 0) return;
  blocked_ = true;
  fd_.reset(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
}

SignalWatch::~SignalWatch() {
  fd_.reset();
  if (blocked_) ::sigprocmask(SIG_SETMASK, &old_, nullptr);
}

int SignalWatch::next() {
  signalfd_siginfo si{};
  ssize_t n = ::read(fd_.get(), &si, sizeof si);
  return n == sizeof si ? static_cast<int>(si.ssi_signo) : 0;
}

namespace {

const char* signal_name(int s) {
  switch (s) {
    case SIGHUP: return "HUP";
    case SIGINT: return "INT";
    case SIGQUIT: return "QUIT";
    case SIGTERM: return "TERM";
    case SIGUSR1: return "USR1";
    case SIGUSR2: return "USR2";
    case SIGALRM: return "ALRM";
    default: return nullptr;
  }
}

}  // namespace

std::vector<int> proxied_signals(bool sig_proxy, bool out_tty) {
  std::vector<int> sigs;
  if (sig_proxy) sigs = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM};
  if (out_tty) sigs.push_back(SIGWINCH);
  return sigs;
}

Result<std::string> parse_detach_keys(std::string_view keys) { return api::parse_detach_keys(keys); }

void resize_container(client::Client& c, const std::string& id, int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0) return;
  (void)c.request(client::Request::post("/containers/" + client::path_escape(id) + "/resize",
                                        {{"h", std::to_string(ws.ws_row)}, {"w", std::to_string(ws.ws_col)}}));
}

Result<int> wait_status(client::Stream& s) {
  std::string body = BERTH_TRY(s.read_all());
  auto j = parse_json(body);
  if (!j || !j->is_object()) return make_error(Errc::internal, "invalid wait response from the daemon");
  if (j->contains("Error") && (*j)["Error"].is_object()) {
    std::string m = (*j)["Error"].value("Message", "");
    if (!m.empty()) return make_error(Errc::internal, m);
  }
  return static_cast<int>(j->value("StatusCode", int64_t{125}));
}

Result<bool> pump_attached(Context& ctx, client::Client& c, client::Hijacked& hj, SignalWatch& signals,
                           const AttachIo& io) {
  ctx.out.flush();
  ctx.err.flush();
  const std::string path = "/containers/" + client::path_escape(io.id);
  api::StdcopyDecoder demux;
  bool stdin_open = io.send_stdin;
  // With a TTY the CLI watches the detach keys itself (as docker's CLI).
  api::EscapeMatcher escape{io.tty && io.send_stdin ? io.detach_keys : std::string()};
  std::vector<char> buf(64 * 1024);
  for (;;) {
    pollfd fds[3];
    nfds_t n = 0;
    fds[n++] = {hj.fd(), POLLIN, 0};
    int stdin_idx = -1, sig_idx = -1;
    if (stdin_open) {
      stdin_idx = static_cast<int>(n);
      fds[n++] = {ctx.in_fd, POLLIN, 0};
    }
    if (signals.fd() >= 0) {
      sig_idx = static_cast<int>(n);
      fds[n++] = {signals.fd(), POLLIN, 0};
    }
    if (!hj.has_buffered()) {
      int pr = ::poll(fds, n, -1);
      if (pr < 0) {
        if (errno == EINTR) continue;
        return make_error(Errc::internal, std::string("poll: ") + std::strerror(errno));
      }
    } else {
      for (nfds_t i = 0; i < n; ++i) fds[i].revents = 0;
      fds[0].revents = POLLIN;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto r = hj.read(buf.data(), buf.size());
      if (!r || *r == 0) return false;
      std::string_view data(buf.data(), *r);
      if (io.tty) {
        (void)fs::write_all(ctx.out.fd(), data);
      } else {
        auto st = demux.feed(data, [&](api::StdStream s, std::string_view p) {
          (void)fs::write_all(s == api::StdStream::stderr_ ? ctx.err.fd() : ctx.out.fd(), p);
        });
        if (!st) return std::move(st).error();
      }
    }
    if (stdin_idx >= 0 && (fds[stdin_idx].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = ::read(ctx.in_fd, buf.data(), buf.size());
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        stdin_open = false;
        std::string held;
        escape.flush(held);  // a partial detach sequence is typed through
        if (!held.empty()) (void)hj.write_all(held);
        (void)hj.close_write();
      } else {
        std::string_view in(buf.data(), static_cast<size_t>(r));
        std::string send;
        bool detached = escape.feed(in, send);
        if (!send.empty() && !hj.write_all(send)) stdin_open = false;
        if (detached) return true;
      }
    }
    if (sig_idx >= 0 && (fds[sig_idx].revents & POLLIN)) {
      while (int s = signals.next()) {
        if (s == SIGWINCH) {
          resize_container(c, io.id, ctx.out.fd());
          continue;
        }
        if (const char* name = signal_name(s))
          (void)c.request(client::Request::post(path + "/kill", {{"signal", name}}));
      }
    }
  }
}

}  // namespace berth::cli
