#include "sys/unix_socket.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace berth::sys {

namespace {
Result<sockaddr_un> make_addr(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return make_error(Errc::invalid, "socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}
}  // namespace

Result<UniqueFd> connect_unix(const std::string& path) {
  sockaddr_un addr = BERTH_TRY(make_addr(path));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return sys_error("connect " + path);
  return fd;
}

Result<UniqueFd> listen_unix(const std::string& path) {
  sockaddr_un addr = BERTH_TRY(make_addr(path));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return sys_error("bind " + path);
  if (::listen(fd.get(), 16) != 0) return sys_error("listen " + path);
  return fd;
}

int send_fd(int sock, int fd, const char* name) noexcept {
  msghdr msg{};
  char cbuf[CMSG_SPACE(sizeof(int))];
  std::memset(cbuf, 0, sizeof cbuf);
  iovec iov{};
  iov.iov_base = const_cast<char*>(name);
  iov.iov_len = std::strlen(name);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  for (;;) {
    ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n >= 0) return 0;
    if (errno != EINTR) return -1;
  }
}

Result<size_t> recv_msg(int sock, char* buf, size_t len, UniqueFd* fd) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  iovec iov{buf, len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error("recvmsg");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int got;
      std::memcpy(&got, CMSG_DATA(c), sizeof got);
      fd->reset(got);
    }
  return static_cast<size_t>(n);
}

Result<UniqueFd> recv_fd(int sock, std::string* name) {
  char buf[4096];
  UniqueFd fd;
  size_t n = BERTH_TRY(recv_msg(sock, buf, sizeof buf, &fd));
  if (!fd) return make_error(Errc::invalid, "no fd received");
  if (name) name->assign(buf, n);
  return fd;
}

}  // namespace berth::sys
