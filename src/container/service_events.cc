// The events dockerd emits around a container's start and exit for the
// resources it uses: network connect/disconnect (one per attached network,
// none and host included) and volume mount/unmount (named and anonymous
// volumes), in dockerd's order: connect, mount, start / die, disconnect,
// unmount.
#include "common/json.h"
#include "container/network_attach.h"
#include "container/service.h"

namespace berth::container {

void ContainerService::publish_resource_events(const Record& r, bool up) {
  if (!opts_.events) return;
  std::vector<std::string> nets;
  NetMode m = parse_network_mode(r.host_config.value("NetworkMode", std::string()));
  if (m.kind == NetKind::bridge || m.kind == NetKind::custom) {
    if (auto req = sandbox_request(r.id, r.name, r.config, r.host_config, r.networking_config))
      for (const auto& ep : req->endpoints) nets.push_back(ep.network);
  } else if (m.kind == NetKind::none) {
    nets.push_back("none");
  } else if (m.kind == NetKind::host) {
    nets.push_back("host");
  }
  if (opts_.networks)
    for (const auto& name : nets)
      if (auto n = opts_.networks->find(name))
        opts_.events("network", up ? "connect" : "disconnect", n->id,
                     {{"container", r.id}, {"name", n->name}, {"type", n->driver}});
  if (!r.mounts.is_array()) return;
  for (const auto& mt : r.mounts) {
    if (!mt.is_object() || mt.value("Type", std::string()) != "volume") continue;
    const std::string name = mt.value("Name", std::string());
    const std::string driver = mt.value("Driver", std::string("local"));
    if (up)
      opts_.events("volume", "mount", name,
                   {{"container", r.id},
                    {"destination", mt.value("Destination", std::string())},
                    {"driver", driver},
                    {"propagation", mt.value("Propagation", std::string())},
                    {"read/write", mt.value("RW", true) ? "true" : "false"}});
    else
      opts_.events("volume", "unmount", name, {{"container", r.id}, {"driver", driver}});
  }
}

}  // namespace berth::container
