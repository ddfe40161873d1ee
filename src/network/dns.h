// The embedded DNS server: UDP and TCP sockets on 127.0.0.11:53 inside each
// container's network namespace (user-defined networks), all served by one
// berthd thread running an epoll loop that never blocks: questions about
// local names (A, AAAA, PTR) are answered at once; everything else is
// forwarded to the upstream resolvers on its own non-blocking socket, with
// a per-upstream timeout, so many queries are in flight together and a slow
// upstream delays only the queries that went to it.
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::network {

struct DnsQuestion {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::string name;  // lower case, no trailing dot
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  size_t question_end = 0;  // offset just past the first question
};

constexpr uint16_t kDnsA = 1, kDnsPtr = 12, kDnsAaaa = 28;

// One resource record of an answer (the owner is always the question's name).
struct DnsRecord {
  uint16_t type = 0;
  std::string rdata;
};
DnsRecord dns_a(uint32_t host_order);
DnsRecord dns_aaaa(const std::array<uint8_t, 16>& a);
DnsRecord dns_ptr(std::string_view name);  // "web.mynet"

// Pure message helpers.
std::optional<DnsQuestion> parse_dns_query(const uint8_t* p, size_t n);
// An answer to `query` (the raw bytes); rcode 0 = NOERROR, 3 = NXDOMAIN,
// 2 = SERVFAIL.
std::string build_dns_answer(const uint8_t* query, const DnsQuestion& q, const std::vector<DnsRecord>& rrs,
                             int rcode);
// The same with A records `v4` (host order).
std::string build_dns_answer(const uint8_t* query, const DnsQuestion& q, const std::vector<uint32_t>& v4,
                             int rcode);
// The address a reverse name stands for: "2.0.18.172.in-addr.arpa" →
// 172.18.0.2 (family AF_INET, 4 bytes used), nibble form under ip6.arpa →
// AF_INET6. nullopt for anything else (incl. partial names).
struct PtrTarget {
  int family = 0;
  std::array<uint8_t, 16> bytes{};
};
std::optional<PtrTarget> parse_ptr_name(std::string_view name);
// "nameserver" lines of resolv.conf text.
std::vector<std::string> resolv_conf_nameservers(std::string_view text);

class DnsServer {
 public:
  // resolve(container_id, question): the records a local name has for that
  // container ({} = the name is local but has none of that type: NOERROR
  // with no answers), nullopt when not a local name (→ forwarded).
  using Resolver = std::function<std::optional<std::vector<DnsRecord>>(const std::string&, const DnsQuestion&)>;
  // upstreams(container_id): the container's own --dns servers ({} = the host's).
  using Upstreams = std::function<std::vector<std::string>(const std::string&)>;
  DnsServer(Resolver r, std::vector<std::string> upstreams, Upstreams own = nullptr,
            std::chrono::milliseconds upstream_timeout = std::chrono::milliseconds(2000));
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Binds 127.0.0.11:53 in the network namespace at netns_path and serves
  // it for container_id.
  Status add(const std::string& container_id, const std::string& netns_path);
  // Serves already bound sockets (UDP, and TCP listening; either may be -1).
  Status add_sockets(const std::string& container_id, UniqueFd udp, UniqueFd tcp);
  void remove(const std::string& container_id);

 private:
  enum class Kind { udp, tcp_listen, tcp_conn, upstream };
  using Clock = std::chrono::steady_clock;
  // Where an answer goes: a client's datagram address on a UDP socket, or
  // a TCP connection (re-checked against socks_ when the answer is ready).
  struct ReplyTo {
    int fd = -1;
    Kind kind = Kind::udp;
    std::string container_id;
    sockaddr_storage from{};
    socklen_t from_len = 0;
  };
  // A query being forwarded.
  struct Pending {
    ReplyTo to;
    std::string query;
    DnsQuestion q;
    std::vector<std::string> upstreams;
    size_t next = 0;  // the upstream to try next
  };
  struct Sock {
    Kind kind = Kind::udp;
    std::string container_id;
    UniqueFd fd;
    std::string buf;            // tcp_conn: bytes read so far
    Clock::time_point deadline{};  // tcp_conn, upstream
    std::shared_ptr<Pending> pending;  // upstream
  };
  struct Job {
    ReplyTo to;
    std::string query;
  };
  void loop();
  void dispatch(int fd, std::vector<Job>& jobs, std::vector<std::shared_ptr<Pending>>& retry);  // mu_ held
  void handle(Job job);  // mu_ not held: calls the resolver
  void send_reply(const ReplyTo& to, const std::string& msg);
  // Sends p's query to its next upstream; SERVFAIL once none is left.
  void start_upstream(const std::shared_ptr<Pending>& p);
  void watch(int fd, Sock s, uint32_t events);  // mu_ held
  void close_fd(int fd);                         // mu_ held
  int next_timeout_ms();                         // mu_ held

  Resolver resolve_;
  std::vector<std::string> upstreams_;
  Upstreams own_;
  std::chrono::milliseconds upstream_timeout_;
  UniqueFd epoll_, wake_;
  std::recursive_mutex mu_;  // socks_ (add/remove come from other threads)
  std::map<int, Sock> socks_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace berth::network
