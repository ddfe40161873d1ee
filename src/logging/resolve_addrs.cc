// resolve_driver_addrs: berthd's name lookup for the shim's network log
// drivers. A file of its own so that the static shim, which links
// drivers.cc, never pulls getaddrinfo (and with it NSS and static dlopen)
// out of libc.a.
#include "common/net.h"
#include "logging/drivers.h"

namespace berth::logging {

Status resolve_driver_addrs(DriverConfig& c) {
  c.dial_addrs.clear();
  auto t = BERTH_TRY(driver_dial_target(c));
  if (!t) return ok();
  auto r = net::resolve(t->hostport, t->type);
  if (!r) {
    if (t->gelf)
      return make_error(Errc::unavailable,
                        "gelf: cannot connect to GELF endpoint: " + t->hostport + " " + r.error().msg);
    return std::move(r).error();
  }
  c.dial_addrs = std::move(*r);
  return ok();
}

}  // namespace berth::logging
