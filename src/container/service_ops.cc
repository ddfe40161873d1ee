// ContainerService operations that act on a running container through its
// runtime or cgroups: pause/unpause, update, stats, top; and rename.
#include <signal.h>

#include "common/fs.h"
#include "common/strings.h"
#include "container/changes.h"
#include "container/names.h"
#include "container/overlay.h"
#include "container/runtime_cmd.h"
#include "container/service.h"
#include "container/stats.h"

namespace berth::container {

namespace {

Error not_running(const std::string& id) {
  return make_error(Errc::conflict, "Container " + id + " is not running");
}

// Resources fields `docker update` may change.
constexpr const char* kUpdatable[] = {
    "BlkioWeight", "CpuShares", "CpuPeriod", "CpuQuota", "NanoCpus", "CpusetCpus", "CpusetMems",
    "Memory", "MemoryReservation", "MemorySwap", "PidsLimit", "KernelMemory", "CpuRealtimePeriod",
    "CpuRealtimeRuntime"};

// OCI LinuxResources for the runtime's `update -r`.
Json oci_resources(const Json& hc) {
  auto i = [&](const char* k) -> int64_t {
    auto it = hc.find(k);
    return it != hc.end() && it->is_number() ? it->get<int64_t>() : 0;
  };
  Json r = Json::object();
  Json mem = Json::object();
  if (i("Memory") > 0) mem["limit"] = i("Memory");
  if (i("MemorySwap") != 0) mem["swap"] = i("MemorySwap");
  if (i("MemoryReservation") > 0) mem["reservation"] = i("MemoryReservation");
  if (!mem.empty()) r["memory"] = mem;
  Json cpu = Json::object();
  if (i("CpuShares") > 0) cpu["shares"] = i("CpuShares");
  if (i("NanoCpus") > 0) {
    cpu["period"] = 100000;
    cpu["quota"] = i("NanoCpus") * 100000 / 1000000000;
  }
  if (i("CpuQuota") != 0) cpu["quota"] = i("CpuQuota");
  if (i("CpuPeriod") != 0) cpu["period"] = i("CpuPeriod");
  if (auto v = hc.value("CpusetCpus", std::string()); !v.empty()) cpu["cpus"] = v;
  if (auto v = hc.value("CpusetMems", std::string()); !v.empty()) cpu["mems"] = v;
  if (!cpu.empty()) r["cpu"] = cpu;
  if (i("PidsLimit") != 0) r["pids"] = Json{{"limit", i("PidsLimit")}};
  if (i("BlkioWeight") > 0) r["blockIO"] = Json{{"weight", i("BlkioWeight")}};
  return r;
}

}  // namespace

void ContainerService::thaw_if_paused(const EntryPtr& e) {
  Record rec;
  {
    std::lock_guard g(mu_);
    if (e->rec.state.status != StateStatus::paused) return;
    rec = e->rec;
  }
  (void)run_runtime(runtime_for(rec), opts_.paths.runtime_root(), {"resume", rec.id});
  std::lock_guard g(mu_);
  if (e->rec.state.status == StateStatus::paused) {
    e->rec.state.status = StateStatus::running;
    (void)persist_state(*e);
  }
}

Status ContainerService::pause(std::string_view ref) {
  EntryPtr e = BERTH_TRY(find(ref));
  std::unique_lock op(e->op_mu);
  std::string id;
  Record rec;
  {
    std::lock_guard g(mu_);
    id = e->rec.id;
    if (e->rec.state.status == StateStatus::paused)
      return make_error(Errc::conflict, "Container " + id + " is already paused");
    if (e->rec.state.status != StateStatus::running || !e->shim_up) return not_running(id);
    rec = e->rec;
  }
  auto r = run_runtime_checked(runtime_for(rec), opts_.paths.runtime_root(), {"pause", id});
  if (!r) return make_error(Errc::internal, "Cannot pause container " + id + ": " + r.error().msg);
  std::lock_guard g(mu_);
  if (e->rec.state.status == StateStatus::running) {
    e->rec.state.status = StateStatus::paused;
    (void)persist_state(*e);
  }
  publish(id, "pause", event_attrs(e->rec));
  return ok();
}

Status ContainerService::unpause(std::string_view ref) {
  EntryPtr e = BERTH_TRY(find(ref));
  std::unique_lock op(e->op_mu);
  std::string id;
  Record rec;
  {
    std::lock_guard g(mu_);
    id = e->rec.id;
    if (e->rec.state.status != StateStatus::paused)
      return make_error(Errc::internal, "Container " + id + " is not paused");
    rec = e->rec;
  }
  auto r = run_runtime_checked(runtime_for(rec), opts_.paths.runtime_root(), {"resume", id});
  if (!r) return make_error(Errc::internal, "Cannot unpause container " + id + ": " + r.error().msg);
  std::lock_guard g(mu_);
  if (e->rec.state.status == StateStatus::paused) {
    e->rec.state.status = StateStatus::running;
    (void)persist_state(*e);
  }
  publish(id, "unpause", event_attrs(e->rec));
  return ok();
}

Result<Json> ContainerService::update(std::string_view ref, const Json& body) {
  if (!body.is_object()) return make_error(Errc::invalid, "config cannot be empty in order to update a container");
  EntryPtr e = BERTH_TRY(find(ref));
  std::unique_lock op(e->op_mu);
  Record rec;
  {
    std::lock_guard g(mu_);
    rec = e->rec;
  }
  Json hc = rec.host_config;
  bool changed = false;
  for (const char* k : kUpdatable) {
    auto it = body.find(k);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_number() && !it->is_string())
      return make_error(Errc::invalid, std::string("json: cannot unmarshal into Go struct field UpdateConfig.") + k);
    // Docker: zero means "leave as is".
    if ((it->is_number() && it->get<int64_t>() == 0) || (it->is_string() && it->get<std::string>().empty()))
      continue;
    if (std::string_view(k) == "KernelMemory" || std::string_view(k) == "CpuRealtimePeriod" ||
        std::string_view(k) == "CpuRealtimeRuntime")
      return make_error(Errc::invalid, std::string("berth does not support updating ") + k);
    hc[k] = *it;
    changed = true;
  }
  auto given = [&](const char* k) {
    auto it = body.find(k);
    return it != body.end() && it->is_number() && it->get<int64_t>() != 0;
  };
  // Docker: a new memory limit above the current swap limit needs a new swap limit too.
  if (given("Memory") && !given("MemorySwap")) {
    int64_t swap = rec.host_config.value("MemorySwap", int64_t{0});
    if (swap > 0 && body["Memory"].get<int64_t>() > swap)
      return make_error(Errc::invalid, "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time");
  }
  if (given("NanoCpus")) {
    hc.erase("CpuQuota");
    hc.erase("CpuPeriod");
  }
  if (given("CpuQuota") || given("CpuPeriod")) hc["NanoCpus"] = 0;
  // Validate the merged settings with create's rules.
  Json probe{{"Image", "x"}, {"Cmd", {"x"}}, {"HostConfig", hc}};
  if (auto p = prepare_create(probe, Json::object()); !p) return std::move(p).error();
  if (auto it = body.find("RestartPolicy"); it != body.end() && it->is_object() &&
                                            !it->value("Name", std::string()).empty()) {
    hc["RestartPolicy"] = *it;
    changed = true;
  }
  if (!changed) return Json{{"Warnings", Json::array()}};
  bool running;
  {
    std::lock_guard g(mu_);
    running = is_running_status(e->rec.state.status) && e->shim_up;
  }
  if (running) {
    auto r = run_runtime_checked(runtime_for(rec), opts_.paths.runtime_root(),
                                 {"update", "-r", "-", rec.id}, oci_resources(hc).dump());
    if (!r) return make_error(Errc::internal, "Cannot update container " + rec.id + ": " + r.error().msg);
  }
  std::lock_guard g(mu_);
  e->rec.host_config = hc;
  BERTH_TRY_VOID(records_.update_record(e->rec));
  return Json{{"Warnings", Json::array()}};
}

Status ContainerService::rename(std::string_view ref, std::string_view new_name) {
  if (new_name.empty() || new_name == "/")
    return make_error(Errc::invalid, "Neither old nor new names may be empty");
  std::string full = BERTH_TRY(validate_name(new_name));
  EntryPtr e = BERTH_TRY(find(ref));
  std::lock_guard g(mu_);
  if (e->removed) return make_error(Errc::not_found, "No such container: " + std::string(ref));
  if (e->rec.name == full)
    return make_error(Errc::invalid, "Renaming a container with the same name as its current name");
  if (auto it = by_name_.find(full); it != by_name_.end())
    return make_error(Errc::conflict, "Conflict. The container name \"" + full +
                                          "\" is already in use by container \"" + it->second +
                                          "\". You have to remove (or rename) that container to be able to reuse that name.");
  std::string old = e->rec.name;
  e->rec.name = full;
  if (auto st = records_.update_record(e->rec); !st) {
    e->rec.name = old;
    return make_error(Errc::internal, "Error when allocating new name: " + st.error().msg);
  }
  by_name_.erase(old);
  by_name_[full] = e->rec.id;
  auto attrs = event_attrs(e->rec);
  attrs["oldName"] = old;
  publish(e->rec.id, "rename", std::move(attrs));
  return ok();
}

Result<Json> ContainerService::stats_sample(std::string_view ref) {
  EntryPtr e = BERTH_TRY(find(ref));
  int pid = 0;
  std::string id, name;
  {
    std::lock_guard g(mu_);
    id = e->rec.id;
    name = e->rec.name;
    if (is_running_status(e->rec.state.status) && e->shim_up) pid = e->rec.state.pid;
  }
  Json s;
  if (pid > 0) {
    s = read_stats_sample(pid);
  } else {
    // A stopped container: Docker's zero sample.
    s = Json{{"read", "0001-01-01T00:00:00Z"},
             {"pids_stats", Json::object()},
             {"blkio_stats", Json{{"io_service_bytes_recursive", nullptr}}},
             {"num_procs", 0},
             {"storage_stats", Json::object()},
             {"cpu_stats", Json{{"cpu_usage", Json{{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
                                {"throttling_data", Json{{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}}},
             {"memory_stats", Json::object()}};
  }
  s["name"] = name;
  s["id"] = id;
  return s;
}

Result<Json> ContainerService::changes(std::string_view ref) {
  EntryPtr e = BERTH_TRY(find(ref));
  Record rec;
  {
    std::lock_guard g(mu_);
    rec = e->rec;
  }
  RootfsDirs rd = rootfs_dirs(opts_.paths.data_root, rec.id);
  return upper_changes(rd.upper, rec.layer_dirs);
}

Result<Json> ContainerService::prune(const std::function<bool(const Record&)>& matches) {
  std::vector<EntryPtr> victims;
  {
    std::lock_guard g(mu_);
    for (const auto& [id, e] : by_id_) {
      if (e->removed || is_running_status(e->rec.state.status) || e->rec.state.status == StateStatus::removing)
        continue;
      if (matches(e->rec)) victims.push_back(e);
    }
  }
  Json deleted = Json::array();
  int64_t reclaimed = 0;
  for (auto& e : victims) {
    std::unique_lock op(e->op_mu);
    {
      std::lock_guard g(mu_);
      if (e->removed || is_running_status(e->rec.state.status)) continue;
    }
    reclaimed += dir_size(rootfs_dirs(opts_.paths.data_root, e->rec.id).upper);
    remove_locked(e);
    deleted.push_back(e->rec.id);
  }
  return Json{{"ContainersDeleted", deleted.empty() ? Json(nullptr) : deleted}, {"SpaceReclaimed", reclaimed}};
}

Result<Json> ContainerService::top(std::string_view ref, const std::string& ps_args) {
  EntryPtr e = BERTH_TRY(find(ref));
  int pid = 0;
  std::string id;
  {
    std::lock_guard g(mu_);
    id = e->rec.id;
    if (e->rec.state.status == StateStatus::paused)
      return make_error(Errc::conflict, "Container " + id + " is paused, unpause the container before running top");
    if (is_running_status(e->rec.state.status) && e->shim_up) pid = e->rec.state.pid;
  }
  if (pid <= 0) return not_running(id);
  auto pids = cgroup_pids(pid);
  if (pids.empty()) pids.push_back(pid);
  return top_processes(pids, ps_args);
}

}  // namespace berth::container
