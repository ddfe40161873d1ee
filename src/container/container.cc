#include "container/container.h"

#include "common/json_write.h"
#include "common/strings.h"
#include "common/time.h"
#include "container/overlay.h"

namespace berth::container {

namespace {
std::string time_or_zero(int64_t ns) { return ns ? timeutil::rfc3339_nano(ns) : timeutil::kZeroTime; }
Error invalid(std::string m) { return make_error(Errc::invalid, std::move(m)); }

// The binds of a record from before Mounts was kept (HostConfig.Binds,
// "src:dst[:opts]"), as inspect and the list show them.
struct LegacyBind {
  std::string source, destination, mode, propagation = "rprivate";
  bool rw = true;
};
std::vector<LegacyBind> legacy_binds(const Record& r) {
  std::vector<LegacyBind> out;
  auto it = r.host_config.find("Binds");
  if (it == r.host_config.end() || !it->is_array()) return out;
  for (const auto& b : *it) {
    if (!b.is_string()) continue;
    auto parts = str::split(b.get_ref<const std::string&>(), ':');
    if (parts.size() < 2) continue;
    LegacyBind l{parts[0], parts[1], "", "rprivate", true};
    if (parts.size() == 3) {
      l.mode = parts[2];
      for (const auto& o : str::split(parts[2], ',')) {
        if (o == "ro") l.rw = false;
        if (o == "private" || o == "rprivate" || o == "slave" || o == "rslave" || o == "shared" ||
            o == "rshared")
          l.propagation = o;
      }
    }
    out.push_back(std::move(l));
  }
  return out;
}

Json mounts_json(const Record& r) {
  Json out = Json::array();
  if (r.mounts.is_array()) {
    for (const auto& m : r.mounts) {
      Json j{{"Type", m.value("Type", "")}};
      if (m.value("Type", "") == "volume") j["Name"] = m.value("Name", "");
      j["Source"] = m.value("Source", "");
      j["Destination"] = m.value("Destination", "");
      if (m.value("Type", "") == "volume") j["Driver"] = "local";
      j["Mode"] = m.value("Mode", "");
      j["RW"] = m.value("RW", true);
      j["Propagation"] = m.value("Propagation", "");
      out.push_back(j);
    }
    return out;
  }
  for (const auto& l : legacy_binds(r))
    out.push_back(Json{{"Type", "bind"}, {"Source", l.source}, {"Destination", l.destination},
                       {"Mode", l.mode}, {"RW", l.rw}, {"Propagation", l.propagation}});
  return out;
}

std::string network_name(const Record& r) {
  std::string nm = r.host_config.value("NetworkMode", std::string("default"));
  return nm == "default" ? "bridge" : nm;
}

Json endpoint_json() {
  return Json{{"IPAMConfig", nullptr}, {"Links", nullptr},        {"Aliases", nullptr},
              {"NetworkID", ""},       {"EndpointID", ""},        {"Gateway", ""},
              {"IPAddress", ""},       {"IPPrefixLen", 0},        {"IPv6Gateway", ""},
              {"GlobalIPv6Address", ""}, {"GlobalIPv6PrefixLen", 0}, {"MacAddress", ""},
              {"DriverOpts", nullptr}};
}

// Networks of a container that is not running: its mode's network, except
// for a container disconnected from "none" (dockerd then lists only the
// networks it was connected to since).
Json stopped_networks(const Record& r) {
  if (!r.networking_config.value("NoneDetached", false)) return Json{{network_name(r), endpoint_json()}};
  Json out = Json::object();
  Json eps = r.networking_config.value("EndpointsConfig", Json::object());
  if (eps.is_object())
    for (const auto& [k, v] : eps.items()) out[k] = endpoint_json();
  return out;
}

}  // namespace

std::string_view status_name(StateStatus s) {
  switch (s) {
    case StateStatus::created: return "created";
    case StateStatus::running: return "running";
    case StateStatus::paused: return "paused";
    case StateStatus::restarting: return "restarting";
    case StateStatus::removing: return "removing";
    case StateStatus::exited: return "exited";
    case StateStatus::dead: return "dead";
  }
  return "dead";
}

std::optional<StateStatus> parse_status(std::string_view s) {
  for (StateStatus st : {StateStatus::created, StateStatus::running, StateStatus::paused, StateStatus::restarting,
                    StateStatus::removing, StateStatus::exited, StateStatus::dead})
    if (status_name(st) == s) return st;
  return std::nullopt;
}

bool transition_allowed(StateStatus from, StateStatus to) {
  switch (from) {
    case StateStatus::created:
    case StateStatus::exited:
      return to == StateStatus::running || to == StateStatus::removing || to == from;
    case StateStatus::running:
      return to == StateStatus::exited || to == StateStatus::paused || to == StateStatus::removing;
    case StateStatus::paused: return to == StateStatus::running || to == StateStatus::exited;
    case StateStatus::restarting: return to == StateStatus::running || to == StateStatus::exited;
    case StateStatus::removing: return to == StateStatus::dead;
    case StateStatus::dead: return to == StateStatus::removing;
  }
  return false;
}

Json state_to_json(const State& s) {
  return Json{{"status", status_name(s.status)}, {"pid", s.pid},
              {"exit_code", s.exit_code},        {"oom_killed", s.oom_killed},
              {"error", s.error},                {"started_ns", s.started_ns},
              {"finished_ns", s.finished_ns}, {"manually_stopped", s.manually_stopped},
              {"health", s.health}};
}

State state_from_json(const Json& j) {
  State s;
  if (!j.is_object()) return s;
  s.status = parse_status(j.value("status", std::string("created"))).value_or(StateStatus::dead);
  s.pid = j.value("pid", 0);
  s.exit_code = j.value("exit_code", 0);
  s.oom_killed = j.value("oom_killed", false);
  s.error = j.value("error", std::string());
  s.started_ns = j.value("started_ns", int64_t{0});
  s.finished_ns = j.value("finished_ns", int64_t{0});
  s.manually_stopped = j.value("manually_stopped", false);
  if (auto it = j.find("health"); it != j.end() && it->is_object()) s.health = *it;
  return s;
}

Json record_to_json(const Record& r) {
  return Json{{"id", r.id},
              {"name", r.name},
              {"created_ns", r.created_ns},
              {"image_id", r.image_id},
              {"image_ref", r.image_ref},
              {"layer_dirs", r.layer_dirs},
              {"path", r.path},
              {"args", r.args},
              {"config", r.config},
              {"host_config", r.host_config},
              {"networking_config", r.networking_config},
              {"mounts", r.mounts},
              {"restart_count", r.restart_count}};
}

Result<Record> record_from_json(const Json& j, const Json& state) {
  try {
    Record r;
    r.id = j.at("id").get<std::string>();
    r.name = j.at("name").get<std::string>();
    r.created_ns = j.at("created_ns").get<int64_t>();
    r.image_id = j.at("image_id").get<std::string>();
    r.image_ref = j.at("image_ref").get<std::string>();
    r.layer_dirs = j.at("layer_dirs").get<std::vector<std::string>>();
    r.path = j.at("path").get<std::string>();
    r.args = j.at("args").get<std::vector<std::string>>();
    r.config = j.at("config");
    r.host_config = j.at("host_config");
    r.networking_config = j.at("networking_config");
    r.restart_count = j.value("restart_count", 0);
    r.mounts = j.value("mounts", Json());
    if (state.is_object() && state.contains("restart_count"))
      r.restart_count = state.value("restart_count", r.restart_count);
    r.state = state_from_json(state);
    return r;
  } catch (const std::exception& e) {
    return make_error(Errc::internal, std::string("corrupt container record: ") + e.what());
  }
}

std::string human_duration(int64_t ns) {
  int64_t secs = ns / 1000000000;
  if (secs < 1) return "Less than a second";
  if (secs == 1) return "1 second";
  if (secs < 60) return std::to_string(secs) + " seconds";
  int64_t minutes = secs / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return std::to_string(minutes) + " minutes";
  int64_t hours = static_cast<int64_t>(static_cast<double>(ns) / 3.6e12 + 0.5);
  if (hours == 1) return "About an hour";
  if (hours < 48) return std::to_string(hours) + " hours";
  if (hours < 24 * 7 * 2) return std::to_string(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return std::to_string(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24 / 30) + " months";
  return std::to_string(hours / 24 / 365) + " years";
}

std::string human_status(const State& s, int64_t now) {
  switch (s.status) {
    case StateStatus::running: {
      std::string up = "Up " + human_duration(now - s.started_ns);
      // Docker's ps suffix: " (health: starting)", " (healthy)", " (unhealthy)".
      std::string h = s.health.is_object() ? s.health.value("Status", std::string()) : "";
      if (h == "starting") return up + " (health: starting)";
      if (!h.empty()) return up + " (" + h + ")";
      return up;
    }
    case StateStatus::paused: return "Up " + human_duration(now - s.started_ns) + " (Paused)";
    case StateStatus::restarting:
      return "Restarting (" + std::to_string(s.exit_code) + ") " +
             human_duration(now - s.finished_ns) + " ago";
    case StateStatus::removing: return "Removal In Progress";
    case StateStatus::dead: return "Dead";
    default: break;
  }
  if (s.started_ns == 0) return "Created";
  if (s.finished_ns == 0) return "";
  return "Exited (" + std::to_string(s.exit_code) + ") " + human_duration(now - s.finished_ns) +
         " ago";
}

Json inspect_json(const Record& r, const Paths& p, const std::string& driver) {
  const State& s = r.state;
  Json state{{"Status", status_name(s.status)},
             {"Running", s.status == StateStatus::running || s.status == StateStatus::paused},
             {"Paused", s.status == StateStatus::paused},
             {"Restarting", s.status == StateStatus::restarting},
             {"OOMKilled", s.oom_killed},
             {"Dead", s.status == StateStatus::dead},
             {"Pid", s.pid},
             {"ExitCode", s.exit_code},
             {"Error", s.error},
             {"StartedAt", time_or_zero(s.started_ns)},
             {"FinishedAt", time_or_zero(s.finished_ns)}};
  if (s.health.is_object()) state["Health"] = s.health;
  std::string dir = p.container_dir(r.id);
  RootfsDirs d = rootfs_dirs(p.data_root, r.id);
  std::string lower;
  for (auto it = r.layer_dirs.rbegin(); it != r.layer_dirs.rend(); ++it) {
    if (!lower.empty()) lower += ':';
    lower += *it;
  }
  Json graph{{"Name", driver},
             {"Data",
              {{"LowerDir", lower}, {"MergedDir", d.merged}, {"UpperDir", d.upper}, {"WorkDir", d.work}}}};
  Json hc = r.host_config;
  Json net{{"Bridge", ""},
           {"SandboxID", ""},
           {"HairpinMode", false},
           {"LinkLocalIPv6Address", ""},
           {"LinkLocalIPv6PrefixLen", 0},
           {"Ports", Json::object()},
           {"SandboxKey", ""},
           {"SecondaryIPAddresses", nullptr},
           {"SecondaryIPv6Addresses", nullptr},
           {"EndpointID", ""},
           {"Gateway", ""},
           {"GlobalIPv6Address", ""},
           {"GlobalIPv6PrefixLen", 0},
           {"IPAddress", ""},
           {"IPPrefixLen", 0},
           {"IPv6Gateway", ""},
           {"MacAddress", ""},
           {"Networks", stopped_networks(r)}};
  return Json{{"Id", r.id},
              {"Created", timeutil::rfc3339_nano(r.created_ns)},
              {"Path", r.path},
              {"Args", r.args},
              {"State", state},
              {"Image", r.image_id},
              {"ResolvConfPath", dir + "/resolv.conf"},
              {"HostnamePath", dir + "/hostname"},
              {"HostsPath", dir + "/hosts"},
              {"LogPath", hc.value("LogConfig", Json::object()).value("Type", "json-file") == "json-file"
                              ? p.log_path(r.id)
                              : std::string()},
              {"Name", r.name},
              {"RestartCount", r.restart_count},
              {"Driver", driver},
              {"Platform", "linux"},
              {"MountLabel", ""},
              {"ProcessLabel", ""},
              {"AppArmorProfile", ""},
              {"ExecIDs", nullptr},
              {"HostConfig", hc},
              {"GraphDriver", graph},
              {"Mounts", mounts_json(r)},
              {"Config", r.config},
              {"NetworkSettings", net}};
}

namespace {

// A member's string for the list's Mounts, as Json::value(key, "") gives it
// (a missing or non-string member reads as "").
std::string_view member_str(const Json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>()) : std::string_view();
}

void append_member(std::string& out, const char* key, std::string_view v) {
  out += '"';
  out += key;
  out += "\":";
  append_json_string(out, v);
}

// mounts_json(r), written directly (keys in sorted order).
void append_mounts(std::string& out, const Record& r) {
  out += '[';
  bool first = true;
  if (r.mounts.is_array()) {
    for (const auto& m : r.mounts) {
      if (!m.is_object()) continue;
      std::string_view type = member_str(m, "Type");
      bool volume = type == "volume";
      out += first ? "{" : ",{";
      first = false;
      append_member(out, "Destination", member_str(m, "Destination"));
      if (volume) out += ",\"Driver\":\"local\"";
      out += ',';
      append_member(out, "Mode", member_str(m, "Mode"));
      if (volume) {
        out += ',';
        append_member(out, "Name", member_str(m, "Name"));
      }
      out += ',';
      append_member(out, "Propagation", member_str(m, "Propagation"));
      auto rw = m.find("RW");
      out += rw != m.end() && rw->is_boolean() && !rw->get<bool>() ? ",\"RW\":false," : ",\"RW\":true,";
      append_member(out, "Source", member_str(m, "Source"));
      out += ',';
      append_member(out, "Type", type);
      out += '}';
    }
    out += ']';
    return;
  }
  for (const auto& l : legacy_binds(r)) {
    out += first ? "{" : ",{";
    first = false;
    append_member(out, "Destination", l.destination);
    out += ',';
    append_member(out, "Mode", l.mode);
    out += ',';
    append_member(out, "Propagation", l.propagation);
    out += l.rw ? ",\"RW\":true," : ",\"RW\":false,";
    append_member(out, "Source", l.source);
    out += ",\"Type\":\"bind\"}";
  }
  out += ']';
}

// stopped_networks(r), written directly: every endpoint is the empty one.
void append_stopped_networks(std::string& out, const Record& r) {
  static const std::string kEndpoint = endpoint_json().dump();
  out += '{';
  if (!r.networking_config.value("NoneDetached", false)) {
    append_json_string(out, network_name(r));
    out += ':';
    out += kEndpoint;
  } else if (auto eps = r.networking_config.find("EndpointsConfig");
             eps != r.networking_config.end() && eps->is_object()) {
    bool first = true;
    for (auto it = eps->begin(); it != eps->end(); ++it) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, it.key());
      out += ':';
      out += kEndpoint;
    }
  }
  out += '}';
}

}  // namespace

ListEntry list_entry(const Record& r, int64_t now_ns, const std::vector<std::string>* extra_names) {
  ListEntry e;
  e.id = r.id;
  e.running = is_running_status(r.state.status);
  std::string& h = e.head;
  h.reserve(512);
  std::string cmd = r.path;
  for (const auto& a : r.args) {
    cmd += ' ';
    cmd += a;
  }
  h += "{\"Command\":";
  append_json_string(h, cmd);
  h += ",\"Created\":";
  h += std::to_string(r.created_ns / 1000000000);
  h += ",\"HostConfig\":{\"NetworkMode\":";
  auto nm = r.host_config.find("NetworkMode");
  append_json_string(h, nm != r.host_config.end() && nm->is_string() ? std::string_view(nm->get_ref<const std::string&>())
                                                                      : std::string_view("default"));
  h += "},\"Id\":";
  append_json_string(h, r.id);
  h += ",\"Image\":";
  append_json_string(h, r.image_ref);
  h += ",\"ImageID\":";
  append_json_string(h, r.image_id);
  h += ",\"Labels\":";
  auto labels = r.config.is_object() ? r.config.find("Labels") : r.config.end();
  if (labels != r.config.end())
    append_json(h, *labels);
  else
    h += "{}";
  h += ",\"Mounts\":";
  append_mounts(h, r);
  h += ",\"Names\":[";
  append_json_string(h, r.name);
  if (extra_names)
    for (const auto& n : *extra_names) {
      h += ',';
      append_json_string(h, n);
    }
  h += "],";
  append_stopped_networks(e.networks, r);
  e.tail = "\"State\":";
  append_json_string(e.tail, status_name(r.state.status));
  e.tail += ",\"Status\":";
  append_json_string(e.tail, human_status(r.state, now_ns));
  e.tail += '}';
  return e;
}

void set_live_network(ListEntry& e, const Json& ns) {
  // Each published binding of each "port/proto" key (sorted, as the
  // settings object keeps them): {"IP","PrivatePort","PublicPort","Type"}.
  std::string& p = e.ports;
  p = "[";
  if (auto ports = ns.find("Ports"); ports != ns.end() && ports->is_object()) {
    for (auto it = ports->begin(); it != ports->end(); ++it) {
      if (!it->is_array()) continue;
      const std::string& k = it.key();
      auto slash = k.find('/');
      int priv = static_cast<int>(str::parse_int(k.substr(0, slash)).value_or(0));
      std::string type = k.substr(slash + 1);
      for (const auto& b : *it) {
        if (p.size() > 1) p += ',';
        p += "{\"IP\":";
        append_json_string(p, b.is_object() ? member_str(b, "HostIp") : std::string_view());
        p += ",\"PrivatePort\":";
        p += std::to_string(priv);
        p += ",\"PublicPort\":";
        std::string_view hp = b.is_object() && b.contains("HostPort") ? member_str(b, "HostPort") : "0";
        p += std::to_string(str::parse_int(hp).value_or(0));
        p += ",\"Type\":";
        append_json_string(p, type);
        p += '}';
      }
    }
  }
  p += ']';
  if (auto nets = ns.find("Networks"); nets != ns.end()) {
    e.networks.clear();
    append_json(e.networks, *nets);
  }
}

void ListEntry::append_to(std::string& out) const {
  out += head;
  out += "\"NetworkSettings\":{\"Networks\":";
  out += networks;
  out += "},\"Ports\":";
  out += ports;
  if (size_root_fs) {
    out += ",\"SizeRootFs\":";
    out += std::to_string(*size_root_fs);
  }
  if (size_rw && *size_rw > 0) {
    out += ",\"SizeRw\":";
    out += std::to_string(*size_rw);
  }
  out += ',';
  out += tail;
}

Result<std::vector<std::pair<std::string, std::vector<std::string>>>> parse_filters(
    std::string_view raw) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  if (str::trim(raw).empty()) return out;
  Json j = BERTH_TRY(parse_json(raw));
  if (!j.is_object()) return invalid("invalid filter: expected a JSON object");
  for (const auto& [k, v] : j.items()) {
    std::vector<std::string> vals;
    if (v.is_array()) {
      for (const auto& e : v) {
        if (!e.is_string()) return invalid("invalid filter '" + k + "'");
        vals.push_back(e.get<std::string>());
      }
    } else if (v.is_object()) {
      for (const auto& [vk, vv] : v.items())
        if (vv.is_boolean() && vv.get<bool>()) vals.push_back(vk);
    } else {
      return invalid("invalid filter '" + k + "'");
    }
    out.emplace_back(k, std::move(vals));
  }
  return out;
}

namespace {

// publish=/expose= values: "80", "80/udp", "8000-8010/tcp" → "port/proto"
// keys (Docker's portOp: the protocol defaults to tcp, no ':' allowed).
Result<std::vector<std::string>> port_filter_keys(const std::string& key, const std::string& v) {
  if (v.find(':') != std::string::npos)
    return invalid("filter for '" + key + "' should not contain ':': " + v);
  auto slash = v.find('/');
  std::string port = v.substr(0, slash), proto = slash == std::string::npos ? "tcp" : v.substr(slash + 1);
  if (proto.empty()) proto = "tcp";
  auto dash = port.find('-');
  std::string a = port.substr(0, dash), b = dash == std::string::npos ? a : port.substr(dash + 1);
  auto bad = [&](const std::string& x) {
    return invalid("error while looking up for " + key + " " + v + ": strconv.ParseUint: parsing \"" + x +
                   "\": invalid syntax");
  };
  auto lo = str::parse_int(a);
  if (!lo || *lo < 0 || *lo > 65535) return bad(a);
  auto hi = str::parse_int(b);
  if (!hi || *hi < 0 || *hi > 65535) return bad(b);
  if (*hi < *lo) return invalid("error while looking up for " + key + " " + v + ": invalid range specified for the Port: " + port);
  std::vector<std::string> out;
  for (int64_t p = *lo; p <= *hi; ++p) out.push_back(std::to_string(p) + "/" + proto);
  return out;
}

}  // namespace

Status validate_list_filters(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& f) {
  static const char* kKeys[] = {"id", "name", "status", "label", "exited", "ancestor",
                                "before", "since", "volume", "network", "health",
                                "isolation", "is-task", "publish", "expose"};
  for (const auto& [k, vals] : f) {
    bool known = false;
    for (const char* kk : kKeys) known |= k == kk;
    if (!known) return invalid("Invalid filter '" + k + "'");
    if (k == "status")
      for (const auto& v : vals)
        if (!parse_status(v))
          return invalid("Invalid filter 'status=" + v + "'");
    if (k == "health")
      for (const auto& v : vals)
        if (v != "starting" && v != "healthy" && v != "unhealthy" && v != "none")
          return invalid("Unrecognised filter value for health: " + v);
    if (k == "exited")
      for (const auto& v : vals)
        if (!str::parse_int(v)) return invalid("strconv.Atoi: parsing \"" + v + "\": invalid syntax");
    if (k == "is-task")
      for (const auto& v : vals)
        if (v != "true" && v != "false" && v != "1" && v != "0")
          return invalid("Invalid filter 'is-task=[" + v + "]'");
    if (k == "publish" || k == "expose")
      for (const auto& v : vals) BERTH_TRY_VOID(port_filter_keys(k, v));
  }
  return ok();
}

Result<bool> matches_filters(
    const Record& r, const std::vector<std::pair<std::string, std::vector<std::string>>>& f) {
  for (const auto& [k, vals] : f) {
    if (vals.empty()) continue;
    bool any = false;
    for (const auto& v : vals) {
      if (k == "id") {
        any |= r.id.compare(0, v.size(), v) == 0;
      } else if (k == "name") {
        // Docker matches names as a regular expression; substring covers the
        // CLI's common use (and anchors are honoured below).
        std::string n = r.name.substr(1);
        if (!v.empty() && v.front() == '^' && v.back() == '$')
          any |= n == v.substr(1, v.size() - 2) || r.name == v.substr(1, v.size() - 2);
        else if (!v.empty() && v.front() == '^')
          any |= str::starts_with(n, v.substr(1)) || str::starts_with(r.name, v.substr(1));
        else
          any |= r.name.find(v) != std::string::npos;
      } else if (k == "status") {
        any |= status_name(r.state.status) == v;
      } else if (k == "label") {
        Json labels = r.config.value("Labels", Json::object());
        auto eq = v.find('=');
        std::string key = v.substr(0, eq);
        auto it = labels.find(key);
        if (it != labels.end()) {
          any |= eq == std::string::npos ||
                 (it->is_string() && it->get<std::string>() == v.substr(eq + 1));
        }
      } else if (k == "exited") {
        any |= r.state.status == StateStatus::exited &&
               std::to_string(r.state.exit_code) == v;
      } else if (k == "ancestor") {
        any |= r.image_ref == v || r.image_id == v ||
               (v.size() >= 4 && r.image_id.compare(7, v.size(), v) == 0) ||
               r.image_ref + ":latest" == v;
      } else if (k == "volume") {
        for (const auto& m : mounts_json(r))
          any |= m["Source"] == v || m["Destination"] == v || m.value("Name", "") == v;
      } else if (k == "network") {
        any |= network_name(r) == v;
        if (auto eps = r.networking_config.find("EndpointsConfig"); eps != r.networking_config.end() && eps->is_object())
          any |= eps->contains(v) || (v == "bridge" && eps->contains("default"));
      } else if (k == "health") {
        any |= (r.state.health.is_object() ? r.state.health.value("Status", std::string()) : "none") == v;
      } else if (k == "publish" || k == "expose") {
        // publish: the container's port bindings (-p; -P publishes every
        // exposed port); expose: its exposed ports (image EXPOSE, --expose).
        Json ports = Json::object();
        Json exposed = r.config.value("ExposedPorts", Json::object());
        if (k == "expose") {
          ports = exposed;
        } else {
          ports = r.host_config.value("PortBindings", Json::object());
          if (r.host_config.value("PublishAllPorts", false) && exposed.is_object())
            for (const auto& [pk, pv] : exposed.items()) ports[pk] = pv;
        }
        auto keys = BERTH_TRY(port_filter_keys(k, v));
        if (ports.is_object())
          for (const auto& key : keys) any |= ports.contains(key);
      } else if (k == "is-task") {
        any |= v == "false" || v == "0";  // no swarm tasks here
      } else if (k == "before" || k == "since" || k == "isolation") {
        any = true;  // before/since are applied by the caller; isolation is ignored on Linux (as dockerd)
      }
    }
    if (!any) return false;
  }
  return true;
}

Result<RecordStore> RecordStore::open(store::Db& db) {
  BERTH_TRY_VOID(db.migrate(
      "container",
      {"CREATE TABLE containers(id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, "
       "record TEXT NOT NULL, state TEXT NOT NULL)"}));
  return RecordStore(db);
}

Status RecordStore::insert(const Record& r, bool sync) {
  return run_one("INSERT INTO containers(id, name, record, state) VALUES(?,?,?,?)",
                 {r.id, r.name, record_to_json(r).dump(), state_to_json(r.state).dump()}, sync);
}

Status RecordStore::update_state(const std::string& id, const State& st) {
  auto s = BERTH_TRY(db_->prepare("UPDATE containers SET state=? WHERE id=?"));
  s.bind(1, state_to_json(st).dump()).bind(2, id);
  return s.run();
}

Status RecordStore::update_record(const Record& r) {
  auto s = BERTH_TRY(db_->prepare("UPDATE containers SET record=?, name=? WHERE id=?"));
  s.bind(1, record_to_json(r).dump()).bind(2, r.name).bind(3, r.id);
  return s.run();
}

Status RecordStore::update_state(const std::string& id, const State& st, int restart_count) {
  Json j = state_to_json(st);
  j["restart_count"] = restart_count;  // changes with the state (restart policies)
  auto s = BERTH_TRY(db_->prepare("UPDATE containers SET state=? WHERE id=?"));
  s.bind(1, j.dump()).bind(2, id);
  return s.run();
}

Status RecordStore::remove(const std::string& id, bool sync) {
  return run_one("DELETE FROM containers WHERE id=?", {id}, sync);
}

Status RecordStore::run_one(const std::string& sql, const std::vector<std::string>& args, bool sync) {
  std::lock_guard g(db_->mutex());
  if (!sync) BERTH_TRY_VOID(db_->exec("PRAGMA synchronous=NORMAL"));
  Status st = [&]() -> Status {
    auto s = BERTH_TRY(db_->prepare(sql));
    for (size_t i = 0; i < args.size(); ++i) s.bind(static_cast<int>(i + 1), args[i]);
    return s.run();
  }();
  if (!sync) {
    // Every other commit stays synchronous=FULL; a failure to switch back
    // is reported rather than left to weaken them.
    if (auto back = db_->exec("PRAGMA synchronous=FULL"); !back) return back;
  }
  return st;
}

Result<std::vector<Record>> RecordStore::load_all() {
  std::lock_guard g(db_->mutex());
  auto s = BERTH_TRY(db_->prepare("SELECT record, state FROM containers"));
  std::vector<Record> out;
  while (BERTH_TRY(s.step())) {
    Json rec = BERTH_TRY(parse_json(s.text(0)));
    Json st = BERTH_TRY(parse_json(s.text(1)));
    out.push_back(BERTH_TRY(record_from_json(rec, st)));
  }
  return out;
}

}  // namespace berth::container
