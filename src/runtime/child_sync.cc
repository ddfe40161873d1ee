#include "runtime/child_sync.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "sys/unix_socket.h"

namespace berth::runtime {

ChildMsg recv_child_msg(int sock) {
  ChildMsg m;
  char buf[64];
  auto r = sys::recv_msg(sock, buf, sizeof buf, &m.fd);
  ssize_t n = r ? static_cast<ssize_t>(*r) : -1;
  if (n == 0) {
    m.kind = ChildMsg::eof;
  } else if (m.fd && n == 7 && std::memcmp(buf, "seccomp", 7) == 0) {
    m.kind = ChildMsg::listener;
  } else if (!m.fd && n == static_cast<ssize_t>(sizeof(InitReport))) {
    std::memcpy(&m.rep, buf, sizeof m.rep);
    m.kind = ChildMsg::report;
  }
  return m;
}

Status deliver_seccomp_listener(const oci::Seccomp& sc, int listener_fd, pid_t pid, const OrderedJson& state) {
  OrderedJson j;
  j["ociVersion"] = "1.0.2";
  j["fds"] = OrderedJson::array({"seccompFd"});
  j["pid"] = pid;
  j["metadata"] = sc.listener_metadata;
  j["state"] = state;
  const std::string text = j.dump();
  auto sock = sys::connect_unix(sc.listener_path);
  if (!sock) return std::move(sock).error().wrap("linux.seccomp.listenerPath");
  if (sys::send_fd(sock->get(), listener_fd, text.c_str()) != 0)
    return sys_error("linux.seccomp.listenerPath: send to " + sc.listener_path);
  return ok();
}

}  // namespace berth::runtime
