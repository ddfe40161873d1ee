#include "proxy/relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/unique_fd.h"

namespace berth::proxy {

Result<Target> parse_target(const std::string& ip, int port) {
  Target t;
  if (port < 1 || port > 65535) return make_error(Errc::invalid, "invalid port: " + std::to_string(port));
  auto* v4 = reinterpret_cast<sockaddr_in*>(&t.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&t.addr);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    t.len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    t.len = sizeof *v6;
  } else {
    return make_error(Errc::invalid, "invalid IP address: " + ip);
  }
  return t;
}

namespace {

// Both sockets of one proxied TCP connection; closed when the last of the
// two pumping threads lets go.
struct TcpPair {
  UniqueFd client, upstream;
};

// Copies `from` → `to` until EOF or an error, then passes the half-close on.
void pump(const std::shared_ptr<TcpPair>& keep, int from, int to) {
  (void)keep;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    ::shutdown(from, SHUT_RDWR);
    ::shutdown(to, SHUT_RDWR);
    return;
  }
  UniqueFd rd(p[0]), wr(p[1]);
  bool broken = false;
  while (!broken) {
    ssize_t n = ::splice(from, nullptr, wr.get(), nullptr, 1 << 16, SPLICE_F_MOVE);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    while (n > 0) {
      ssize_t m = ::splice(rd.get(), nullptr, to, nullptr, static_cast<size_t>(n), SPLICE_F_MOVE);
      if (m < 0 && errno == EINTR) continue;
      if (m <= 0) {
        broken = true;  // the reader went away: stop reading for it too
        ::shutdown(from, SHUT_RD);
        break;
      }
      n -= m;
    }
  }
  ::shutdown(to, SHUT_WR);
}

void handle_tcp(UniqueFd client, Target to) {
  auto pair = std::make_shared<TcpPair>();
  pair->client = std::move(client);
  pair->upstream = UniqueFd(::socket(to.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!pair->upstream) return;
  int rc;
  do {
    rc = ::connect(pair->upstream.get(), reinterpret_cast<const sockaddr*>(&to.addr), to.len);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return;  // the client sees its connection closed, as with docker-proxy
  int one = 1;
  ::setsockopt(pair->client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(pair->upstream.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int c = pair->client.get(), u = pair->upstream.get();
  std::thread([pair, u, c] { pump(pair, u, c); }).detach();
  pump(pair, c, u);
}

}  // namespace

Status serve_tcp(int listen_fd, const Target& to) {
  for (;;) {
    int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let connections finish
        continue;
      }
      return sys_error("accept");
    }
    UniqueFd cfd(c);
    try {
      std::thread([fd = std::move(cfd), to]() mutable { handle_tcp(std::move(fd), to); }).detach();
    } catch (const std::system_error&) {
      // no thread for it now: the connection is closed, the next may succeed
    }
  }
}

namespace {

struct UdpFlow {
  UniqueFd sock;  // connected to the container
  sockaddr_storage client{};
  socklen_t client_len = 0;
  std::atomic<int64_t> last_ms{0};
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct UdpFlows {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<UdpFlow>> by_client;
};

}  // namespace

Status serve_udp(int fd, const Target& to, int idle_timeout_ms) {
  // Shared with the reply threads, which may outlive this frame.
  auto st = std::make_shared<UdpFlows>();
  std::mutex& mu = st->mu;
  auto& flows = st->by_client;
  std::vector<char> buf(65536);
  for (;;) {
    sockaddr_storage from{};
    socklen_t flen = sizeof from;
    ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 0) {
      if (errno == EINTR || errno == ECONNREFUSED) continue;
      return sys_error("recvfrom");
    }
    std::string key(reinterpret_cast<const char*>(&from), flen);
    std::shared_ptr<UdpFlow> f;
    {
      std::lock_guard g(mu);
      auto it = flows.find(key);
      if (it != flows.end()) f = it->second;
    }
    if (!f) {
      f = std::make_shared<UdpFlow>();
      f->sock = UniqueFd(::socket(to.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      if (!f->sock || ::connect(f->sock.get(), reinterpret_cast<const sockaddr*>(&to.addr), to.len) != 0) continue;
      f->client = from;
      f->client_len = flen;
      f->last_ms = now_ms();
      {
        std::lock_guard g(mu);
        flows[key] = f;
      }
      try {
        // Replies go back to the client from the listening socket; the flow
        // ends after idle_timeout_ms without traffic either way.
        std::thread([f, fd, key, idle_timeout_ms, st] {
          std::vector<char> rbuf(65536);
          for (;;) {
            int64_t left = f->last_ms.load() + idle_timeout_ms - now_ms();
            if (left <= 0) break;
            pollfd p{f->sock.get(), POLLIN, 0};
            int r = ::poll(&p, 1, static_cast<int>(left));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) continue;  // re-check the idle time
            ssize_t m = ::recv(f->sock.get(), rbuf.data(), rbuf.size(), 0);
            if (m < 0) {
              if (errno == EINTR || errno == ECONNREFUSED) continue;
              break;
            }
            f->last_ms = now_ms();
            (void)::sendto(fd, rbuf.data(), static_cast<size_t>(m), 0, reinterpret_cast<const sockaddr*>(&f->client),
                           f->client_len);
          }
          std::lock_guard g(st->mu);
          if (auto it = st->by_client.find(key); it != st->by_client.end() && it->second == f) st->by_client.erase(it);
        }).detach();
      } catch (const std::system_error&) {
        std::lock_guard g(mu);
        flows.erase(key);
        continue;
      }
    }
    f->last_ms = now_ms();
    (void)::send(f->sock.get(), buf.data(), static_cast<size_t>(n), 0);
  }
}

}  // namespace berth::proxy
