// berth-proxy: the userland side of one published port (src/proxy/relay.h),
// started by berthd for addresses the kernel cannot DNAT ([::1], and IPv6
// addresses of a container without IPv6). Flags follow Docker's
// docker-proxy; berthd adds -listen-fd (the socket it bound and holds, so a
// taken port fails in berthd with Docker's message), -container-id (which
// container the proxy serves, for ps and for cleaning up after a daemon
// that died) and -detach (fork into a new session so the proxy outlives a berthd restart:
// live restore keeps the port answering; the first process prints the
// proxy's pid and exits).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/strings.h"
#include "common/unique_fd.h"
#include "proxy/relay.h"

namespace {

const char* kUsage =
    "Usage: berth-proxy -proto tcp|udp -host-ip IP -host-port PORT -container-ip IP -container-port PORT\n"
    "                   [-listen-fd FD] [-container-id ID] [-detach]\n";

int fail(const std::string& m) {
  std::fprintf(stderr, "berth-proxy: %s\n", m.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace berth;
  std::string proto = "tcp", host_ip, container_ip;
  int host_port = 0, container_port = 0, listen_fd = -1;
  bool detach = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 2 && a[0] == '-' && a[1] == '-') a.erase(0, 1);  // --flag as -flag
    auto eq = a.find('=');
    std::string v;
    bool has_v = eq != std::string::npos;
    if (has_v) {
      v = a.substr(eq + 1);
      a.resize(eq);
    }
    auto value = [&]() -> bool {
      if (has_v) return true;
      if (i + 1 >= argc) return false;
      v = argv[++i];
      return true;
    };
    auto number = [&](int& out) -> bool {
      if (!value()) return false;
      auto n = str::parse_int(v);
      if (!n || *n < 0 || *n > 65535) return false;
      out = static_cast<int>(*n);
      return true;
    };
    bool good = true;
    if (a == "-h" || a == "-help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "-proto") {
      good = value() && (v == "tcp" || v == "udp");
      proto = v;
    } else if (a == "-host-ip") {
      good = value();
      host_ip = v;
    } else if (a == "-container-ip") {
      good = value();
      container_ip = v;
    } else if (a == "-host-port") {
      good = number(host_port);
    } else if (a == "-container-port") {
      good = number(container_port);
    } else if (a == "-listen-fd") {
      good = number(listen_fd) && listen_fd > 2;
    } else if (a == "-container-id") {
      good = value() && !v.empty();
    } else if (a == "-detach") {
      detach = true;
    } else {
      good = false;
    }
    if (!good) {
      std::fprintf(stderr, "berth-proxy: bad argument %s\n%s", argv[i], kUsage);
      return 2;
    }
  }
  auto to = proxy::parse_target(container_ip, container_port);
  if (!to) return fail(to.error().msg);
  bool tcp = proto == "tcp";
  UniqueFd sock;
  if (listen_fd >= 0) {
    sock = UniqueFd(listen_fd);
    ::fcntl(listen_fd, F_SETFD, FD_CLOEXEC);
  } else {
    auto host = proxy::parse_target(host_ip.empty() ? "0.0.0.0" : host_ip, host_port ? host_port : 1);
    if (!host) return fail(host.error().msg);
    if (!host_port) reinterpret_cast<sockaddr_in*>(&host->addr)->sin_port = 0;  // same offset for v4 and v6
    sock = UniqueFd(::socket(host->addr.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
    int one = 1;
    if (tcp) ::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (host->addr.ss_family == AF_INET6) ::setsockopt(sock.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (!sock || ::bind(sock.get(), reinterpret_cast<sockaddr*>(&host->addr), host->len) != 0 ||
        (tcp && ::listen(sock.get(), SOMAXCONN) != 0))
      return fail("listen " + host_ip + ":" + std::to_string(host_port) + ": " + std::strerror(errno));
  }
  if (tcp) ::listen(sock.get(), SOMAXCONN);  // berthd's hold socket has a backlog of 1
  if (detach) {
    pid_t pid = ::fork();
    if (pid < 0) return fail(std::string("fork: ") + std::strerror(errno));
    if (pid > 0) {
      std::printf("%d\n", pid);
      std::fflush(stdout);
      return 0;
    }
    ::setsid();
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      if (null > 2) ::close(null);
    }
    if (::chdir("/") != 0) return 1;
  }
  auto st = tcp ? proxy::serve_tcp(sock.get(), *to) : proxy::serve_udp(sock.get(), *to);
  return st ? 0 : fail(st.error().msg);
}
