#include "shim/console_socket.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/fs.h"

namespace berth::shim {

Result<ConsoleSocket> ConsoleSocket::listen(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return make_error(Errc::invalid, "console socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return sys_error("socket");
  ::unlink(path.c_str());
  mode_t old = ::umask(0177);
  int r = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (r != 0) return sys_error("bind console socket " + path);
  if (::listen(fd.get(), 1) != 0) return sys_error("listen console socket");
  ConsoleSocket cs;
  cs.path_ = path;
  cs.fd_ = std::move(fd);
  return cs;
}

ConsoleSocket::~ConsoleSocket() {
  if (!path_.empty() && fd_) ::unlink(path_.c_str());
  if (!tmp_dir_.empty()) ::rmdir(tmp_dir_.c_str());
}

Result<UniqueFd> ConsoleSocket::receive_master(int timeout_ms) {
  pollfd pfd{fd_.get(), POLLIN, 0};
  int pr = ::poll(&pfd, 1, timeout_ms);
  if (pr <= 0) return make_error(Errc::internal, "the runtime did not send the pty master");
  UniqueFd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return sys_error("accept console socket");
  char data[4096];
  iovec iov{data, sizeof data};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 4)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  pollfd cp{conn.get(), POLLIN, 0};
  if (::poll(&cp, 1, timeout_ms) <= 0)
    return make_error(Errc::internal, "the runtime connected but sent no pty master");
  ssize_t n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return sys_error("recvmsg console socket");
  UniqueFd master;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int fds[4];
    std::memcpy(fds, CMSG_DATA(c), std::min<size_t>(nfds, 4) * sizeof(int));
    for (size_t i = 0; i < nfds && i < 4; ++i) {
      if (!master) {
        master.reset(fds[i]);
      } else {
        ::close(fds[i]);
      }
    }
  }
  if (!master) return make_error(Errc::internal, "no file descriptor received on the console socket");
  return master;
}

Result<ConsoleSocket> make_console_socket(const std::string& state_dir) {
  std::string path = fs::join(state_dir, "console.sock");
  std::string tmp;
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    char tmpl[] = "/tmp/berth-shim-XXXXXX";
    if (!::mkdtemp(tmpl)) return sys_error("mkdtemp");
    tmp = tmpl;
    path = tmp + "/console.sock";
  }
  auto cs = ConsoleSocket::listen(path);
  if (!cs) {
    if (!tmp.empty()) ::rmdir(tmp.c_str());
    return std::move(cs).error();
  }
  cs->tmp_dir_ = tmp;
  return cs;
}

}  // namespace berth::shim
