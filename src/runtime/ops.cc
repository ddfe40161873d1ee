// runc's verbs on a live container's cgroup: pause, resume, ps, update,
// events --stats.
#include "common/strings.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"

namespace berth::runtime {

namespace {
Result<Cgroup> container_cgroup(const ContainerState& s) {
  if (s.cgroup_path.empty()) return make_error(Errc::invalid, "container " + s.id + " has no cgroup");
  auto layout = BERTH_TRY(detect_host_cgroup_layout());
  return Cgroup(std::move(layout), s.cgroup_path);
}
}  // namespace

Status Runtime::pause(const std::string& id) {
  ContainerState s = BERTH_TRY(dir_.load(id));
  ContainerStatus st = current_status(dir_, s);
  if (st != ContainerStatus::running)
    return make_error(Errc::conflict, std::string("container not running: ") + status_name(st));
  Cgroup cg = BERTH_TRY(container_cgroup(s));
  return cg.set_frozen(true);
}

Status Runtime::resume(const std::string& id) {
  ContainerState s = BERTH_TRY(dir_.load(id));
  ContainerStatus st = current_status(dir_, s);
  if (st != ContainerStatus::paused) return make_error(Errc::conflict, "container not paused");
  Cgroup cg = BERTH_TRY(container_cgroup(s));
  return cg.set_frozen(false);
}

Result<std::vector<pid_t>> Runtime::pids(const std::string& id) const {
  ContainerState s = BERTH_TRY(dir_.load(id));
  if (current_status(dir_, s) == ContainerStatus::stopped) return make_error(Errc::conflict, "container not running");
  Cgroup cg = BERTH_TRY(container_cgroup(s));
  return cg.pids();
}

Status Runtime::update(const std::string& id, const oci::Resources& r) {
  ContainerState s = BERTH_TRY(dir_.load(id));
  if (current_status(dir_, s) == ContainerStatus::stopped) return make_error(Errc::conflict, "container not running");
  if (!r.devices.empty()) return make_error(Errc::invalid, "resources.devices: cannot be updated");
  Cgroup cg = BERTH_TRY(container_cgroup(s));
  // v1 refuses a memory limit above memsw: raise memsw first when both grow.
  oci::Resources first = r;
  if (r.memory && r.memory->limit && r.memory->swap && cg.layout().mode != CgroupMode::v2) {
    oci::Resources swap_only;
    swap_only.memory.emplace();
    swap_only.memory->swap = r.memory->swap;
    if (cg.apply(swap_only)) {
      // swap first worked (growing); the full apply below rewrites it.
    }
  }
  BERTH_TRY_VOID(cg.apply(first));
  // Keep the stored config in step so `exec`/state consumers see the new limits.
  if (dir_.load_config(s) && s.config.is_object()) {
    auto& res = s.config["linux"]["resources"];
    if (!res.is_object()) res = Json::object();
    if (r.memory) {
      if (r.memory->limit) res["memory"]["limit"] = *r.memory->limit;
      if (r.memory->reservation) res["memory"]["reservation"] = *r.memory->reservation;
      if (r.memory->swap) res["memory"]["swap"] = *r.memory->swap;
    }
    if (r.cpu) {
      if (r.cpu->shares) res["cpu"]["shares"] = *r.cpu->shares;
      if (r.cpu->quota) res["cpu"]["quota"] = *r.cpu->quota;
      if (r.cpu->period) res["cpu"]["period"] = *r.cpu->period;
      if (!r.cpu->cpus.empty()) res["cpu"]["cpus"] = r.cpu->cpus;
      if (!r.cpu->mems.empty()) res["cpu"]["mems"] = r.cpu->mems;
    }
    if (r.pids_limit) res["pids"]["limit"] = *r.pids_limit;
    if (r.blkio_weight) res["blockIO"]["weight"] = *r.blkio_weight;
    BERTH_TRY_VOID(dir_.save(s));
  }
  return ok();
}

Result<OrderedJson> Runtime::stats(const std::string& id) const {
  ContainerState s = BERTH_TRY(dir_.load(id));
  if (current_status(dir_, s) == ContainerStatus::stopped) return make_error(Errc::conflict, "container not running");
  Cgroup cg = BERTH_TRY(container_cgroup(s));
  OrderedJson out;
  out["type"] = "stats";
  out["id"] = id;
  out["data"] = cg.stats();
  return out;
}

Result<uint64_t> Runtime::oom_kills(const std::string& id) const {
  ContainerState s = BERTH_TRY(dir_.load(id));
  Cgroup cg = BERTH_TRY(container_cgroup(s));
  return cg.oom_kills();
}

}  // namespace berth::runtime
