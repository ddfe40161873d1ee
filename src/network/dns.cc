#include "network/dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

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

DnsRecord dns_a(uint32_t a) {
  DnsRecord r{kDnsA, {}};
  put32(r.rdata, a);
  return r;
}

DnsRecord dns_aaaa(const std::array<uint8_t, 16>& a) {
  return DnsRecord{kDnsAaaa, std::string(reinterpret_cast<const char*>(a.data()), a.size())};
}

DnsRecord dns_ptr(std::string_view name) {
  DnsRecord r{kDnsPtr, {}};
  for (const auto& label : str::split(name, '.')) {
    if (label.empty()) continue;
    size_t n = std::min<size_t>(label.size(), 63);
    r.rdata += static_cast<char>(n);
    r.rdata.append(label, 0, n);
  }
  r.rdata += '\0';
  return r;
}

std::string build_dns_answer(const uint8_t* query, const DnsQuestion& q, const std::vector<DnsRecord>& rrs,
                             int rcode) {
  std::string s;
  put16(s, q.id);
  // QR, opcode from the query, AA, RD copied, RA, rcode.
  uint16_t flags = static_cast<uint16_t>(0x8000 | (q.flags & 0x7800) | 0x0400 | (q.flags & 0x0100) | 0x0080 |
                                         (rcode & 0xf));
  put16(s, flags);
  put16(s, 1);
  put16(s, static_cast<uint16_t>(rrs.size()));
  put16(s, 0);
  put16(s, 0);
  s.append(reinterpret_cast<const char*>(query) + 12, q.question_end - 12);
  for (const auto& rr : rrs) {
    put16(s, 0xc00c);  // name: pointer to the question
    put16(s, rr.type);
    put16(s, 1);    // IN
    put32(s, 600);  // TTL
    put16(s, static_cast<uint16_t>(rr.rdata.size()));
    s += rr.rdata;
  }
  return s;
}

std::string build_dns_answer(const uint8_t* query, const DnsQuestion& q, const std::vector<uint32_t>& v4,
                             int rcode) {
  std::vector<DnsRecord> rrs;
  for (uint32_t a : v4) rrs.push_back(dns_a(a));
  return build_dns_answer(query, q, rrs, rcode);
}

std::optional<PtrTarget> parse_ptr_name(std::string_view name) {
  auto labels = str::split(name, '.');
  PtrTarget t;
  auto ends_with = [&](std::string_view suffix) {
    return name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends_with(".in-addr.arpa")) {
    if (labels.size() != 6) return std::nullopt;
    t.family = AF_INET;
    for (int i = 0; i < 4; ++i) {
      auto v = str::parse_int(labels[static_cast<size_t>(3 - i)]);
      if (!v || *v < 0 || *v > 255 || labels[static_cast<size_t>(3 - i)].empty()) return std::nullopt;
      t.bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(*v);
    }
    return t;
  }
  if (ends_with(".ip6.arpa")) {
    if (labels.size() != 34) return std::nullopt;
    t.family = AF_INET6;
    for (size_t i = 0; i < 32; ++i) {
      const std::string& l = labels[31 - i];
      if (l.size() != 1) return std::nullopt;
      char c = l[0];
      int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (v < 0) return std::nullopt;
      t.bytes[i / 2] = static_cast<uint8_t>(t.bytes[i / 2] | (i % 2 == 0 ? v << 4 : v));
    }
    return t;
  }
  return std::nullopt;
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

DnsServer::DnsServer(Resolver r, std::vector<std::string> upstreams, Upstreams own,
                     std::chrono::milliseconds upstream_timeout)
    : resolve_(std::move(r)), upstreams_(std::move(upstreams)), own_(std::move(own)),
      upstream_timeout_(upstream_timeout) {
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
  return add_sockets(container_id, std::move(sock), std::move(tsock));
}

Status DnsServer::add_sockets(const std::string& container_id, UniqueFd udp, UniqueFd tcp) {
  std::lock_guard g(mu_);
  if (udp) {
    Sock s;
    s.kind = Kind::udp;
    s.container_id = container_id;
    int fd = udp.get();
    s.fd = std::move(udp);
    watch(fd, std::move(s), EPOLLIN);
  }
  if (tcp) {
    Sock s;
    s.kind = Kind::tcp_listen;
    s.container_id = container_id;
    int fd = tcp.get();
    s.fd = std::move(tcp);
    watch(fd, std::move(s), EPOLLIN);
  }
  return ok();
}

void DnsServer::watch(int fd, Sock s, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
  socks_[fd] = std::move(s);
}

void DnsServer::close_fd(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  socks_.erase(fd);
}

void DnsServer::remove(const std::string& container_id) {
  std::lock_guard g(mu_);
  std::vector<int> gone;
  for (const auto& [fd, s] : socks_)
    if (s.container_id == container_id) gone.push_back(fd);
  for (int fd : gone) close_fd(fd);
}

int DnsServer::next_timeout_ms() {
  auto now = Clock::now();
  int best = -1;
  for (const auto& [fd, s] : socks_) {
    if (s.kind != Kind::tcp_conn && s.kind != Kind::upstream) continue;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(s.deadline - now).count();
    int t = ms < 0 ? 0 : static_cast<int>(std::min<int64_t>(ms + 1, 60000));
    if (best < 0 || t < best) best = t;
  }
  return best;
}

void DnsServer::loop() {
  epoll_event evs[32];
  while (!stop_) {
    int timeout;
    {
      std::lock_guard g(mu_);
      timeout = next_timeout_ms();
    }
    int n = ::epoll_wait(epoll_.get(), evs, 32, timeout);
    if (n < 0 && errno != EINTR) return;
    std::vector<Job> jobs;
    std::vector<std::shared_ptr<Pending>> retry;
    {
      std::lock_guard g(mu_);
      for (int i = 0; i < n; ++i) {
        int fd = evs[i].data.fd;
        if (fd == wake_.get()) {
          uint64_t v;
          (void)!::read(fd, &v, sizeof v);
          continue;
        }
        dispatch(fd, jobs, retry);
      }
      // Deadlines: an upstream that did not answer in time hands its query
      // to the next one; a TCP client that never sent a full query is dropped.
      auto now = Clock::now();
      std::vector<int> expired;
      for (const auto& [fd, s] : socks_)
        if ((s.kind == Kind::upstream || s.kind == Kind::tcp_conn) && s.deadline <= now) expired.push_back(fd);
      for (int fd : expired) {
        if (socks_[fd].kind == Kind::upstream) retry.push_back(socks_[fd].pending);
        close_fd(fd);
      }
    }
    for (auto& p : retry) start_upstream(p);
    for (auto& j : jobs) handle(std::move(j));
  }
}

void DnsServer::dispatch(int fd, std::vector<Job>& jobs, std::vector<std::shared_ptr<Pending>>& retry) {
  auto it = socks_.find(fd);
  if (it == socks_.end()) return;
  Sock& s = it->second;
  switch (s.kind) {
    case Kind::udp: {
      uint8_t buf[1500];
      for (int k = 0; k < 64; ++k) {
        Job j;
        j.to.fd = fd;
        j.to.kind = Kind::udp;
        j.to.container_id = s.container_id;
        j.to.from_len = sizeof j.to.from;
        ssize_t r = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&j.to.from), &j.to.from_len);
        if (r <= 0) break;
        j.query.assign(reinterpret_cast<const char*>(buf), static_cast<size_t>(r));
        jobs.push_back(std::move(j));
      }
      return;
    }
    case Kind::tcp_listen: {
      for (int k = 0; k < 16; ++k) {
        UniqueFd c(::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!c) break;
        Sock conn;
        conn.kind = Kind::tcp_conn;
        conn.container_id = s.container_id;
        conn.deadline = Clock::now() + upstream_timeout_ * 4;
        int cfd = c.get();
        conn.fd = std::move(c);
        watch(cfd, std::move(conn), EPOLLIN);
      }
      return;
    }
    case Kind::tcp_conn: {
      char buf[4096];
      ssize_t r = ::read(fd, buf, sizeof buf);
      if (r <= 0) {
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) close_fd(fd);
        return;
      }
      s.buf.append(buf, static_cast<size_t>(r));
      if (s.buf.size() < 2) return;
      size_t len = static_cast<size_t>(static_cast<uint8_t>(s.buf[0]) << 8 | static_cast<uint8_t>(s.buf[1]));
      if (len == 0 || len > 65535) {
        close_fd(fd);
        return;
      }
      if (s.buf.size() < 2 + len) return;
      // One query per connection: stop reading, answer, close.
      epoll_event ev{};
      ev.data.fd = fd;
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
      Job j;
      j.to.fd = fd;
      j.to.kind = Kind::tcp_conn;
      j.to.container_id = s.container_id;
      j.query = s.buf.substr(2, len);
      jobs.push_back(std::move(j));
      return;
    }
    case Kind::upstream: {
      char buf[4096];
      ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
      auto p = s.pending;
      close_fd(fd);
      if (r < 12 || static_cast<uint16_t>(static_cast<uint8_t>(buf[0]) << 8 | static_cast<uint8_t>(buf[1])) != p->q.id) {
        retry.push_back(p);  // refused or garbage: the next upstream
        return;
      }
      send_reply(p->to, std::string(buf, static_cast<size_t>(r)));
      return;
    }
  }
}

void DnsServer::handle(Job job) {
  const auto* q = reinterpret_cast<const uint8_t*>(job.query.data());
  auto parsed = parse_dns_query(q, job.query.size());
  if (!parsed) {
    if (job.to.kind == Kind::tcp_conn) {
      std::lock_guard g(mu_);
      auto it = socks_.find(job.to.fd);
      if (it != socks_.end() && it->second.kind == Kind::tcp_conn) close_fd(job.to.fd);
    }
    return;
  }
  std::optional<std::vector<DnsRecord>> local;
  if (parsed->qclass == 1 &&
      (parsed->qtype == kDnsA || parsed->qtype == kDnsAaaa || parsed->qtype == kDnsPtr))
    local = resolve_(job.to.container_id, *parsed);
  if (local) {
    send_reply(job.to, build_dns_answer(q, *parsed, *local, 0));
    return;
  }
  auto p = std::make_shared<Pending>();
  p->upstreams = own_ ? own_(job.to.container_id) : std::vector<std::string>{};
  if (p->upstreams.empty()) p->upstreams = upstreams_;
  p->q = *parsed;
  p->to = std::move(job.to);
  p->query = std::move(job.query);
  start_upstream(p);
}

void DnsServer::start_upstream(const std::shared_ptr<Pending>& p) {
  while (p->next < p->upstreams.size()) {
    std::string up = p->upstreams[p->next++];
    // "addr", or "a.b.c.d:port" / "[v6]:port" (a resolver on another port).
    uint16_t port = 53;
    if (auto colon = up.rfind(':'); colon != std::string::npos &&
                                    (up.find(':') == colon || (up[0] == '[' && colon > 0 && up[colon - 1] == ']'))) {
      auto v = str::parse_int(up.substr(colon + 1));
      if (!v || *v < 1 || *v > 65535) continue;
      port = static_cast<uint16_t>(*v);
      up = up.substr(0, colon);
      if (up.size() > 2 && up[0] == '[') up = up.substr(1, up.size() - 2);
    }
    sockaddr_storage ss{};
    socklen_t len = 0;
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (::inet_pton(AF_INET, up.c_str(), &s4->sin_addr) == 1) {
      s4->sin_family = AF_INET;
      s4->sin_port = htons(port);
      len = sizeof *s4;
    } else if (::inet_pton(AF_INET6, up.c_str(), &s6->sin6_addr) == 1) {
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(port);
      len = sizeof *s6;
    } else {
      continue;
    }
    UniqueFd s(::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s) continue;
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) continue;
    if (::send(s.get(), p->query.data(), p->query.size(), 0) != static_cast<ssize_t>(p->query.size())) continue;
    Sock u;
    u.kind = Kind::upstream;
    u.container_id = p->to.container_id;
    u.deadline = Clock::now() + upstream_timeout_;
    u.pending = p;
    int fd = s.get();
    u.fd = std::move(s);
    std::lock_guard g(mu_);
    watch(fd, std::move(u), EPOLLIN);
    return;
  }
  send_reply(p->to, build_dns_answer(reinterpret_cast<const uint8_t*>(p->query.data()), p->q,
                                     std::vector<DnsRecord>{}, 2));
}

void DnsServer::send_reply(const ReplyTo& to, const std::string& msg) {
  std::lock_guard g(mu_);
  // The client's socket may have gone with its container meanwhile.
  auto it = socks_.find(to.fd);
  if (it == socks_.end() || it->second.kind != to.kind || it->second.container_id != to.container_id) return;
  if (to.kind == Kind::udp) {
    (void)::sendto(to.fd, msg.data(), msg.size(), 0, reinterpret_cast<const sockaddr*>(&to.from), to.from_len);
    return;
  }
  std::string framed;
  framed += static_cast<char>(msg.size() >> 8);
  framed += static_cast<char>(msg.size() & 0xff);
  framed += msg;
  (void)!::write(to.fd, framed.data(), framed.size());
  close_fd(to.fd);
}

}  // namespace berth::network
