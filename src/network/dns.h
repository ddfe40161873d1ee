// The embedded DNS server: UDP and TCP sockets on 127.0.0.11:53 inside each
// container's network namespace (user-defined networks), all served by one
// berthd thread. A/AAAA questions for names the resolver knows are answered
// here; everything else is forwarded to the host's upstream resolvers.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
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

// Pure message helpers.
std::optional<DnsQuestion> parse_dns_query(const uint8_t* p, size_t n);
// An answer to `query` (the raw bytes) with A records `v4` (host order);
// rcode 0 = NOERROR, 3 = NXDOMAIN, 2 = SERVFAIL.
std::string build_dns_answer(const uint8_t* query, const DnsQuestion& q, const std::vector<uint32_t>& v4,
                             int rcode);
// "nameserver" lines of resolv.conf text.
std::vector<std::string> resolv_conf_nameservers(std::string_view text);

class DnsServer {
 public:
  // resolve(container_id, name): the IPv4 addresses (host order) `name`
  // has for that container, nullopt when not a local name.
  using Resolver = std::function<std::optional<std::vector<uint32_t>>(const std::string&, const std::string&)>;
  // upstreams(container_id): the container's own --dns servers ({} = the host's).
  using Upstreams = std::function<std::vector<std::string>(const std::string&)>;
  DnsServer(Resolver r, std::vector<std::string> upstreams, Upstreams own = nullptr);
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Binds 127.0.0.11:53 in the network namespace at netns_path and serves
  // it for container_id.
  Status add(const std::string& container_id, const std::string& netns_path);
  void remove(const std::string& container_id);

 private:
  void loop();
  void serve(int fd, const std::string& container_id);
  void serve_tcp(int listen_fd, const std::string& container_id);
  std::string answer(const uint8_t* q, size_t n, const std::string& container_id);
  std::string forward(const uint8_t* q, size_t n, const std::vector<std::string>& ups);

  Resolver resolve_;
  std::vector<std::string> upstreams_;
  Upstreams own_;
  UniqueFd epoll_, wake_;
  std::mutex mu_;
  std::map<int, std::pair<std::string, UniqueFd>> socks_;  // fd → (container, socket)
  std::set<int> tcp_;                                        // listening TCP sockets among them
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace berth::network
