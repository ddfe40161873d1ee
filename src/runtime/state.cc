#include "runtime/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/fs.h"
#include "common/unique_fd.h"
#include "sys/proc.h"

namespace berth::runtime {

namespace {
Json hooks_json(const std::vector<oci::Hook>& hs) {
  Json a = Json::array();
  for (const auto& h : hs) {
    Json o{{"path", h.path}, {"args", h.args}, {"env", h.env}};
    if (h.timeout) o["timeout"] = *h.timeout;
    a.push_back(o);
  }
  return a;
}
std::vector<oci::Hook> hooks_from(const Json& a) {
  std::vector<oci::Hook> out;
  if (!a.is_array()) return out;
  for (const auto& o : a) {
    oci::Hook h;
    h.path = o.value("path", "");
    h.args = o.value("args", std::vector<std::string>{});
    h.env = o.value("env", std::vector<std::string>{});
    if (o.contains("timeout")) h.timeout = o["timeout"].get<int>();
    out.push_back(std::move(h));
  }
  return out;
}
}  // namespace

Json ContainerState::to_json() const {
  return Json{{"id", id},
              {"pid", pid},
              {"start_time", start_time},
              {"bundle", bundle},
              {"rootfs", rootfs},
              {"created", created},
              {"annotations", annotations},
              {"cgroup_path", cgroup_path},
              {"cgroup_dirs", cgroup_dirs},
              {"own_pid_ns", own_pid_ns},
              {"poststart", hooks_json(poststart)},
              {"poststop", hooks_json(poststop)}};
}

Result<ContainerState> ContainerState::from_json(const Json& j) {
  try {
    ContainerState s;
    s.id = j.at("id").get<std::string>();
    s.pid = j.at("pid").get<pid_t>();
    s.start_time = j.at("start_time").get<uint64_t>();
    s.bundle = j.value("bundle", "");
    s.rootfs = j.value("rootfs", "");
    s.created = j.value("created", "");
    s.annotations = j.value("annotations", std::map<std::string, std::string>{});
    s.cgroup_path = j.value("cgroup_path", "");
    s.cgroup_dirs = j.value("cgroup_dirs", std::vector<std::string>{});
    s.own_pid_ns = j.value("own_pid_ns", true);
    if (j.contains("poststart")) s.poststart = hooks_from(j["poststart"]);
    if (j.contains("poststop")) s.poststop = hooks_from(j["poststop"]);
    if (j.contains("config")) s.config = j["config"];
    return s;
  } catch (const std::exception& e) {
    return make_error(Errc::internal, std::string("corrupt state.json: ") + e.what());
  }
}

Status StateDir::save(const ContainerState& s) const {
  if (!s.config.is_null()) BERTH_TRY_VOID(save_config_text(s.id, s.config.dump()));
  return fs::write_file_atomic(dir(s.id) + "/state.json", s.to_json().dump(), fs::Durability::none, 0600);
}

Status StateDir::save_config_text(const std::string& id, std::string_view text) const {
  return fs::write_file_atomic(config_file(id), text, fs::Durability::none, 0600);
}

Status StateDir::create_config_text(const std::string& id, std::string_view text) const {
  const std::string path = config_file(id);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return sys_error("create " + path);
  return fs::write_all(fd.get(), text).transform_error([&](Error e) { return std::move(e).wrap("write " + path); });
}

Status StateDir::load_config(ContainerState& s) const {
  if (!s.config.is_null()) return ok();
  auto text = fs::read_file(config_file(s.id));
  if (!text) return std::move(text).error().wrap("stored config of " + s.id);
  auto j = parse_json(*text);
  if (!j || !j->is_object()) return make_error(Errc::internal, "corrupt stored config.json of " + s.id);
  s.config = std::move(*j);
  return ok();
}

Result<ContainerState> StateDir::load(const std::string& id) const {
  BERTH_TRY_VOID(validate_id(id));
  auto text = fs::read_file(dir(id) + "/state.json");
  if (!text) {
    if (text.error().sys_errno == ENOENT)
      return make_error(Errc::not_found, "container \"" + id + "\" does not exist");
    return std::move(text).error();
  }
  auto j = parse_json(*text);
  if (!j) return make_error(Errc::internal, "corrupt state.json of " + id);
  return ContainerState::from_json(*j);
}

std::vector<std::string> StateDir::ids() const {
  std::vector<std::string> out;
  for (auto& n : fs::list_dir(root_))
    if (fs::exists(dir(n) + "/state.json")) out.push_back(n);
  std::sort(out.begin(), out.end());  // runc lists by name
  return out;
}

Status StateDir::remove(const std::string& id) const { return fs::remove_all(dir(id)); }

const char* status_name(ContainerStatus s) {
  switch (s) {
    case ContainerStatus::created: return "created";
    case ContainerStatus::running: return "running";
    case ContainerStatus::paused: return "paused";
    case ContainerStatus::stopped: return "stopped";
  }
  return "unknown";
}

ContainerStatus current_status(const StateDir& dir, const ContainerState& s) {
  if (!sys::process_matches(s.pid, s.start_time)) return ContainerStatus::stopped;
  struct stat st;
  if (::lstat(dir.fifo(s.id).c_str(), &st) == 0) return ContainerStatus::created;
  if (cgroup_frozen(s.cgroup_dirs)) return ContainerStatus::paused;
  return ContainerStatus::running;
}

bool cgroup_frozen(const std::vector<std::string>& dirs) {
  for (const auto& d : dirs) {
    if (auto v1 = fs::read_file(d + "/freezer.state"))
      if (v1->rfind("FROZEN", 0) == 0 || v1->rfind("FREEZING", 0) == 0) return true;
    if (auto v2 = fs::read_file(d + "/cgroup.freeze"))
      if (v2->rfind("1", 0) == 0) return true;
  }
  return false;
}

OrderedJson oci_state_json(const ContainerState& s, ContainerStatus st) {
  OrderedJson j;
  j["ociVersion"] = "1.0.2";
  j["id"] = s.id;
  j["pid"] = st == ContainerStatus::stopped ? 0 : s.pid;
  j["status"] = status_name(st);
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = "";
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j;
}

Status validate_id(const std::string& id) {
  auto bad = [&] { return make_error(Errc::invalid, "invalid container id \"" + id + "\""); };
  if (id.empty() || id.size() > 1024) return bad();
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum) continue;
    if (i > 0 && (c == '_' || c == '.' || c == '-' || c == '+')) continue;
    return bad();
  }
  return ok();
}

}  // namespace berth::runtime
