#include "network/dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/strings.h"
#include "sys/netns.h"

namespace berth::network {

namespace {
uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void put16(std::string& s, uint16_t v) {
  s += static_cast<char>(v >> 8);
  s += static_cast<char>(v & 0xff);
}
void put32(std::string& s, uint32_t v) {
  put16(s, static_cast<uint16_t>(v >> 16));
  put16(s, static_cast<uint16_t>(v & 0xffff));
}
}  // namespace

std::optional<DnsQuestion> parse_dns_query(const uint8_t* p, size_t n) {
  if (n < 12) return std::nullopt;
  DnsQuestion q;
  q.id = rd16(p);
  q.flags = rd16(p + 2);
  if (q.flags & 0x8000) return std::nullopt;  // a response
  if (rd16(p + 4) < 1) return std::nullopt;
  size_t off = 12;
  for (int labels = 0; labels < 128; ++labels) {
    if (off >= n) return std::nullopt;
    uint8_t len = p[off++];
    if (len == 0) break;
    if (len > 63 || off + len > n) return std::nullopt;
    if (!q.name.empty()) q.name += '.';
    for (size_t i = 0; i < len; ++i) {
      char c = static_cast<char>(p[off + i]);
      q.name += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    off += len;
  }
  if (off + 4 > n) return std::nullopt;
  q.qtype = rd16(p + off);
  q.qclass = rd16(p + off + 2);
  q.question_end = off + 4;
  return q;
}

std::string build_dns_answer(const uint8_t* query, const DnsQuestion& q, const std::vector<uint32_t>& v4,
                             int rcode) {
  std::string s;
  put16(s, q.id);
  // QR, opcode from the query, AA, RD copied, RA, rcode.
  uint16_t flags = static_cast<uint16_t>(0x8000 | (q.flags & 0x7800) | 0x0400 | (q.flags & 0x0100) | 0x0080 |
                                         (rcode & 0xf));
  put16(s, flags);
  put16(s, 1);
  put16(s, static_cast<uint16_t>(v4.size()));
  put16(s, 0);
  put16(s, 0);
  s.append(reinterpret_cast<const char*>(query) + 12, q.question_end - 12);
  for (uint32_t a : v4) {
    put16(s, 0xc00c);  // name: pointer to the question
    put16(s, 1);       // A
    put16(s, 1);       // IN
    put32(s, 600);     // TTL
    put16(s, 4);
    put32(s, a);
  }
  return s;
}

std::vector<std::string> resolv_conf_nameservers(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& line : str::split(text, '\n')) {
    auto t = str::trim(line);
    if (!str::starts_with(t, "nameserver")) continue;
    auto a = std::string(str::trim(t.substr(10)));
    if (!a.empty()) out.push_back(a);
  }
  return out;
}

DnsServer::DnsServer(Resolver r, std::vector<std::string> upstreams, Upstreams own)
    : resolve_(std::move(r)), upstreams_(std::move(upstreams)), own_(std::move(own)) {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  thread_ = std::thread([this] { loop(); });
}

DnsServer::~DnsServer() {
  stop_ = true;
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

Status DnsServer::add(const std::string& container_id, const std::string& netns_path) {
  UniqueFd sock, tsock;
  BERTH_TRY_VOID(sys::run_in_netns(netns_path, [&]() -> Status {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(53);
    sa.sin_addr.s_addr = htonl(0x7f00000b);  // 127.0.0.11
    sock.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!sock) return sys_error("dns socket");
    if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
      return sys_error("bind 127.0.0.11:53/udp");
    tsock.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!tsock) return sys_error("dns socket");
    int one = 1;
    ::setsockopt(tsock.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(tsock.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(tsock.get(), 16) != 0)
      return sys_error("listen 127.0.0.11:53/tcp");
    return ok();
  }));
  std::lock_guard g(mu_);
  for (UniqueFd* s : {&sock, &tsock}) {
    int fd = s->get();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return sys_error("epoll_ctl");
    if (s == &tsock) tcp_.insert(fd);
    socks_[fd] = {container_id, std::move(*s)};
  }
  return ok();
}

void DnsServer::remove(const std::string& container_id) {
  std::lock_guard g(mu_);
  for (auto it = socks_.begin(); it != socks_.end();) {
    if (it->second.first == container_id) {
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->first, nullptr);
      tcp_.erase(it->first);
      it = socks_.erase(it);
    } else {
      ++it;
    }
  }
}

void DnsServer::loop() {
  epoll_event evs[16];
  while (!stop_) {
    int n = ::epoll_wait(epoll_.get(), evs, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == wake_.get()) {
        uint64_t v;
        (void)!::read(fd, &v, sizeof v);
        continue;
      }
      std::string cid;
      bool tcp;
      {
        std::lock_guard g(mu_);
        auto it = socks_.find(fd);
        if (it == socks_.end()) continue;
        cid = it->second.first;
        tcp = tcp_.count(fd) != 0;
      }
      if (tcp) {
        serve_tcp(fd, cid);
      } else {
        serve(fd, cid);
      }
    }
  }
}

void DnsServer::serve(int fd, const std::string& cid) {
  uint8_t buf[1500];
  for (int k = 0; k < 64; ++k) {
    sockaddr_storage from{};
    socklen_t fl = sizeof from;
    ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n <= 0) return;
    std::string out = answer(buf, static_cast<size_t>(n), cid);
    if (out.empty()) continue;
    (void)::sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
  }
}

std::string DnsServer::answer(const uint8_t* buf, size_t n, const std::string& cid) {
  auto q = parse_dns_query(buf, n);
  if (!q) return {};
  std::optional<std::vector<uint32_t>> local;
  if (q->qclass == 1 && (q->qtype == 1 || q->qtype == 28)) local = resolve_(cid, q->name);
  if (local) return build_dns_answer(buf, *q, q->qtype == 1 ? *local : std::vector<uint32_t>{}, 0);
  std::vector<std::string> ups = own_ ? own_(cid) : std::vector<std::string>{};
  std::string out = forward(buf, n, ups.empty() ? upstreams_ : ups);
  if (out.empty()) out = build_dns_answer(buf, *q, {}, 2);
  return out;
}

// DNS over TCP: one length-prefixed query per connection, each step
// bounded by a 2 s poll.
void DnsServer::serve_tcp(int listen_fd, const std::string& cid) {
  UniqueFd c(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
  if (!c) return;
  auto read_n = [&](uint8_t* p, size_t want) {
    size_t got = 0;
    while (got < want) {
      pollfd pf{c.get(), POLLIN, 0};
      if (::poll(&pf, 1, 2000) <= 0) return false;
      ssize_t r = ::read(c.get(), p + got, want - got);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  };
  uint8_t len[2];
  if (!read_n(len, 2)) return;
  size_t n = static_cast<size_t>(len[0] << 8 | len[1]);
  std::vector<uint8_t> q(n);
  if (n == 0 || !read_n(q.data(), n)) return;
  std::string out = answer(q.data(), n, cid);
  if (out.empty()) return;
  std::string framed;
  framed += static_cast<char>(out.size() >> 8);
  framed += static_cast<char>(out.size() & 0xff);
  framed += out;
  (void)::write(c.get(), framed.data(), framed.size());
}

std::string DnsServer::forward(const uint8_t* q, size_t n, const std::vector<std::string>& ups) {
  for (const auto& up : ups) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(53);
    if (::inet_pton(AF_INET, up.c_str(), &sa.sin_addr) != 1) continue;
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) continue;
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) continue;
    if (::send(s.get(), q, n, 0) != static_cast<ssize_t>(n)) continue;
    pollfd p{s.get(), POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) continue;
    char buf[4096];
    ssize_t r = ::recv(s.get(), buf, sizeof buf, 0);
    if (r > 0) return std::string(buf, static_cast<size_t>(r));
  }
  return {};
}

}  // namespace berth::network
