#include "sys/netlink.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if_arp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace berth::sys {

namespace {

// A netlink message under construction (header, fixed struct, attributes).
class Msg {
 public:
  Msg(uint16_t type, uint16_t flags) {
    buf_.resize(NLMSG_HDRLEN);
    hdr()->nlmsg_type = type;
    hdr()->nlmsg_flags = static_cast<uint16_t>(flags | NLM_F_REQUEST | NLM_F_ACK);
    hdr()->nlmsg_len = NLMSG_HDRLEN;
  }
  template <class T>
  T* put_struct(const T& v) {
    size_t off = append(&v, sizeof v);
    return reinterpret_cast<T*>(buf_.data() + off);
  }
  void attr(uint16_t type, const void* data, size_t len) {
    rtattr a{};
    a.rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    a.rta_type = type;
    append(&a, sizeof a);
    buf_.resize(buf_.size() - sizeof a + RTA_LENGTH(0));
    append(data, len);
  }
  void attr_str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  void attr_u32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }
  void attr_u8(uint16_t type, uint8_t v) { attr(type, &v, sizeof v); }
  size_t nest_begin(uint16_t type) {
    size_t off = buf_.size();
    attr(type, nullptr, 0);
    return off;
  }
  void nest_end(size_t off) {
    auto* a = reinterpret_cast<rtattr*>(buf_.data() + off);
    a->rta_len = static_cast<unsigned short>(buf_.size() - off);
  }
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  void* data() { return buf_.data(); }
  size_t size() const { return buf_.size(); }

 private:
  size_t append(const void* p, size_t n) {
    size_t off = NLMSG_ALIGN(buf_.size());
    buf_.resize(off + NLMSG_ALIGN(n), 0);
    if (n) std::memcpy(buf_.data() + off, p, n);
    hdr()->nlmsg_len = static_cast<uint32_t>(buf_.size());
    return off;
  }
  std::vector<char> buf_;
};

Msg link_msg(uint16_t type, uint16_t flags, int index) {
  Msg m(type, flags);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  m.put_struct(ifi);
  return m;
}

}  // namespace

std::optional<IpAddr> IpAddr::parse(std::string_view s) {
  std::string z(s);
  IpAddr a;
  if (::inet_pton(AF_INET, z.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (::inet_pton(AF_INET6, z.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return std::nullopt;
}

IpAddr IpAddr::v4(uint32_t h) {
  IpAddr a;
  uint32_t n = htonl(h);
  std::memcpy(a.bytes.data(), &n, 4);
  return a;
}

uint32_t IpAddr::v4_host_order() const {
  uint32_t n;
  std::memcpy(&n, bytes.data(), 4);
  return ntohl(n);
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN];
  ::inet_ntop(family, bytes.data(), buf, sizeof buf);
  return buf;
}

Result<Netlink> Netlink::open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return sys_error("netlink socket");
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return sys_error("netlink bind");
  int one = 1;
  (void)::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  return Netlink(std::move(fd));
}

Status Netlink::request(void* msg, size_t len, const char* what) {
  auto* h = static_cast<nlmsghdr*>(msg);
  h->nlmsg_seq = seq_++;
  if (::send(fd_.get(), msg, len, 0) != static_cast<ssize_t>(len)) return sys_error(std::string("netlink ") + what);
  char buf[8192];
  for (int guard = 0; guard < 64; ++guard) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(std::string("netlink ") + what);
    for (auto* r = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(r, static_cast<unsigned>(n));
         r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_seq != h->nlmsg_seq) continue;
      if (r->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(r));
        if (e->error == 0) return ok();
        return sys_error(what, -e->error);
      }
    }
  }
  return make_error(Errc::internal, std::string("netlink ") + what + ": no answer");
}

Result<int> Netlink::link_index(const std::string& name) {
  if (name.size() >= IFNAMSIZ) return 0;
  Msg m = link_msg(RTM_GETLINK, 0, 0);
  m.attr_str(IFLA_IFNAME, name);
  m.hdr()->nlmsg_flags = NLM_F_REQUEST;
  m.hdr()->nlmsg_seq = seq_++;
  if (::send(fd_.get(), m.data(), m.size(), 0) < 0) return sys_error("netlink getlink");
  char buf[16384];
  for (int guard = 0; guard < 64; ++guard) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("netlink getlink");
    for (auto* r = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(r, static_cast<unsigned>(n));
         r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_seq != m.hdr()->nlmsg_seq) continue;
      if (r->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(r));
        if (e->error == -ENODEV || e->error == 0) return 0;
        return sys_error("netlink getlink " + name, -e->error);
      }
      if (r->nlmsg_type == RTM_NEWLINK) return static_cast<ifinfomsg*>(NLMSG_DATA(r))->ifi_index;
    }
  }
  return make_error(Errc::internal, "netlink getlink: no answer");
}

Result<std::array<uint8_t, 6>> Netlink::mac(int index) {
  Msg m = link_msg(RTM_GETLINK, 0, index);
  m.hdr()->nlmsg_flags = NLM_F_REQUEST;
  m.hdr()->nlmsg_seq = seq_++;
  if (::send(fd_.get(), m.data(), m.size(), 0) < 0) return sys_error("netlink getlink");
  char buf[16384];
  for (int guard = 0; guard < 64; ++guard) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("netlink getlink");
    for (auto* r = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(r, static_cast<unsigned>(n));
         r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_seq != m.hdr()->nlmsg_seq) continue;
      if (r->nlmsg_type == NLMSG_ERROR)
        return sys_error("netlink getlink", -static_cast<nlmsgerr*>(NLMSG_DATA(r))->error);
      if (r->nlmsg_type != RTM_NEWLINK) continue;
      auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(r));
      int len = static_cast<int>(IFLA_PAYLOAD(r));
      for (auto* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == 6) {
          std::array<uint8_t, 6> out;
          std::memcpy(out.data(), RTA_DATA(a), 6);
          return out;
        }
      }
      return make_error(Errc::not_found, "link has no MAC address");
    }
  }
  return make_error(Errc::internal, "netlink getlink: no answer");
}

Status Netlink::create_bridge(const std::string& name, int mtu) {
  Msg m = link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  m.attr_str(IFLA_IFNAME, name);
  if (mtu > 0) m.attr_u32(IFLA_MTU, static_cast<uint32_t>(mtu));
  size_t li = m.nest_begin(IFLA_LINKINFO);
  m.attr_str(IFLA_INFO_KIND, "bridge");
  m.nest_end(li);
  return request(m.data(), m.size(), ("create bridge " + name).c_str());
}

Status Netlink::create_veth(const std::string& host, const std::string& peer, int peer_netns_fd, int mtu) {
  Msg m = link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  m.attr_str(IFLA_IFNAME, host);
  if (mtu > 0) m.attr_u32(IFLA_MTU, static_cast<uint32_t>(mtu));
  size_t li = m.nest_begin(IFLA_LINKINFO);
  m.attr_str(IFLA_INFO_KIND, "veth");
  size_t data = m.nest_begin(IFLA_INFO_DATA);
  size_t pi = m.nest_begin(VETH_INFO_PEER);
  ifinfomsg pifi{};
  pifi.ifi_family = AF_UNSPEC;
  m.put_struct(pifi);
  m.attr_str(IFLA_IFNAME, peer);
  if (mtu > 0) m.attr_u32(IFLA_MTU, static_cast<uint32_t>(mtu));
  if (peer_netns_fd >= 0) m.attr_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  m.nest_end(pi);
  m.nest_end(data);
  m.nest_end(li);
  return request(m.data(), m.size(), ("create veth " + host).c_str());
}

Status Netlink::create_veth(const VethSpec& v) {
  Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  m.put_struct(ifi);
  m.attr_str(IFLA_IFNAME, v.host);
  if (v.mtu > 0) m.attr_u32(IFLA_MTU, static_cast<uint32_t>(v.mtu));
  if (v.master > 0) m.attr_u32(IFLA_MASTER, static_cast<uint32_t>(v.master));
  size_t li = m.nest_begin(IFLA_LINKINFO);
  m.attr_str(IFLA_INFO_KIND, "veth");
  size_t data = m.nest_begin(IFLA_INFO_DATA);
  size_t pi = m.nest_begin(VETH_INFO_PEER);
  ifinfomsg pifi{};
  pifi.ifi_family = AF_UNSPEC;  // not up here: veth refuses to open before its pair is complete
  m.put_struct(pifi);
  m.attr_str(IFLA_IFNAME, v.peer);
  if (v.mtu > 0) m.attr_u32(IFLA_MTU, static_cast<uint32_t>(v.mtu));
  if (v.peer_mac) m.attr(IFLA_ADDRESS, v.peer_mac->data(), v.peer_mac->size());
  if (v.peer_netns_fd >= 0) m.attr_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(v.peer_netns_fd));
  m.nest_end(pi);
  m.nest_end(data);
  m.nest_end(li);
  return request(m.data(), m.size(), ("create veth " + v.host).c_str());
}

Status Netlink::create_macvlan(const std::string& name, int parent_index, int netns_fd, int mtu) {
  Msg m = link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
  m.attr_str(IFLA_IFNAME, name);
  m.attr_u32(IFLA_LINK, static_cast<uint32_t>(parent_index));
  if (mtu > 0) m.attr_u32(IFLA_MTU, static_cast<uint32_t>(mtu));
  if (netns_fd >= 0) m.attr_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  size_t li = m.nest_begin(IFLA_LINKINFO);
  m.attr_str(IFLA_INFO_KIND, "macvlan");
  size_t data = m.nest_begin(IFLA_INFO_DATA);
  m.attr_u32(IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
  m.nest_end(data);
  m.nest_end(li);
  return request(m.data(), m.size(), ("create macvlan " + name).c_str());
}

Status Netlink::set_master(int index, int master_index) {
  Msg m = link_msg(RTM_NEWLINK, 0, index);
  m.attr_u32(IFLA_MASTER, static_cast<uint32_t>(master_index));
  return request(m.data(), m.size(), "set master");
}

Status Netlink::set_up(int index) {
  Msg m(RTM_NEWLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  m.put_struct(ifi);
  return request(m.data(), m.size(), "set link up");
}

Status Netlink::set_name(int index, const std::string& name) {
  Msg m = link_msg(RTM_NEWLINK, 0, index);
  m.attr_str(IFLA_IFNAME, name);
  return request(m.data(), m.size(), ("rename link to " + name).c_str());
}

Status Netlink::set_mac(int index, const std::array<uint8_t, 6>& mac) {
  Msg m = link_msg(RTM_NEWLINK, 0, index);
  m.attr(IFLA_ADDRESS, mac.data(), 6);
  return request(m.data(), m.size(), "set MAC address");
}

Status Netlink::set_mtu(int index, int mtu) {
  Msg m = link_msg(RTM_NEWLINK, 0, index);
  m.attr_u32(IFLA_MTU, static_cast<uint32_t>(mtu));
  return request(m.data(), m.size(), "set MTU");
}

Status Netlink::set_hairpin(int index, bool on) {
  Msg m(RTM_NEWLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = index;
  m.put_struct(ifi);
  size_t p = m.nest_begin(IFLA_PROTINFO | NLA_F_NESTED);
  m.attr_u8(IFLA_BRPORT_MODE, on ? 1 : 0);
  m.nest_end(p);
  return request(m.data(), m.size(), "set hairpin mode");
}

Status Netlink::delete_link(int index) {
  Msg m = link_msg(RTM_DELLINK, 0, index);
  return request(m.data(), m.size(), "delete link");
}

Status Netlink::add_addr(int index, const IpAddr& a, int prefix) {
  Msg m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(a.family);
  ifa.ifa_prefixlen = static_cast<uint8_t>(prefix);
  ifa.ifa_index = static_cast<uint32_t>(index);
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  if (a.family == AF_INET6) ifa.ifa_flags = IFA_F_NODAD;
  m.put_struct(ifa);
  m.attr(IFA_LOCAL, a.bytes.data(), a.len());
  m.attr(IFA_ADDRESS, a.bytes.data(), a.len());
  if (a.family == AF_INET6) m.attr_u32(IFA_FLAGS, IFA_F_NODAD);
  return request(m.data(), m.size(), ("add address " + a.str()).c_str());
}

Status Netlink::add_default_route(const IpAddr& gw, int index) {
  Msg m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
  rtmsg rt{};
  rt.rtm_family = static_cast<uint8_t>(gw.family);
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_BOOT;
  rt.rtm_scope = RT_SCOPE_UNIVERSE;
  rt.rtm_type = RTN_UNICAST;
  m.put_struct(rt);
  m.attr(RTA_GATEWAY, gw.bytes.data(), gw.len());
  m.attr_u32(RTA_OIF, static_cast<uint32_t>(index));
  return request(m.data(), m.size(), ("add default route via " + gw.str()).c_str());
}

std::string mac_str(const std::array<uint8_t, 6>& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

std::optional<std::array<uint8_t, 6>> parse_mac(std::string_view s) {
  std::array<uint8_t, 6> out{};
  if (s.size() != 17) return std::nullopt;
  for (int i = 0; i < 6; ++i) {
    unsigned v = 0;
    for (int j = 0; j < 2; ++j) {
      char c = s[static_cast<size_t>(i * 3 + j)];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else return std::nullopt;
    }
    if (i < 5 && s[static_cast<size_t>(i * 3 + 2)] != ':') return std::nullopt;
    out[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
  }
  return out;
}

}  // namespace berth::sys
