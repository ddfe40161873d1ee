#include "container/service.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <regex>

#include "common/fs.h"
#include "common/id.h"
#include "common/strings.h"
#include "common/time.h"
#include "container/host_devices.h"
#include "container/links.h"
#include "container/mounts.h"
#include "container/names.h"
#include "container/network_attach.h"
#include "container/ipc_shm.h"
#include "container/overlay.h"
#include "container/storage_opt.h"
#include "container/runtime_cmd.h"
#include "container/shim_client.h"
#include "container/signals.h"
#include "container/spec_builder.h"
#include "container/user.h"
#include "logging/drivers.h"

namespace berth::container {

// ------------------------------------------------------------------ Notice

Notice::Notice() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void Notice::fire() {
  if (fired_.exchange(true)) return;
  uint64_t one = 1;
  if (fd_) (void)!::write(fd_.get(), &one, sizeof one);
}

bool Notice::wait_for(int timeout_ms) const {
  if (fired_.load()) return true;
  pollfd p{fd_.get(), POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    return fired_.load();
  }
}

Result<WaitCondition> parse_wait_condition(std::string_view s) {
  if (s.empty() || s == "not-running") return WaitCondition::not_running;
  if (s == "next-exit") return WaitCondition::next_exit;
  if (s == "removed") return WaitCondition::removed;
  return make_error(Errc::invalid, "invalid condition: \"" + std::string(s) + "\"");
}

// ---------------------------------------------------------------- helpers

namespace {

Error not_found(std::string_view ref) {
  return make_error(Errc::not_found, "No such container: " + std::string(ref));
}

// hostname, hosts and resolv.conf are bind-mounted into a running
// container, so a rewrite (network connect/disconnect) must keep the inode:
// a rename would leave the container reading the old file. They are
// regenerated at every start, so an in-place write needs no durability.
Status write_bind_source(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return fs::write_file_atomic(path, data, fs::Durability::none);
    return make_error(Errc::internal, "open " + path + ": " + std::strerror(errno));
  }
  return fs::write_all(fd.get(), data);
}

bool is_running(StateStatus s) { return s == StateStatus::running || s == StateStatus::paused || s == StateStatus::restarting; }

std::string host_resolv_conf(bool host_network) {
  auto text = fs::read_file("/etc/resolv.conf");
  std::string in = text ? *text : std::string();
  if (host_network) return in;
  std::string out;
  bool have_ns = false;
  for (const auto& line : str::split(in, '\n')) {
    auto t = str::trim(line);
    if (str::starts_with(t, "nameserver")) {
      auto addr = std::string(str::trim(t.substr(10)));
      if (str::starts_with(addr, "127.") || addr == "::1") continue;
      have_ns = true;
    }
    if (!t.empty()) out += std::string(t) + "\n";
  }
  if (!have_ns) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
  return out;
}

std::optional<std::string> read_host_hostname() {
  char buf[256];
  if (::gethostname(buf, sizeof buf) != 0) return std::nullopt;
  buf[sizeof buf - 1] = 0;
  return std::string(buf);
}

int exit_code_for_start_error(const std::string& msg) {
  if (msg.find("executable file not found") != std::string::npos ||
      msg.find("no such file or directory") != std::string::npos)
    return 127;
  if (msg.find("permission denied") != std::string::npos) return 126;
  return 128;
}

std::vector<std::string> json_strings(const Json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& e : j)
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

}  // namespace

// The log driver's settings for the shim: options, the rendered tag and
// the labels/env attributes (moby's loggerutils and Info.ExtraAttributes).
static logging::DriverConfig log_driver_config(const Record& r, const std::string& path) {
  logging::DriverConfig c;
  const Json lc = r.host_config.value("LogConfig", Json::object());
  c.type = lc.value("Type", std::string("json-file"));
  c.path = path;
  if (auto it = lc.find("Config"); it != lc.end() && it->is_object())
    for (const auto& [k, v] : it->items())
      if (v.is_string()) c.opts[k] = v.get<std::string>();
  logging::TagInfo ti{r.id, r.name.empty() ? "" : r.name.substr(1), r.image_id, r.image_ref};
  auto opt = [&](const char* k) {
    auto it = c.opts.find(k);
    return it == c.opts.end() ? std::string() : it->second;
  };
  std::string tmpl = opt("tag");
  // json-file adds a tag only when asked; syslog and gelf default to the short ID.
  if (tmpl.empty() && c.type != "json-file" && c.type != "local") tmpl = "{{.ID}}";
  if (!tmpl.empty()) c.tag = logging::render_tag(tmpl, ti).value_or(r.id.substr(0, 12));
  Json labels = r.config.value("Labels", Json::object());
  auto csv = [](const std::string& s) { return str::split(s, ','); };
  for (const auto& k : csv(opt("labels")))
    if (labels.contains(k) && labels[k].is_string()) c.attrs[k] = labels[k].get<std::string>();
  std::map<std::string, std::string> env;
  for (const auto& kv : json_strings(r.config.value("Env", Json())))
    if (auto eq = kv.find('='); eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  for (const auto& k : csv(opt("env")))
    if (env.count(k)) c.attrs[k] = env[k];
  try {
    if (auto re = opt("labels-regex"); !re.empty()) {
      std::regex rx(re);
      for (const auto& [k, v] : labels.items())
        if (v.is_string() && std::regex_match(k, rx)) c.attrs[k] = v.get<std::string>();
    }
    if (auto re = opt("env-regex"); !re.empty()) {
      std::regex rx(re);
      for (const auto& [k, v] : env)
        if (std::regex_match(k, rx)) c.attrs[k] = v;
    }
  } catch (const std::regex_error&) {
  }
  std::string cmd = r.path;
  for (const auto& a : r.args) cmd += " " + a;
  c.info = {{"container_id", r.id},
            {"container_name", r.name},
            {"image_id", r.image_id},
            {"image_name", r.image_ref},
            {"command", cmd},
            {"created", timeutil::rfc3339_nano(r.created_ns)}};
  return c;
}

// ---------------------------------------------------------------- service

ContainerService::ContainerService(store::Db& db, RecordStore rs, ServiceOptions opts,
                                   log::Logger& log)
    : db_(db), records_(std::move(rs)), opts_(std::move(opts)), log_(log) {}

Result<std::unique_ptr<ContainerService>> ContainerService::open(store::Db& db, ServiceOptions opts,
                                                                 log::Logger& log) {
  auto rs = BERTH_TRY(RecordStore::open(db));
  BERTH_TRY_VOID(fs::mkdir_p(opts.paths.data_root + "/containers", 0710));
  BERTH_TRY_VOID(fs::mkdir_p(opts.paths.data_root + "/overlay", 0710));
  BERTH_TRY_VOID(fs::mkdir_p(opts.paths.exec_root + "/shims", 0700));
  BERTH_TRY_VOID(fs::mkdir_p(opts.paths.exec_root + "/execs", 0700));
  BERTH_TRY_VOID(fs::mkdir_p(opts.paths.runtime_root(), 0700));
  std::unique_ptr<ContainerService> s(new ContainerService(db, std::move(rs), std::move(opts), log));
  s->epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!s->epoll_) return sys_error("epoll_create1");
  s->monitor_wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s->monitor_wake_) return sys_error("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = s->monitor_wake_.get();
  if (::epoll_ctl(s->epoll_.get(), EPOLL_CTL_ADD, s->monitor_wake_.get(), &ev) != 0)
    return sys_error("epoll_ctl");
  s->shim_reaper_ = BERTH_TRY(ShimReaper::create());
  ev.data.fd = s->shim_reaper_->fd();
  if (::epoll_ctl(s->epoll_.get(), EPOLL_CTL_ADD, s->shim_reaper_->fd(), &ev) != 0)
    return sys_error("epoll_ctl");
  s->monitor_ = std::thread([p = s.get()] { p->monitor_loop(); });
  BERTH_TRY_VOID(s->reconcile());
  s->restart_on_boot();
  return s;
}

ContainerService::~ContainerService() {
  stopping_ = true;
  uint64_t one = 1;
  (void)!::write(monitor_wake_.get(), &one, sizeof one);
  if (monitor_.joinable()) monitor_.join();
}

Result<ContainerService::EntryPtr> ContainerService::find(std::string_view ref) {
  std::lock_guard g(mu_);
  std::vector<NameEntry> all;
  if (auto it = by_id_.find(std::string(ref)); it != by_id_.end()) return it->second;
  all.reserve(by_id_.size());
  for (const auto& [id, e] : by_id_) all.push_back({id, e->rec.name});
  std::string id = BERTH_TRY(resolve_reference(ref, all));
  return by_id_.at(id);
}

void ContainerService::set_default_runtime(std::string name, std::string path) {
  std::lock_guard g(mu_);
  opts_.runtime_name = std::move(name);
  opts_.runtime_path = std::move(path);
}

Result<std::string> ContainerService::resolve(std::string_view ref) {
  auto e = BERTH_TRY(find(ref));
  return e->rec.id;
}

Result<Record> ContainerService::get(std::string_view ref) {
  auto e = BERTH_TRY(find(ref));
  std::lock_guard g(mu_);
  return e->rec;
}

Status ContainerService::with_rootfs(std::string_view ref, const std::function<Status(const Record&)>& fn) {
  auto e = BERTH_TRY(find(ref));
  Record rec;
  {
    std::lock_guard g(mu_);
    rec = e->rec;
  }
  if (is_running_status(rec.state.status)) return fn(rec);
  std::unique_lock op(e->op_mu);
  {
    std::lock_guard g(mu_);
    if (e->removed) return make_error(Errc::not_found, "No such container: " + std::string(ref));
    rec = e->rec;
  }
  return fn(rec);
}

Status ContainerService::persist_state(const Entry& e) {
  return records_.update_state(e.rec.id, e.rec.state, e.rec.restart_count);
}

std::map<std::string, std::string> ContainerService::event_attrs(const Record& r) const {
  std::map<std::string, std::string> a;
  if (auto it = r.config.find("Labels"); it != r.config.end() && it->is_object())
    for (const auto& [k, v] : it->items())
      if (v.is_string()) a[k] = v.get<std::string>();
  a["image"] = r.config.value("Image", r.image_ref);
  a["name"] = r.name.empty() ? std::string() : r.name.substr(1);
  return a;
}

void ContainerService::publish(const std::string& id, std::string_view action,
                               std::map<std::string, std::string> attrs) {
  if (opts_.events) opts_.events("container", action, id, std::move(attrs));
}

void ContainerService::emit(std::string_view ref, std::string_view action,
                            std::map<std::string, std::string> extra) {
  auto e = find(ref);
  if (!e) return;
  std::map<std::string, std::string> attrs;
  std::string id;
  {
    std::lock_guard g(mu_);
    attrs = event_attrs((*e)->rec);
    id = (*e)->rec.id;
  }
  for (auto& [k, v] : extra) attrs[k] = std::move(v);
  publish(id, action, std::move(attrs));
}

Status ContainerService::write_network_files(const Record& r, const std::string& own_hosts, bool embedded_dns) {
  std::string dir = opts_.paths.container_dir(r.id);
  const Json& hc = r.host_config;
  bool host_net = hc.value("NetworkMode", std::string()) == "host";
  std::string hostname = container_hostname(r.id, r.config);
  if (host_net && r.config.value("Hostname", std::string()) == r.id.substr(0, 12))
    hostname = read_host_hostname().value_or(hostname);
  std::string hosts;
  if (host_net) {
    auto h = fs::read_file("/etc/hosts");
    hosts = h ? *h : "127.0.0.1\tlocalhost\n";
  } else {
    hosts =
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
  }
  for (const auto& eh : json_strings(hc.value("ExtraHosts", Json()))) {
    auto c = eh.find(':');
    if (c == std::string::npos) continue;
    std::string ip = eh.substr(c + 1);
    if (ip == "host-gateway" && opts_.networks) ip = opts_.networks->default_bridge_gateway();
    hosts += ip + "\t" + eh.substr(0, c) + "\n";
  }
  hosts += own_hosts;
  std::string resolv;
  auto dns = json_strings(hc.value("Dns", Json()));
  auto search = json_strings(hc.value("DnsSearch", Json()));
  auto options = json_strings(hc.value("DnsOptions", Json()));
  if (dns.empty() && search.empty() && options.empty()) {
    resolv = host_resolv_conf(host_net);
  } else {
    std::string base = host_resolv_conf(host_net);
    std::vector<std::string> lines = str::split(base, '\n');
    if (!search.empty()) {
      std::string s = "search";
      for (const auto& x : search) s += " " + x;
      resolv += s + "\n";
    } else {
      for (const auto& l : lines)
        if (str::starts_with(l, "search")) resolv += l + "\n";
    }
    if (!dns.empty()) {
      for (const auto& d : dns) resolv += "nameserver " + d + "\n";
    } else {
      for (const auto& l : lines)
        if (str::starts_with(l, "nameserver")) resolv += l + "\n";
    }
    if (!options.empty()) {
      std::string s = "options";
      for (const auto& x : options) s += " " + x;
      resolv += s + "\n";
    }
  }
  if (embedded_dns) {
    // Docker's resolv.conf for user-defined networks: the embedded server
    // (which forwards to the host's resolvers), the search list, ndots:0.
    std::string base = host_resolv_conf(true);
    resolv.clear();
    if (!search.empty()) {
      resolv += "search";
      for (const auto& x : search) resolv += " " + x;
      resolv += "\n";
    } else {
      for (const auto& l : str::split(base, '\n'))
        if (str::starts_with(l, "search")) resolv += l + "\n";
    }
    resolv += "nameserver 127.0.0.11\noptions ndots:0";
    for (const auto& x : options) resolv += " " + x;
    resolv += "\n";
  }
  BERTH_TRY_VOID(write_bind_source(dir + "/hostname", hostname + "\n"));
  BERTH_TRY_VOID(write_bind_source(dir + "/hosts", hosts));
  BERTH_TRY_VOID(write_bind_source(dir + "/resolv.conf", resolv));
  return ok();
}

Result<std::string> ContainerService::create(std::string_view name, const Json& body,
                                             const ImageInfo& image) {
  std::string full_name;
  if (!name.empty()) full_name = BERTH_TRY(validate_name(name));
  CreateRequest req = BERTH_TRY(prepare_create(body, image.config));
  {
    // dockerd's mergeAndVerifyLogConfig.
    Json& lc = req.host_config["LogConfig"];
    std::string type = lc.value("Type", std::string());
    if (type.empty()) type = opts_.default_log_type;
    std::map<std::string, std::string> lo;
    for (const auto& [k, v] : lc["Config"].items()) lo[k] = v.get<std::string>();
    if (type == opts_.default_log_type)
      for (const auto& [k, v] : opts_.default_log_opts) lo.emplace(k, v);
    BERTH_TRY_VOID(logging::validate_log_config(type, lo));
    lc = Json{{"Type", type}, {"Config", lo}};
  }
  Record r;
  r.id = random_hex_id();
  r.created_ns = timeutil::now_unix_nano();
  r.image_id = image.id;
  r.image_ref = image.ref;
  r.layer_dirs = image.layer_dirs;
  r.path = req.path;
  r.args = req.args;
  r.config = std::move(req.config);
  r.config["Image"] = image.ref;
  if (r.config.value("Hostname", std::string()).empty()) r.config["Hostname"] = r.id.substr(0, 12);
  r.host_config = std::move(req.host_config);
  {
    std::string rt = r.host_config.value("Runtime", std::string());
    if (rt.empty()) rt = opts_.runtime_name;
    if (rt != opts_.runtime_name && !opts_.runtimes.count(rt))
      return make_error(Errc::invalid, "Unknown runtime specified " + rt);
    r.host_config["Runtime"] = rt;
  }
  // Devices must exist on the host (Docker's message, before anything is made).
  if (auto it = r.host_config.find("Devices"); it != r.host_config.end() && it->is_array())
    for (const auto& d : *it)
      BERTH_TRY_VOID(device_from_host(d.value("PathOnHost", std::string()), "", "rwm"));
  // The image's VOLUMEs join the container's (anonymous volumes).
  if (auto iv = image.config.is_object() ? image.config.find("Volumes") : image.config.end();
      image.config.is_object() && iv != image.config.end() && iv->is_object() && !iv->empty()) {
    if (!r.config["Volumes"].is_object()) r.config["Volumes"] = Json::object();
    for (const auto& [k, v] : iv->items()) r.config["Volumes"][k] = v;
  }
  r.networking_config = std::move(req.networking_config);
  // Legacy links: the linked container must exist now (dockerd's message);
  // it must be running when this one starts.
  std::vector<LinkRef> links;
  if (auto it = r.host_config.find("Links"); it != r.host_config.end() && it->is_array()) {
    for (const auto& s : *it) {
      if (!s.is_string()) return make_error(Errc::invalid, "invalid link format");
      LinkRef l = BERTH_TRY(parse_link(s.get<std::string>()));
      auto child = find(l.child);
      if (!child)
        return make_error(Errc::invalid, "could not get container for " + l.child +
                                                ": No such container: " + l.child);
      std::lock_guard g(mu_);
      l.child = (*child)->rec.name.substr(1);
      links.push_back(std::move(l));
    }
  }
  // Networks are looked up at start (as dockerd 20.10: create succeeds,
  // start fails with 404 "network X not found").
  BERTH_TRY_VOID(check_networking(r.host_config, r.networking_config, nullptr));
  if (NetMode m = parse_network_mode(r.host_config.value("NetworkMode", std::string()));
      m.kind == NetKind::container) {
    auto other = BERTH_TRY(find(m.target));
    std::lock_guard g(mu_);
    r.host_config["NetworkMode"] = "container:" + other->rec.id;
  }

  // Mount points: volumes are created now (anonymous ones go again if the
  // create fails), bind sources checked or made as Docker does.
  const int64_t mounts_t0 = timeutil::now_unix_nano();
  r.mounts = BERTH_TRY(resolve_mounts(r.config, r.host_config, opts_.volumes, [this](const std::string& ref) -> Result<Json> {
    auto other = BERTH_TRY(find(ref));
    std::lock_guard g(mu_);
    return other->rec.mounts;
  }));
  auto undo_vols = ScopeExit([&] {
    if (opts_.volumes)
      for (const auto& v : anonymous_volumes(r.mounts)) (void)opts_.volumes->remove(v);
  });

  // Files first, row last: a crash in between leaves only orphan
  // directories, which reconcile removes.
  std::string dir = opts_.paths.container_dir(r.id);
  RootfsDirs rd = rootfs_dirs(opts_.paths.data_root, r.id);
  auto undo = ScopeExit([&] {
    (void)fs::remove_all(dir);
    (void)fs::remove_all(rd.base);
  });
  BERTH_TRY_VOID(fs::mkdir_p(dir, 0710));
  BERTH_TRY_VOID(create_rootfs_dirs(rd));
  BERTH_TRY_VOID(apply_storage_opt(r.host_config, opts_.paths.data_root, rd));
  BERTH_TRY_VOID(write_network_files(r));

  auto e = std::make_shared<Entry>();
  {
    std::lock_guard g(mu_);
    if (full_name.empty()) {
      std::vector<std::string> taken;
      for (const auto& [n, id] : by_name_) taken.push_back(n);
      full_name = "/" + generate_name(taken);
    }
    if (auto it = by_name_.find(full_name); it != by_name_.end())
      return make_error(Errc::conflict, "Conflict. The container name \"" + full_name +
                                            "\" is already in use by container \"" + it->second +
                                            "\". You have to remove (or rename) that container "
                                            "to be able to reuse that name.");
    r.name = full_name;
    if (!links.empty()) {
      Json stored = Json::array();
      for (const auto& l : links) stored.push_back(canonical_link(l.child, full_name, l.alias));
      r.host_config["Links"] = std::move(stored);
    }
    // An --rm container's row is not synced on its own: its start syncs
    // (carrying this row), and one lost to a power cut before that leaves
    // orphan directories, which reconcile removes (RecordStore::insert).
    BERTH_TRY_VOID(records_.insert(r, /*sync=*/!r.host_config.value("AutoRemove", false)));
    e->rec = std::move(r);
    by_name_[e->rec.name] = e->rec.id;
    by_id_[e->rec.id] = e;
  }
  undo.dismiss();
  undo_vols.dismiss();
  BERTH_LOG(log_, info, "container created", {"id", e->rec.id}, {"name", e->rec.name});
  // dockerd: a volume this create made (anonymous, or named and new) is
  // announced before the container.
  if (opts_.events && opts_.volumes && e->rec.mounts.is_array())
    for (const auto& mt : e->rec.mounts) {
      if (!mt.is_object() || mt.value("Type", std::string()) != "volume") continue;
      auto v = opts_.volumes->get(mt.value("Name", std::string()));
      if (v && v->created_ns >= mounts_t0)
        opts_.events("volume", "create", v->name, {{"driver", v->driver}});
    }
  std::map<std::string, std::string> attrs;
  {
    std::lock_guard g(mu_);
    attrs = event_attrs(e->rec);
  }
  publish(e->rec.id, "create", std::move(attrs));
  return e->rec.id;
}

std::string ContainerService::runtime_for(const Record& r) const {
  std::string rt = r.host_config.value("Runtime", std::string());
  if (auto it = opts_.runtimes.find(rt); it != opts_.runtimes.end() && rt != opts_.runtime_name)
    return it->second;
  return opts_.runtime_path;
}

Status ContainerService::fill_host_facts(SpecInput& in) {
  const Json& hc = in.host_config;
  in.host_caps = host_bounding_caps();
  if (hc.value("Privileged", false)) {
    in.devices = all_host_devices();
  } else if (auto it = hc.find("Devices"); it != hc.end() && it->is_array()) {
    for (const auto& d : *it)
      in.devices.push_back(BERTH_TRY(device_from_host(d.value("PathOnHost", std::string()),
                                                      d.value("PathInContainer", std::string()),
                                                      d.value("CgroupPermissions", std::string("rwm")))));
  }
  for (const char* k : {"BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps",
                        "BlkioDeviceWriteIOps"}) {
    auto it = hc.find(k);
    if (it == hc.end() || !it->is_array()) continue;
    for (const auto& d : *it) {
      std::string path = d.value("Path", std::string());
      auto dev = BERTH_TRY(device_from_host(path, path, "rwm"));
      in.device_numbers[path] = {dev.value("major", int64_t{0}), dev.value("minor", int64_t{0})};
    }
  }
  for (const char* k : {"PidMode", "IpcMode"}) {
    std::string mode = hc.value(k, std::string());
    if (!str::starts_with(mode, "container:")) continue;
    std::string ref = mode.substr(10);
    bool pid_ns = std::string_view(k) == "PidMode";
    auto other = find(ref);
    if (!other)
      return make_error(Errc::invalid, std::string("cannot join ") + (pid_ns ? "PID" : "IPC") +
                                           " of a non running container: " + ref);
    int pid = 0;
    {
      std::lock_guard g(mu_);
      if ((*other)->rec.state.status == StateStatus::running) pid = (*other)->rec.state.pid;
    }
    if (pid <= 0)
      return make_error(Errc::conflict, std::string("cannot join ") + (pid_ns ? "PID" : "IPC") +
                                            " of a non running container: " + ref);
    in.join_ns[pid_ns ? "pid" : "ipc"] = "/proc/" + std::to_string(pid) + "/ns/" + (pid_ns ? "pid" : "ipc");
    if (!pid_ns) {
      // /dev/shm too: the donor's host-side tmpfs (--ipc shareable), or the
      // host's for a donor with --ipc host. A private donor's /dev/shm lives
      // only in its mount namespace: refused, as dockerd does.
      std::string donor_mode, donor_id;
      {
        std::lock_guard g(mu_);
        donor_mode = (*other)->rec.host_config.value("IpcMode", std::string());
        donor_id = (*other)->rec.id;
      }
      if (donor_mode == "shareable") {
        in.ipc_shm_source = ipc_shm_path(opts_.paths.container_dir(donor_id));
        if (!is_mount_point(in.ipc_shm_source))
          return make_error(Errc::conflict, "can't join IPC of container " + donor_id + ": container is not running");
      } else if (donor_mode == "host") {
        in.ipc_shm_source = "/dev/shm";
      } else {
        return make_error(Errc::conflict, "can't join IPC of container " + donor_id +
                                              ": non-shareable IPC (hint: use IpcMode:shareable for the donor container)");
      }
    }
  }
  if (hc.value("IpcMode", std::string()) == "shareable") {
    in.ipc_shm_source = ipc_shm_path(opts_.paths.container_dir(in.id));
    BERTH_TRY_VOID(mount_ipc_shm(in.ipc_shm_source, hc.value("ShmSize", int64_t{0})));
  }
  if (hc.value("Init", false)) {
    auto init = fs::find_helper_binary("berth-init");
    if (!init) return make_error(Errc::internal, "berth-init not found next to berthd or on PATH");
    in.init_binary = *init;
  }
  if (hc.value("BlkioWeight", int64_t{0}) > 0) {
    bool v2 = fs::exists("/sys/fs/cgroup/cgroup.controllers");
    in.blkio_weight_supported =
        v2 ? fs::exists("/sys/fs/cgroup/io.weight") || fs::exists("/sys/fs/cgroup/io.bfq.weight") ||
                 fs::exists("/sys/fs/cgroup/berth/io.weight") || fs::exists("/sys/fs/cgroup/berth/io.bfq.weight")
           : fs::exists("/sys/fs/cgroup/blkio/blkio.weight") || fs::exists("/sys/fs/cgroup/blkio/blkio.bfq.weight");
    if (!in.blkio_weight_supported)
      BERTH_LOG(log_, warn, "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.",
                {"id", in.id});
  }
  utsname u{};
  if (::uname(&u) == 0) std::sscanf(u.release, "%d.%d", &in.kernel_major, &in.kernel_minor);
  return ok();
}

Status ContainerService::prepare_bundle(Entry& e) {
  const Record& r = e.rec;
  RootfsDirs rd = rootfs_dirs(opts_.paths.data_root, r.id);
  BERTH_TRY_VOID(mount_rootfs(r.layer_dirs, rd));
  std::string dir = opts_.paths.container_dir(r.id);
  if (!fs::exists(dir + "/hostname")) BERTH_TRY_VOID(write_network_files(r));
  SpecInput in;
  in.id = r.id;
  in.config = r.config;
  in.host_config = r.host_config;
  if (opts_.default_ulimits.is_object() && !opts_.default_ulimits.empty()) {
    // daemon.json default-ulimits apply where the container sets none of that name.
    Json& ul = in.host_config["Ulimits"];
    if (!ul.is_array()) ul = Json::array();
    for (const auto& [name, u] : opts_.default_ulimits.items()) {
      bool have = false;
      for (const auto& x : ul) have |= x.value("Name", std::string()) == name;
      if (!have) ul.push_back(Json{{"Name", name}, {"Soft", u.value("Soft", 0)}, {"Hard", u.value("Hard", 0)}});
    }
  }
  in.path = r.path;
  in.args = r.args;
  in.rootfs = rd.merged;
  in.hostname_path = dir + "/hostname";
  in.hosts_path = dir + "/hosts";
  in.resolv_conf_path = dir + "/resolv.conf";
  if (r.mounts.is_array()) in.extra_mounts = BERTH_TRY(oci_mounts(r.mounts, opts_.volumes, rd.merged));
  LinkFacts links = BERTH_TRY(resolve_links(r));
  in.link_env = std::move(links.env);
  in.netns_path = BERTH_TRY(setup_network(r, links.hosts));
  in.user = BERTH_TRY(resolve_user_in_rootfs(rd.merged, r.config.value("User", std::string()),
                                             json_strings(r.host_config.value("GroupAdd", Json()))));
  // Docker creates the working directory when it does not exist.
  std::string wd = r.config.value("WorkingDir", std::string());
  if (!wd.empty() && wd != "/") {
    // Inside the rootfs, without following links out of it: mkdir relative
    // to the merged directory one component at a time.
    std::string path = rd.merged;
    for (const auto& part : str::split(wd, '/')) {
      if (part.empty() || part == "." || part == "..") continue;
      path += "/" + part;
      struct stat st {};
      if (::lstat(path.c_str(), &st) == 0) {
        if (S_ISLNK(st.st_mode)) break;  // leave links to the runtime (it resolves in-root)
        continue;
      }
      if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return sys_error("mkdir " + path);
      (void)!::chown(path.c_str(), in.user.uid, in.user.gid);
    }
  }
  BERTH_TRY_VOID(fill_host_facts(in));
  Json spec = BERTH_TRY(build_spec(in));
  BERTH_TRY_VOID(fs::write_file_atomic(dir + "/config.json", spec.dump(), fs::Durability::none));
  return ok();
}

Status ContainerService::start(std::string_view ref) {
  EntryPtr e = BERTH_TRY(find(ref));
  return start_entry(e, ref, /*manual=*/true);
}

Status ContainerService::start_entry(const EntryPtr& e, std::string_view ref, bool manual) {
  std::unique_lock op(e->op_mu);
  std::string id;
  bool tty, open_stdin, stdin_once;
  std::string log_driver;
  {
    std::lock_guard g(mu_);
    if (e->removed) return not_found(ref);
    if (!manual) {
      // A scheduled restart: a stop, kill or removal since cancels it.
      if (e->restart_canceled || e->rec.state.status != StateStatus::restarting) return ok();
    } else if (is_running(e->rec.state.status)) {
      if (e->rec.state.status == StateStatus::paused)
        return make_error(Errc::conflict, "cannot start a paused container, try unpause instead");
      return make_error(Errc::not_modified, "container already started");
    }
    if (e->rec.state.status == StateStatus::removing || e->rec.state.status == StateStatus::dead)
      return make_error(Errc::conflict, "container is marked for removal and cannot be started");
    if (manual) {
      // dockerd's ResetRestartManager(true): a user's start begins afresh.
      e->restart_canceled = false;
      e->rec.state.manually_stopped = false;
      e->rec.restart_count = 0;
      e->restart_mgr.reset();
    }
    id = e->rec.id;
    e->runtime_path = runtime_for(e->rec);
    tty = e->rec.config.value("Tty", false);
    open_stdin = e->rec.config.value("OpenStdin", false);
    stdin_once = e->rec.config.value("StdinOnce", false);
    log_driver = e->rec.host_config.value("LogConfig", Json::object()).value("Type", "json-file");
  }
  RootfsDirs rd = rootfs_dirs(opts_.paths.data_root, id);
  // A failed start leaves the container "created" with State.Error set
  // (AutoRemove containers are removed, as dockerd does).
  auto fail = [&](Error err, bool user_error_check) -> Status {
    (void)unmount_rootfs(rd);
    unmount_ipc_shm(ipc_shm_path(opts_.paths.container_dir(id)));
    if (opts_.networks) opts_.networks->destroy_sandbox(id);
    bool auto_remove;
    {
      std::lock_guard g(mu_);
      if (e->rec.state.status == StateStatus::restarting) e->rec.state.status = StateStatus::exited;
      e->rec.state.error = err.msg;
      if (user_error_check) e->rec.state.exit_code = exit_code_for_start_error(err.msg);
      (void)persist_state(*e);
      auto_remove = e->rec.host_config.value("AutoRemove", false);
    }
    if (auto_remove) remove_locked(e, true);
    return err;
  };
  const int64_t t0 = timeutil::now_unix_nano();
  if (auto st = prepare_bundle(*e); !st) return fail(std::move(st).error(), false);
  const int64_t t1 = timeutil::now_unix_nano();

  std::string sock = opts_.paths.shim_socket(id);
  std::string state_dir = opts_.paths.shim_state_dir(id);
  // A previous shim of this container may still be deleting its runtime
  // state (it answers `wait` first); the runtime ID must be free again.
  wait_for_exit(e->shim_pidfd, 10000);
  e->shim_pidfd.reset();
  (void)fs::remove_all(state_dir);
  ::unlink(sock.c_str());
  if (auto st = fs::mkdir_p(state_dir, 0700); !st) return fail(std::move(st).error(), false);
  ShimSpawnOptions so;
  so.shim_binary = opts_.shim_binary;
  so.id = id;
  so.bundle = opts_.paths.container_dir(id);
  so.runtime = e->runtime_path;
  so.runtime_root = opts_.paths.runtime_root();
  so.socket = sock;
  so.state_dir = state_dir;
  so.log_driver = log_driver;
  so.log_path = opts_.paths.log_path(id);
  if (log_driver == "journald" && !fs::exists("/run/systemd/journal/socket"))
    return fail(make_error(Errc::internal,
                           "failed to initialize logging driver: journald is not enabled on this host"),
                false);
  {
    logging::DriverConfig dc;
    {
      std::lock_guard g(mu_);
      dc = log_driver_config(e->rec, opts_.paths.log_path(id));
      if (dc.type == "local") dc.path = opts_.paths.local_log_path(id);
    }
    // Names in syslog/gelf addresses are resolved here, not in the shim:
    // getaddrinfo (NSS, static dlopen) would be resident text in every shim.
    if (auto st = logging::resolve_driver_addrs(dc); !st)
      return fail(make_error(Errc::internal, "failed to initialize logging driver: " + st.error().msg), false);
    so.log_config = opts_.paths.container_dir(id) + "/log-config.json";
    if (auto st = fs::write_file_atomic(so.log_config, logging::driver_config_to_json(dc).dump(),
                                        fs::Durability::none);
        !st)
      return fail(std::move(st).error(), false);
  }
  so.tty = tty;
  so.stdin_open = open_stdin;
  so.stdin_once = stdin_once;
  // Nothing of berthd's runs between the runtime's create and start (the
  // sandbox, mounts and files are ready before the shim): the shim runs the
  // container at once, saving the runtime `start` exec, and releases its
  // output and exit only at our `start`, after the attaches below.
  so.run_now = true;
  auto sealed_rt = sealed_runtimes_.get(so.runtime);
  if (sealed_rt) so.runtime_fd = sealed_rt->get();
  auto spawned = spawn_shim(so, *shim_reaper_);
  if (!spawned) {
    Error err = std::move(spawned).error();
    Errc kind = exit_code_for_start_error(err.msg) == 128 ? Errc::internal : Errc::invalid;
    BERTH_LOG(log_, warn, "container create failed in runtime", {"id", id}, {"error", err.msg});
    (void)fs::remove_all(state_dir);
    return fail(make_error(kind, "failed to create task for container: OCI runtime create failed: " +
                                     err.msg + ": unknown"),
                true);
  }
  e->shim_pidfd = std::move(*spawned);
  const int64_t t2 = timeutil::now_unix_nano();
  // The shim exists: hand it every attach that was waiting for the start,
  // so no output is lost, then open the exit watch, then start.
  std::vector<std::shared_ptr<PendingAttach>> pending;
  {
    std::lock_guard g(mu_);
    e->shim_up = true;
    pending.swap(e->attaches);
  }
  for (auto& a : pending) {
    auto c = ShimConn::connect(sock);
    if (c) {
      Json req{{"op", "attach"}, {"stdin", a->opts.stdin_}, {"stdout", a->opts.stdout_},
               {"stderr", a->opts.stderr_}};
      if (auto st = c->send(req); st) {
        auto ans = c->read_answer();
        if (ans && ans->value("ok", false)) {
          a->leftover = c->leftover();
          a->conn = c->release();
        } else {
          a->error = ans ? ans->value("error", std::string("attach refused")) : ans.error().msg;
        }
      } else {
        a->error = st.error().msg;
      }
    } else {
      a->error = c.error().msg;
    }
    a->ready.fire();
  }
  auto abort_shim = [&](Error err) -> Status {
    (void)shim_call(sock, Json{{"op", "kill"}, {"signal", SIGKILL}, {"all", true}});
    (void)shim_call(sock, Json{{"op", "shutdown"}});
    {
      std::lock_guard g(mu_);
      e->shim_up = false;
    }
    return fail(std::move(err), false);
  };
  auto wc = ShimConn::connect(sock);
  if (!wc) return abort_shim(std::move(wc).error());
  if (auto st = wc->send(Json{{"op", "wait"}}); !st) return abort_shim(std::move(st).error());
  auto started = shim_call(sock, Json{{"op", "start"}});
  if (!started) {
    Error err = std::move(started).error();
    return abort_shim(make_error(Errc::internal, "failed to start container: " + err.msg));
  }
  {
    std::lock_guard g(mu_);
    State& s = e->rec.state;
    s.status = StateStatus::running;
    s.pid = started->value("pid", 0);
    s.started_ns = timeutil::now_unix_nano();
    s.finished_ns = 0;
    s.exit_code = 0;
    s.error.clear();
    s.oom_killed = false;
    s.health = health_config_of(e->rec.config) ? new_health_state() : Json();
    if (auto st = persist_state(*e); !st)
      BERTH_LOG(log_, error, "persisting container state failed", {"id", id}, {"error", st.error().msg});
  }
  watch(id, wc->release());
  start_health(e);
  {
    Record rec;
    {
      std::lock_guard g(mu_);
      rec = e->rec;
    }
    publish_resource_events(rec, true);
  }
  emit(id, "start");
  const int64_t t3 = timeutil::now_unix_nano();
  BERTH_LOG(log_, debug, "container started", {"id", id},
            {"bundle_us", std::to_string((t1 - t0) / 1000)}, {"shim_create_us", std::to_string((t2 - t1) / 1000)},
            {"attach_start_us", std::to_string((t3 - t2) / 1000)});
  return ok();
}

void ContainerService::watch(const std::string& id, UniqueFd conn) {
  int fd = conn.get();
  std::lock_guard g(watch_mu_);
  watched_[fd] = {id, std::move(conn)};
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    BERTH_LOG(log_, error, "epoll_ctl add failed", {"id", id}, {"errno", std::to_string(errno)});
}

void ContainerService::monitor_loop() {
  epoll_event evs[32];
  while (!stopping_) {
    int n = ::epoll_wait(epoll_.get(), evs, 32, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      BERTH_LOG(log_, error, "epoll_wait failed", {"errno", std::to_string(errno)});
      return;
    }
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == monitor_wake_.get()) {
        uint64_t v;
        (void)!::read(fd, &v, sizeof v);
        continue;
      }
      if (fd == shim_reaper_->fd()) {
        shim_reaper_->reap();
        continue;
      }
      std::string id;
      UniqueFd conn;
      {
        std::lock_guard g(watch_mu_);
        auto it = watched_.find(fd);
        if (it == watched_.end()) continue;
        id = it->second.first;
        conn = std::move(it->second.second);
        watched_.erase(it);
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
      }
      // The shim writes its answer as one line; read it to the newline.
      std::string line;
      char buf[1024];
      bool eof = false;
      while (line.find('\n') == std::string::npos) {
        ssize_t r = ::read(conn.get(), buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
          eof = true;
          break;
        }
        line.append(buf, static_cast<size_t>(r));
      }
      Result<Json> ans = make_error(Errc::unavailable, "shim connection closed");
      if (!line.empty() && !(eof && line.find('\n') == std::string::npos))
        ans = parse_json(line.substr(0, line.find('\n')));
      if (str::starts_with(id, "exec:"))
        on_exec_exit(id.substr(5), std::move(ans));
      else
        on_exit(id, std::move(ans));
    }
  }
}

void ContainerService::on_exit(const std::string& id, Result<Json> answer) {
  EntryPtr e;
  {
    std::lock_guard g(mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return;
    e = it->second;
  }
  std::unique_lock op(e->op_mu);
  State st;
  st.status = StateStatus::exited;
  if (answer && answer->is_object() && answer->value("ok", false)) {
    st.exit_code = answer->value("exit_code", 0);
    st.oom_killed = answer->value("oom_killed", false);
    auto t = timeutil::parse_rfc3339(answer->value("exited_at", std::string()));
    st.finished_ns = t ? *t : timeutil::now_unix_nano();
  } else {
    // The shim is gone: its exit.json is the record of the exit.
    auto text = fs::read_file(opts_.paths.shim_state_dir(id) + "/exit.json");
    Json j = text ? parse_json(*text).value_or(Json()) : Json();
    if (j.is_object() && j.contains("exit_code")) {
      st.exit_code = j.value("exit_code", 137);
      st.oom_killed = j.value("oom_killed", false);
      auto t = timeutil::parse_rfc3339(j.value("exited_at", std::string()));
      st.finished_ns = t ? *t : timeutil::now_unix_nano();
    } else {
      st.exit_code = 137;
      st.error = "unknown";
      st.finished_ns = timeutil::now_unix_nano();
    }
  }
  bool auto_remove;
  std::vector<std::shared_ptr<Waiter>> wake;
  std::optional<int64_t> restart_delay;
  std::unique_ptr<HealthMonitor> health;
  std::map<std::string, std::string> attrs;
  Record exited_rec;
  {
    std::lock_guard g(mu_);
    if (e->removed) return;
    st.started_ns = e->rec.state.started_ns;
    st.manually_stopped = e->rec.state.manually_stopped;
    st.health = e->rec.state.health;
    health = std::move(e->health);
    if (!shutting_down_ && !e->restart_canceled)
      restart_delay = e->restart_mgr.should_restart(restart_policy_of(e->rec.host_config), st.exit_code,
                                                    st.manually_stopped, st.finished_ns - st.started_ns,
                                                    e->rec.restart_count);
    if (restart_delay) {
      st.status = StateStatus::restarting;
      ++e->rec.restart_count;
    }
    e->rec.state = st;
    e->shim_up = false;
    auto_remove = e->rec.host_config.value("AutoRemove", false) && !restart_delay;
    // An --rm container's row is deleted below: its exit is not written
    // first (one fdatasync fewer per run --rm). If the daemon dies in
    // between, the row still says running, and reconcile records the exit
    // and removes it (on_exit again, with the shim gone).
    if (!auto_remove)
      if (auto s = persist_state(*e); !s)
        BERTH_LOG(log_, error, "persisting container exit failed", {"id", id}, {"error", s.error().msg});
    attrs = event_attrs(e->rec);
    exited_rec = e->rec;
    // removed-waiters stay until the container is removed; not-running
    // waiters stay while a restart is pending (the container still counts
    // as running, as dockerd's Restarting state does).
    auto& ws = e->waiters;
    for (auto it = ws.begin(); it != ws.end();) {
      if ((*it)->condition == WaitCondition::removed ||
          (restart_delay && (*it)->condition == WaitCondition::not_running)) {
        ++it;
        continue;
      }
      (*it)->result = {st.exit_code, st.error};
      wake.push_back(*it);
      it = ws.erase(it);
    }
  }
  health.reset();  // stops and joins the probe thread (it takes only mu_)
  (void)unmount_rootfs(rootfs_dirs(opts_.paths.data_root, id));
  unmount_ipc_shm(ipc_shm_path(opts_.paths.container_dir(id)));
  if (opts_.networks) opts_.networks->destroy_sandbox(id);
  // The shim may still be running the runtime's delete in there: moved
  // away now, its files deleted after the waiters are answered.
  std::vector<std::string> later;
  discard(opts_.paths.shim_state_dir(id), opts_.paths.exec_root, later);
  ::unlink(opts_.paths.shim_socket(id).c_str());
  BERTH_LOG(log_, debug, "container exited", {"id", id}, {"exit_code", std::to_string(st.exit_code)});
  if (st.oom_killed) publish(id, "oom", attrs);
  attrs["exitCode"] = std::to_string(st.exit_code);
  publish(id, "die", std::move(attrs));
  publish_resource_events(exited_rec, false);
  for (auto& w : wake) w->notice.fire();
  if (restart_delay) {
    BERTH_LOG(log_, info, "restarting container (restart policy)", {"id", id},
              {"delay_ms", std::to_string(*restart_delay / 1000000)});
    schedule_restart(e, *restart_delay);
  }
  // The row's last durable state is running (the exit above was not
  // written): if this delete is lost to a power cut, the next start finds
  // no shim, records the exit and removes the container again. So the
  // delete needs no fdatasync of its own.
  if (auto_remove) remove_locked(e, true, /*durable_row=*/false, &later);
  purge(later);
}

void ContainerService::schedule_restart(const EntryPtr& e, int64_t delay_ns) {
  auto n = std::make_shared<Notice>();
  {
    std::lock_guard g(mu_);
    e->restart_pending = n;
  }
  // Detached: it holds the entry, and the service lives until the daemon
  // leaves through _exit.
  std::thread([this, e, n, delay_ns] {
    if (n->wait_for(static_cast<int>(delay_ns / 1000000))) return;
    const std::string id = e->rec.id;
    if (auto st = start_entry(e, id, /*manual=*/false); !st)
      BERTH_LOG(log_, warn, "restart policy: start failed", {"id", id}, {"error", st.error().msg});
  }).detach();
}

void ContainerService::start_health(const EntryPtr& e) {
  std::optional<HealthConfig> hc;
  std::string id;
  {
    std::lock_guard g(mu_);
    hc = health_config_of(e->rec.config);
    id = e->rec.id;
  }
  if (!hc) return;
  const int64_t started = [&] {
    std::lock_guard g(mu_);
    return e->rec.state.started_ns;
  }();
  std::weak_ptr<Entry> weak = e;
  HealthConfig cfg = *hc;
  // dockerd runs each probe as an exec: exec_create, exec_start, exec_die
  // (the probe thread calls probing and report in turn, never at once).
  auto exec_id = std::make_shared<std::string>();
  std::string probe_line;
  for (const auto& a : cfg.argv) probe_line += (probe_line.empty() ? "" : " ") + a;
  auto probing = [this, weak, exec_id, probe_line] {
    auto e = weak.lock();
    if (!e) return;
    *exec_id = random_hex_id();
    std::map<std::string, std::string> attrs;
    {
      std::lock_guard g(mu_);
      attrs = event_attrs(e->rec);
    }
    attrs["execID"] = *exec_id;
    publish(e->rec.id, "exec_create: " + probe_line, attrs);
    publish(e->rec.id, "exec_start: " + probe_line, std::move(attrs));
  };
  auto report = [this, weak, cfg, started, exec_id](const HealthResult& r) {
    auto e = weak.lock();
    if (!e) return;
    if (!exec_id->empty()) {
      std::map<std::string, std::string> attrs;
      {
        std::lock_guard g(mu_);
        attrs = event_attrs(e->rec);
      }
      attrs["execID"] = *exec_id;
      attrs["exitCode"] = std::to_string(r.exit_code);
      publish(e->rec.id, "exec_die", std::move(attrs));
    }
    std::string status;
    std::map<std::string, std::string> attrs;
    bool changed;
    {
      std::lock_guard g(mu_);
      if (e->removed || e->rec.state.status != StateStatus::running || e->rec.state.started_ns != started)
        return;
      changed = apply_health_result(e->rec.state.health, r, cfg, started);
      status = e->rec.state.health.value("Status", std::string());
      (void)persist_state(*e);
      attrs = event_attrs(e->rec);
    }
    if (changed) publish(e->rec.id, "health_status: " + status, std::move(attrs));
  };
  std::string runtime;
  {
    std::lock_guard g(mu_);
    runtime = e->runtime_path.empty() ? opts_.runtime_path : e->runtime_path;
  }
  auto mon = std::make_unique<HealthMonitor>(cfg, runtime, opts_.paths.runtime_root(), id, std::move(report),
                                             std::move(probing));
  std::unique_ptr<HealthMonitor> old;
  {
    std::lock_guard g(mu_);
    old = std::move(e->health);
    e->health = std::move(mon);
  }
}

void ContainerService::discard(const std::string& path, const std::string& root,
                               std::vector<std::string>& later) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;
  std::string trash = root + "/trash";
  if (::mkdir(trash.c_str(), 0700) != 0 && errno != EEXIST) {
    (void)fs::remove_all(path);
    return;
  }
  std::string dst = trash + "/" + fs::basename(path) + "." + std::to_string(discard_seq_++);
  if (::rename(path.c_str(), dst.c_str()) == 0) {
    later.push_back(std::move(dst));
    return;
  }
  (void)fs::remove_all(path);
}

void ContainerService::purge(std::vector<std::string>& later) {
  for (const auto& p : later) (void)fs::remove_all(p);
  later.clear();
}

void ContainerService::remove_locked(const EntryPtr& e, bool volumes, bool durable_row,
                                     std::vector<std::string>* later) {
  std::vector<std::string> own;
  if (!later) later = &own;
  auto purge_own = ScopeExit([&] { purge(own); });
  const std::string id = e->rec.id;
  std::vector<std::shared_ptr<Waiter>> wake;
  std::vector<std::shared_ptr<PendingAttach>> attaches;
  {
    std::lock_guard g(mu_);
    if (e->removed) return;
    e->rec.state.status = StateStatus::removing;
  }
  RootfsDirs rd = rootfs_dirs(opts_.paths.data_root, id);
  bool unmounted = static_cast<bool>(unmount_rootfs(rd));
  unmount_ipc_shm(ipc_shm_path(opts_.paths.container_dir(id)));
  if (opts_.networks) opts_.networks->destroy_sandbox(id);
  if (auto s = records_.remove(id, durable_row); !s)
    BERTH_LOG(log_, error, "deleting container row failed", {"id", id}, {"error", s.error().msg});
  // Out of their places at once (a rename each); their contents are deleted
  // after the waiters are answered. A rootfs still mounted is deleted in
  // place (reconcile's orphan scan of overlay/ finds what is left).
  if (unmounted)
    discard(rd.base, opts_.paths.data_root, *later);
  else
    (void)fs::remove_all(rd.base);
  discard(opts_.paths.container_dir(id), opts_.paths.data_root, *later);
  discard(opts_.paths.shim_state_dir(id), opts_.paths.exec_root, *later);
  ::unlink(opts_.paths.shim_socket(id).c_str());
  {
    std::lock_guard g(mu_);
    e->removed = true;
    by_id_.erase(id);
    if (auto it = by_name_.find(e->rec.name); it != by_name_.end() && it->second == id)
      by_name_.erase(it);
    wake.swap(e->waiters);
    attaches.swap(e->attaches);
    for (auto& w : wake) w->result = {e->rec.state.exit_code, ""};  // removal succeeded
  }
  for (auto& w : wake) w->notice.fire();
  for (auto& a : attaches) {
    a->error = "container removed";
    a->ready.fire();
  }
  if (volumes && opts_.volumes)
    for (const auto& v : anonymous_volumes(e->rec.mounts)) {
      if (!volume_users(v).empty()) continue;
      if (auto st = opts_.volumes->remove(v); !st)
        BERTH_LOG(log_, warn, "removing anonymous volume failed", {"volume", v}, {"error", st.error().msg});
      else if (opts_.events)
        opts_.events("volume", "destroy", v, {{"driver", "local"}});
    }
  forget_execs(id);
  std::map<std::string, std::string> attrs;
  {
    std::lock_guard g(mu_);
    attrs = event_attrs(e->rec);
  }
  publish(id, "destroy", std::move(attrs));
  BERTH_LOG(log_, debug, "container removed", {"id", id});
}

Status ContainerService::kill(std::string_view ref, int signal) {
  EntryPtr e = BERTH_TRY(find(ref));
  std::string id;
  std::map<std::string, std::string> attrs;
  {
    std::lock_guard g(mu_);
    id = e->rec.id;
    // dockerd's killWithSignal: the user stopped it; SIGKILL or the stop
    // signal (any signal without a StopSignal) also cancels the restart policy.
    if (is_running(e->rec.state.status)) {
      std::string ss = e->rec.config.value("StopSignal", std::string());
      auto stop_sig = ss.empty() ? std::optional<int>() : std::optional<int>(parse_signal(ss).value_or(SIGTERM));
      if (!stop_sig || signal == SIGKILL || signal == *stop_sig) e->restart_canceled = true;
      e->rec.state.manually_stopped = true;
      if (e->rec.state.status == StateStatus::restarting) {
        // No process to signal: cancelling the pending restart is enough.
        e->restart_canceled = true;
        if (e->restart_pending) e->restart_pending->fire();
        e->rec.state.status = StateStatus::exited;
        (void)persist_state(*e);
        for (auto& w : e->waiters)
          if (w->condition == WaitCondition::not_running) {
            w->result = {e->rec.state.exit_code, e->rec.state.error};
            w->notice.fire();
          }
        return ok();
      }
      (void)persist_state(*e);
    }
    if (!is_running(e->rec.state.status) || !e->shim_up)
      return make_error(Errc::conflict, "Container " + id + " is not running");
    attrs = event_attrs(e->rec);
  }
  attrs["signal"] = std::to_string(signal);
  publish(id, "kill", std::move(attrs));
  auto r = shim_call(opts_.paths.shim_socket(id), Json{{"op", "kill"}, {"signal", signal}, {"all", false}});
  if (!r) {
    std::lock_guard g(mu_);
    if (!is_running(e->rec.state.status)) return make_error(Errc::conflict, "Container " + id + " is not running");
    return std::move(r).error();  // the route adds dockerd's "Cannot kill container: <ref>"
  }
  thaw_if_paused(e);
  return ok();
}

Status ContainerService::stop(std::string_view ref, std::optional<int> timeout_s) {
  return stop_entry(ref, timeout_s, /*by_user=*/true);
}

Status ContainerService::stop_entry(std::string_view ref, std::optional<int> timeout_s, bool by_user) {
  EntryPtr e = BERTH_TRY(find(ref));
  auto w = std::make_shared<Waiter>();
  w->condition = WaitCondition::not_running;
  int sig = SIGTERM;
  int timeout = 10;
  std::string id;
  std::map<std::string, std::string> attrs;
  {
    std::lock_guard g(mu_);
    id = e->rec.id;
    if (!is_running(e->rec.state.status)) return make_error(Errc::not_modified, "container already stopped");
    attrs = event_attrs(e->rec);
    if (by_user) {
      e->restart_canceled = true;
      e->rec.state.manually_stopped = true;
      (void)persist_state(*e);
    }
    if (e->rec.state.status == StateStatus::restarting) {
      // Between an exit and its scheduled restart: cancel the restart.
      e->restart_canceled = true;
      if (e->restart_pending) e->restart_pending->fire();
      e->rec.state.status = StateStatus::exited;
      (void)persist_state(*e);
      for (auto& x : e->waiters)
        if (x->condition == WaitCondition::not_running) {
          x->result = {e->rec.state.exit_code, e->rec.state.error};
          x->notice.fire();
        }
      publish(id, "stop", std::move(attrs));
      return ok();
    }
    e->waiters.push_back(w);
    std::string ss = e->rec.config.value("StopSignal", std::string());
    if (!ss.empty())
      if (auto s = parse_signal(ss)) sig = *s;
    if (auto it = e->rec.config.find("StopTimeout"); it != e->rec.config.end() && it->is_number())
      timeout = it->get<int>();
  }
  if (timeout_s) timeout = *timeout_s;
  auto with_signal = [&](int s) {
    auto a = attrs;
    a["signal"] = std::to_string(s);
    return a;
  };
  publish(id, "kill", with_signal(sig));
  auto r = shim_call(opts_.paths.shim_socket(id), Json{{"op", "kill"}, {"signal", sig}, {"all", false}});
  thaw_if_paused(e);
  if (!(r && w->notice.wait_for(timeout < 0 ? -1 : timeout * 1000)) && !w->notice.fired()) {
    BERTH_LOG(log_, info, "container did not stop in time, killing", {"id", id});
    publish(id, "kill", with_signal(SIGKILL));
    (void)shim_call(opts_.paths.shim_socket(id), Json{{"op", "kill"}, {"signal", SIGKILL}, {"all", true}});
    if (!w->notice.wait_for(30000))
      return make_error(Errc::internal, "container " + id + " did not exit after SIGKILL");
  }
  publish(id, "stop", std::move(attrs));
  return ok();
}

Status ContainerService::remove(std::string_view ref, bool force, bool volumes) {
  EntryPtr e = BERTH_TRY(find(ref));
  std::shared_ptr<Waiter> w;
  std::string id;
  std::map<std::string, std::string> kill_attrs;
  {
    std::lock_guard g(mu_);
    id = e->rec.id;
    if (force && e->rec.state.status == StateStatus::restarting) {
      e->restart_canceled = true;
      if (e->restart_pending) e->restart_pending->fire();
      e->rec.state.status = StateStatus::exited;
    }
    if (is_running(e->rec.state.status)) {
      if (!force)
        return make_error(Errc::conflict, "You cannot remove a running container " + id +
                                              ". Stop the container before attempting removal or "
                                              "force remove");
      w = std::make_shared<Waiter>();
      w->condition = WaitCondition::not_running;
      e->waiters.push_back(w);
      e->restart_canceled = true;
      kill_attrs = event_attrs(e->rec);
      kill_attrs["signal"] = std::to_string(SIGKILL);
    }
  }
  if (w) {
    publish(id, "kill", std::move(kill_attrs));
    (void)shim_call(opts_.paths.shim_socket(id), Json{{"op", "kill"}, {"signal", SIGKILL}, {"all", true}});
    thaw_if_paused(e);
    if (!w->notice.wait_for(30000))
      return make_error(Errc::internal, "Could not kill running container " + id +
                                            ", cannot remove");
  }
  std::unique_lock op(e->op_mu);
  {
    std::lock_guard g(mu_);
    if (e->removed) return ok();  // AutoRemove got there first
    if (is_running(e->rec.state.status))
      return make_error(Errc::conflict, "You cannot remove a running container " + id +
                                            ". Stop the container before attempting removal or "
                                            "force remove");
  }
  remove_locked(e, volumes);
  return ok();
}

std::vector<std::string> ContainerService::volume_users(const std::string& name) {
  std::vector<std::string> out;
  std::lock_guard g(mu_);
  for (const auto& [id, e] : by_id_)
    if (uses_volume(e->rec.mounts, name)) out.push_back(id);
  return out;
}

Status ContainerService::resize(std::string_view ref, int height, int width) {
  EntryPtr e = BERTH_TRY(find(ref));
  std::string id;
  {
    std::lock_guard g(mu_);
    id = e->rec.id;
    if (!is_running(e->rec.state.status))
      return make_error(Errc::conflict, "Container " + id + " is not running");
  }
  BERTH_TRY_VOID(shim_call(opts_.paths.shim_socket(id),
                           Json{{"op", "resize"}, {"height", height}, {"width", width}}));
  emit(id, "resize", {{"height", std::to_string(height)}, {"width", std::to_string(width)}});
  return ok();
}

Result<std::shared_ptr<Waiter>> ContainerService::wait(std::string_view ref, WaitCondition c) {
  EntryPtr e = BERTH_TRY(find(ref));
  auto w = std::make_shared<Waiter>();
  w->condition = c;
  std::lock_guard g(mu_);
  if (e->removed) return not_found(ref);
  if (c == WaitCondition::not_running && !is_running(e->rec.state.status)) {
    w->result = {e->rec.state.exit_code, e->rec.state.error};
    w->notice.fire();
    return w;
  }
  e->waiters.push_back(w);
  return w;
}

Result<std::shared_ptr<PendingAttach>> ContainerService::attach(std::string_view ref,
                                                                const AttachOptions& o) {
  EntryPtr e = BERTH_TRY(find(ref));
  auto a = std::make_shared<PendingAttach>();
  a->opts = o;
  std::string id;
  {
    std::lock_guard g(mu_);
    if (e->removed) return not_found(ref);
    if (e->rec.state.status == StateStatus::paused)
      return make_error(Errc::conflict, "You cannot attach to a paused container, unpause it first");
    id = e->rec.id;
    if (!e->shim_up) {
      e->attaches.push_back(a);
      std::map<std::string, std::string> attrs = event_attrs(e->rec);
      publish(id, "attach", std::move(attrs));
      return a;
    }
  }
  auto c = ShimConn::connect(opts_.paths.shim_socket(id));
  if (c) {
    Json req{{"op", "attach"}, {"stdin", o.stdin_}, {"stdout", o.stdout_}, {"stderr", o.stderr_}};
    if (auto st = c->send(req); st) {
      auto ans = c->read_answer();
      if (ans && ans->value("ok", false)) {
        a->leftover = c->leftover();
        a->conn = c->release();
      }
    }
  }
  // A container that exited meanwhile gives an empty stream.
  a->ready.fire();
  emit(id, "attach");
  return a;
}

void ContainerService::cancel_attach(const std::shared_ptr<PendingAttach>& a) {
  std::lock_guard g(mu_);
  for (auto& [id, e] : by_id_) {
    auto& v = e->attaches;
    v.erase(std::remove(v.begin(), v.end(), a), v.end());
  }
}

void ContainerService::cancel_wait(const std::shared_ptr<Waiter>& w) {
  std::lock_guard g(mu_);
  for (auto& [id, e] : by_id_) {
    auto& v = e->waiters;
    v.erase(std::remove(v.begin(), v.end(), w), v.end());
  }
}

Result<Json> ContainerService::inspect(std::string_view ref) {
  EntryPtr e = BERTH_TRY(find(ref));
  Json j;
  {
    std::lock_guard g(mu_);
    j = inspect_json(e->rec, opts_.paths);
  }
  if (opts_.networks) {
    Json ns = j["NetworkSettings"];
    Json ports = Json::object();
    if (auto it = j["Config"].find("ExposedPorts"); it != j["Config"].end() && it->is_object())
      for (const auto& [k, v] : it->items()) ports[k] = nullptr;
    ns["Ports"] = ports;
    j["NetworkSettings"] = opts_.networks->settings(e->rec.id, ns);
  }
  return j;
}

Status ContainerService::remove_link(std::string_view link_name) {
  std::string name(link_name);
  if (name.empty() || name[0] != '/') name = "/" + name;
  auto slash = name.rfind('/');
  if (slash == 0) return make_error(Errc::conflict, "Conflict, cannot remove the default link name of the container");
  std::string parent = name.substr(0, slash), alias = name.substr(slash + 1);
  auto pe = find(parent.substr(1));
  if (!pe) return make_error(Errc::internal, "Cannot get parent " + parent + " for link name " + name);
  EntryPtr e = *pe;
  std::lock_guard g(mu_);
  Json& links = e->rec.host_config["Links"];
  Json kept = Json::array();
  bool found = false;
  if (links.is_array())
    for (const auto& l : links) {
      auto c = l.is_string() ? l.get<std::string>().find(':') : std::string::npos;
      if (c != std::string::npos && l.get<std::string>().substr(c + 1) == name) {
        found = true;
        continue;
      }
      kept.push_back(l);
    }
  if (!found) return make_error(Errc::not_found, "No such container: " + name);
  links = kept.empty() ? Json(nullptr) : kept;
  return records_.update_record(e->rec);
}

Result<ContainerService::LinkFacts> ContainerService::resolve_links(const Record& r) {
  LinkFacts f;
  auto it = r.host_config.find("Links");
  if (it == r.host_config.end() || !it->is_array() || it->empty() || !opts_.networks) return f;
  NetMode m = parse_network_mode(r.host_config.value("NetworkMode", std::string()));
  if (m.kind != NetKind::bridge && m.kind != NetKind::custom) return f;
  // On the default bridge a link gives /etc/hosts and the environment; on a
  // user-defined network only the name (dockerd serves it from its DNS; berth
  // writes the same name into /etc/hosts).
  std::string net = m.kind == NetKind::bridge ? std::string("bridge") : m.target;
  for (const auto& s : *it) {
    if (!s.is_string()) continue;
    const std::string stored = s.get<std::string>();
    LinkRef l = BERTH_TRY(split_canonical_link(stored));
    auto child = find(l.child);
    std::string child_id, child_name, child_host;
    Json child_config;
    bool running = false;
    if (child) {
      std::lock_guard g(mu_);
      const Record& c = (*child)->rec;
      running = is_running(c.state.status);
      child_id = c.id;
      child_name = c.name;
      child_host = container_hostname(c.id, c.config);
      child_config = c.config;
    }
    auto slash = stored.find(':');
    if (!running)
      return make_error(Errc::conflict, "Cannot link to a non running container: " + stored.substr(0, slash) +
                                            " AS " + stored.substr(slash + 1));
    Json ns = opts_.networks->settings(child_id, Json::object());
    std::string ip;
    if (ns.contains("Networks") && ns["Networks"].contains(net))
      ip = ns["Networks"][net].value("IPAddress", std::string());
    if (ip.empty()) continue;  // not on this network: dockerd links nothing either
    f.hosts += link_hosts_line(ip, l.alias, child_host, child_name);
    if (m.kind == NetKind::bridge)
      for (auto& v : link_env(r.name, l.alias, ip, child_config.value("ExposedPorts", Json::object()),
                              child_config.value("Env", Json::array())))
        f.env.push_back(std::move(v));
  }
  return f;
}

Result<std::string> ContainerService::setup_network(const Record& r, const std::string& link_hosts) {
  NetMode m = parse_network_mode(r.host_config.value("NetworkMode", std::string()));
  if (m.kind == NetKind::container) {
    auto other = find(m.target);
    if (!other) return make_error(Errc::conflict, "cannot join network of a non running container: " + m.target);
    std::lock_guard g(mu_);
    if (!is_running((*other)->rec.state.status) || (*other)->rec.state.pid <= 0)
      return make_error(Errc::conflict, "cannot join network of a non running container: " + m.target);
    return "/proc/" + std::to_string((*other)->rec.state.pid) + "/ns/net";
  }
  Json hc = r.host_config;
  if (m.kind == NetKind::none && r.networking_config.value("NoneDetached", false)) {
    // Disconnected from "none", then connected to networks while stopped:
    // it starts on those, as dockerd (no ports: none drops them).
    Json eps = r.networking_config.value("EndpointsConfig", Json::object());
    if (eps.is_object() && !eps.empty()) {
      hc["NetworkMode"] = eps.begin().key();
      hc.erase("PortBindings");
      hc.erase("PublishAllPorts");
      m = parse_network_mode(eps.begin().key());
    }
  }
  if (!opts_.networks || (m.kind != NetKind::bridge && m.kind != NetKind::custom)) return std::string();
  auto req = BERTH_TRY(sandbox_request(r.id, r.name, r.config, hc, r.networking_config));
  std::string path = BERTH_TRY(opts_.networks->create_sandbox(req));
  std::string hostname = container_hostname(r.id, r.config);
  if (auto st = write_network_files(r, link_hosts + opts_.networks->hosts_entries(r.id, hostname),
                                    opts_.networks->uses_embedded_dns(r.id));
      !st) {
    opts_.networks->destroy_sandbox(r.id);
    return std::move(st).error();
  }
  return path;
}

void ContainerService::rewrite_network_files(const Record& r) {
  // The running container sees the new files at once (same inodes): its
  // addresses on the networks it is on now, and the embedded DNS once it is
  // on a user-defined network, as dockerd rewrites them on connect/disconnect.
  std::string link_hosts;
  if (auto f = resolve_links(r)) link_hosts = f->hosts;
  std::string hostname = container_hostname(r.id, r.config);
  if (auto st = write_network_files(r, link_hosts + opts_.networks->hosts_entries(r.id, hostname),
                                    opts_.networks->uses_embedded_dns(r.id));
      !st)
    BERTH_LOG(log_, warn, "rewriting network files failed", {"id", r.id}, {"error", st.error().msg});
}

Status ContainerService::connect_network(std::string_view ref, const std::string& network,
                                         const Json& endpoint_config) {
  if (!opts_.networks) return make_error(Errc::invalid, "networking is disabled");
  EntryPtr e = BERTH_TRY(find(ref));
  auto n = BERTH_TRY(opts_.networks->find(network));
  std::unique_lock op(e->op_mu);
  Record r;
  {
    std::lock_guard g(mu_);
    r = e->rec;
  }
  NetMode m = parse_network_mode(r.host_config.value("NetworkMode", std::string()));
  Json eps = r.networking_config.value("EndpointsConfig", Json::object());
  if (!eps.is_object()) eps = Json::object();
  if (m.kind == NetKind::host && n.name == "host")
    return make_error(Errc::invalid, "container cannot be disconnected from host network or connected to host network");
  bool none_detached = m.kind == NetKind::none && r.networking_config.value("NoneDetached", false);
  if (m.kind == NetKind::none && n.name == "none") {
    // Back on "none" after a disconnect from it, as dockerd allows.
    if (!none_detached)
      return make_error(Errc::forbidden, "endpoint with name " + r.name.substr(1) + " already exists in network none");
    if (!eps.empty() || opts_.networks->has_sandbox(r.id))
      return make_error(Errc::invalid,
                        "container cannot be connected to multiple networks with one of the networks in private (none) mode");
    std::lock_guard g(mu_);
    e->rec.networking_config.erase("NoneDetached");
    return records_.update_record(e->rec);
  }
  if (m.kind == NetKind::none && !none_detached)
    return make_error(Errc::invalid,
                      "container cannot be connected to multiple networks with one of the networks in private (none) mode");
  if (m.kind == NetKind::host || m.kind == NetKind::container)
    return make_error(Errc::forbidden, "container sharing network namespace with another container or host cannot be connected to any other network");
  if (eps.contains(n.name) || (m.target == n.name))
    if (opts_.networks->has_sandbox(r.id) || eps.contains(n.name))
      return make_error(Errc::forbidden, "endpoint with name " + r.name.substr(1) + " already exists in network " + n.name);
  Json cfg = endpoint_config.is_object() ? endpoint_config : Json::object();
  Json probe_nc{{"EndpointsConfig", {{n.name, cfg}}}};
  BERTH_TRY_VOID(check_networking(Json{{"NetworkMode", "none"}}, probe_nc, opts_.networks));
  if (none_detached && !opts_.networks->has_sandbox(r.id) && is_running(r.state.status) && r.state.pid > 0)
    // The container runs in a namespace of its own (it started on "none"):
    // the network service takes it over to wire the endpoint into it.
    BERTH_TRY_VOID(opts_.networks->adopt_sandbox(r.id, r.name.substr(1), "/proc/" + std::to_string(r.state.pid) + "/ns/net"));
  if (opts_.networks->has_sandbox(r.id)) {
    auto req = BERTH_TRY(sandbox_request(r.id, r.name, r.config, Json{{"NetworkMode", n.name}}, probe_nc));
    BERTH_TRY_VOID(opts_.networks->connect(r.id, req.endpoints.front()));
    rewrite_network_files(r);
  }
  eps[n.name] = cfg;
  std::lock_guard g(mu_);
  e->rec.networking_config["EndpointsConfig"] = eps;
  return records_.update_record(e->rec);
}

Status ContainerService::disconnect_network(std::string_view ref, const std::string& network, bool force) {
  if (!opts_.networks) return make_error(Errc::invalid, "networking is disabled");
  EntryPtr e = BERTH_TRY(find(ref));
  auto n = BERTH_TRY(opts_.networks->find(network));
  std::unique_lock op(e->op_mu);
  Record r;
  {
    std::lock_guard g(mu_);
    r = e->rec;
  }
  NetMode m = parse_network_mode(r.host_config.value("NetworkMode", std::string()));
  Json eps = r.networking_config.value("EndpointsConfig", Json::object());
  if (!eps.is_object()) eps = Json::object();
  if (m.kind == NetKind::host && n.name == "host")
    return make_error(Errc::invalid, "container cannot be disconnected from host network or connected to host network");
  if (m.kind == NetKind::none && n.name == "none") {
    // dockerd lets a container leave "none" (it keeps its loopback-only
    // namespace) so that other networks can be connected afterwards; the
    // mode stays "none".
    if (r.networking_config.value("NoneDetached", false))
      return make_error(Errc::internal, "container " + r.id + " is not connected to network none");
    std::lock_guard g(mu_);
    e->rec.networking_config["NoneDetached"] = true;
    return records_.update_record(e->rec);
  }
  bool listed = eps.contains(n.name) || m.target == n.name;
  if (opts_.networks->has_sandbox(r.id)) {
    auto st = opts_.networks->disconnect(r.id, n.name);
    if (!st && !force) return st;
    rewrite_network_files(r);
  } else if (!listed && !force) {
    return make_error(Errc::forbidden, "container " + r.id + " is not connected to network " + n.name);
  }
  eps.erase(n.name);
  std::lock_guard g(mu_);
  e->rec.networking_config["EndpointsConfig"] = eps;
  if (m.target == n.name) e->rec.host_config["NetworkMode"] = eps.empty() ? "none" : eps.begin().key();
  return records_.update_record(e->rec);
}

std::set<std::string> ContainerService::running_ids() {
  std::set<std::string> out;
  std::lock_guard g(mu_);
  for (const auto& [id, e] : by_id_)
    if (is_running(e->rec.state.status)) out.insert(id);
  return out;
}

Result<std::vector<ListEntry>> ContainerService::list_entries(const ListOptions& o) {
  BERTH_TRY_VOID(validate_list_filters(o.filters));
  // before/since: by creation order relative to a named container (get()
  // takes mu_, so before the listing takes it).
  int64_t before = 0, since = 0;
  bool has_status_filter = false;
  for (const auto& [k, vals] : o.filters) {
    if (k == "status" && !vals.empty()) has_status_filter = true;
    if ((k == "before" || k == "since") && !vals.empty()) {
      auto ref = get(vals.front());
      if (!ref) return std::move(ref).error();
      (k == "before" ? before : since) = ref->created_ns;
    }
  }
  int64_t now = timeutil::now_unix_nano();
  std::vector<ListEntry> out;
  bool all = o.all || has_status_filter || before || since;
  {
    // The records are read in place under the lock: copying every Record
    // (config and host config JSON trees) dominated `ps` with 1,000
    // containers. matches_filters and list_entry are pure functions.
    std::lock_guard g(mu_);
    std::vector<const Record*> recs;
    recs.reserve(by_id_.size());
    for (const auto& [id, e] : by_id_) recs.push_back(&e->rec);
    std::sort(recs.begin(), recs.end(), [](const Record* a, const Record* b) { return a->created_ns > b->created_ns; });
    // A linked container is also listed under "/parent/alias" (dockerd's Names).
    std::map<std::string, std::vector<std::string>> link_names;
    for (const Record* r : recs)
      if (auto it = r->host_config.find("Links"); it != r->host_config.end() && it->is_array())
        for (const auto& s : *it)
          if (s.is_string()) {
            const std::string& v = s.get_ref<const std::string&>();
            auto c = v.find(':');
            if (c != std::string::npos) link_names[v.substr(0, c)].push_back(v.substr(c + 1));
          }
    for (const Record* rp : recs) {
      const Record& r = *rp;
      if (!all && !is_running(r.state.status)) continue;
      if (before && r.created_ns >= before) continue;
      if (since && r.created_ns <= since) continue;
      if (!BERTH_TRY(matches_filters(r, o.filters))) continue;
      auto ln = link_names.find(r.name);
      out.push_back(list_entry(r, now, ln != link_names.end() ? &ln->second : nullptr));
      if (o.limit > 0 && static_cast<int>(out.size()) >= o.limit) break;
    }
  }
  // Ports and per-network addresses of the live sandbox, as ps shows them.
  for (auto& e : out)
    if (e.running && opts_.networks) set_live_network(e, opts_.networks->settings(e.id, Json::object()));
  return out;
}

Result<std::vector<Json>> ContainerService::list(const ListOptions& o) {
  auto entries = BERTH_TRY(list_entries(o));
  std::vector<Json> out;
  out.reserve(entries.size());
  std::string text;
  for (const auto& e : entries) {
    text.clear();
    e.append_to(text);
    out.push_back(BERTH_TRY(parse_json(text)));
  }
  return out;
}

Result<LogSource> ContainerService::log_source(std::string_view ref) {
  EntryPtr e = BERTH_TRY(find(ref));
  LogSource ls;
  auto w = std::make_shared<Waiter>();
  w->condition = WaitCondition::not_running;
  std::lock_guard g(mu_);
  std::string type = e->rec.host_config.value("LogConfig", Json::object()).value("Type", "json-file");
  if (!logging::driver_readable(type))
    return make_error(Errc::invalid,
                      "configured logging driver does not support reading");
  ls.local = type == "local";
  ls.path = ls.local ? opts_.paths.local_log_path(e->rec.id) : opts_.paths.log_path(e->rec.id);
  ls.tty = e->rec.config.value("Tty", false);
  if (!is_running(e->rec.state.status)) {
    w->notice.fire();
  } else {
    e->waiters.push_back(w);
  }
  ls.exit = w;
  return ls;
}

Counts ContainerService::counts() {
  Counts c;
  std::lock_guard g(mu_);
  for (const auto& [id, e] : by_id_) {
    ++c.total;
    switch (e->rec.state.status) {
      case StateStatus::running:
      case StateStatus::restarting: ++c.running; break;
      case StateStatus::paused: ++c.paused; break;
      default: ++c.stopped; break;
    }
  }
  return c;
}

void ContainerService::stop_all(int timeout_s) {
  std::vector<std::string> ids;
  {
    std::lock_guard g(mu_);
    for (const auto& [id, e] : by_id_)
      if (is_running(e->rec.state.status)) ids.push_back(id);
  }
  shutting_down_ = true;  // exits from here on do not trigger restart policies
  std::vector<std::thread> ts;
  for (const auto& id : ids)
    ts.emplace_back([this, id, timeout_s] { (void)stop_entry(id, timeout_s, /*by_user=*/false); });
  for (auto& t : ts) t.join();
}

// dockerd's restore: containers that ran before and whose policy says so
// (always; unless-stopped not stopped by the user; on-failure after a
// failure within its retries) start again when the daemon starts.
void ContainerService::restart_on_boot() {
  std::vector<EntryPtr> todo;
  {
    std::lock_guard g(mu_);
    for (auto& [id, e] : by_id_) {
      const State& st = e->rec.state;
      if (is_running(st.status) || st.status != StateStatus::exited || st.started_ns == 0) continue;
      RestartManager fresh;
      if (fresh.should_restart(restart_policy_of(e->rec.host_config), st.exit_code, st.manually_stopped,
                               st.finished_ns - st.started_ns, e->rec.restart_count))
        todo.push_back(e);
    }
  }
  std::vector<std::thread> ts;
  for (auto& e : todo)
    ts.emplace_back([this, e] {
      const std::string id = e->rec.id;
      BERTH_LOG(log_, info, "starting container (restart policy, daemon start)", {"id", id});
      if (auto st = start_entry(e, id, /*manual=*/true); !st)
        BERTH_LOG(log_, warn, "restart policy: start failed", {"id", id}, {"error", st.error().msg});
    });
  for (auto& t : ts) t.join();
}

bool ContainerService::reap_leftovers(const std::string& id, const std::vector<recovery::ShimProc>& shims,
                                      const std::string& runtime, bool keep_state_dir) {
  const std::string rt_state = opts_.paths.runtime_root() + "/" + id;
  const std::string state_dir = opts_.paths.shim_state_dir(id);
  const std::string sock = opts_.paths.shim_socket(id);
  std::string cg = "/berth/" + id;
  if (auto text = fs::read_file(opts_.paths.container_dir(id) + "/config.json")) {
    Json spec = parse_json(*text).value_or(Json());
    if (spec.is_object() && spec.contains("linux") && spec["linux"].is_object())
      cg = spec["linux"].value("cgroupsPath", cg);
  }
  const bool found = !shims.empty() || fs::exists(rt_state) || fs::exists(state_dir) ||
                     fs::exists(sock) || !recovery::cgroup_dirs(cg).empty();
  if (!found) return false;
  // The shims first: a runtime `create` still running under one must not
  // go on creating what is being deleted.
  int killed = recovery::kill_shims(shims);
  // The init itself (not in the shims' sessions): one stuck in `created`
  // must not outlive a runtime that fails to delete it.
  if (recovery::kill_state_init(rt_state)) ++killed;
  std::string rt = runtime;
  for (const auto& sp : shims)
    if (rt.empty() && !sp.runtime.empty()) rt = sp.runtime;
  if (rt.empty()) rt = opts_.runtime_path;
  if (fs::exists(rt_state))
    (void)run_runtime(rt, opts_.paths.runtime_root(), {"delete", "--force", id}, "", 10000);
  // Whatever the runtime could not clean (a create killed half-way).
  int cg_left = recovery::sweep_cgroups(cg);
  if (fs::exists(rt_state)) (void)fs::remove_all(rt_state);
  (void)unmount_rootfs(rootfs_dirs(opts_.paths.data_root, id));
  if (opts_.networks) opts_.networks->destroy_sandbox(id);
  if (!keep_state_dir) (void)fs::remove_all(state_dir);
  ::unlink(sock.c_str());
  BERTH_LOG(log_, info, "recovered a container's leftovers", {"id", id},
            {"processes_killed", std::to_string(killed)}, {"cgroups_left", std::to_string(cg_left)});
  return true;
}

Status ContainerService::reconcile() {
  // What a removal moved aside and had not deleted yet (discard).
  (void)fs::remove_all(opts_.paths.data_root + "/trash");
  (void)fs::remove_all(opts_.paths.exec_root + "/trash");
  auto recs = BERTH_TRY(records_.load_all());
  // Every shim of this daemon (by its runtime root) still alive, by container.
  auto shims = recovery::find_shims(opts_.paths.runtime_root());
  auto shims_of = [&](const std::string& id) {
    auto it = shims.find(id);
    return it == shims.end() ? std::vector<recovery::ShimProc>() : it->second;
  };
  std::vector<EntryPtr> dead_shims, unfinished_removals, interrupted_starts;
  {
    std::lock_guard g(mu_);
    for (auto& r : recs) {
      auto e = std::make_shared<Entry>();
      e->rec = std::move(r);
      by_name_[e->rec.name] = e->rec.id;
      by_id_[e->rec.id] = e;
    }
  }
  std::vector<EntryPtr> all;
  {
    std::lock_guard g(mu_);
    for (auto& [id, e] : by_id_) all.push_back(e);
  }
  for (auto& e : all) {
    const std::string id = e->rec.id;
    const std::string sock = opts_.paths.shim_socket(id);
    StateStatus st = e->rec.state.status;
    if (st == StateStatus::removing || st == StateStatus::dead) {
      (void)reap_leftovers(id, shims_of(id), runtime_for(e->rec), false);
      unfinished_removals.push_back(e);
      continue;
    }
    // A restart in progress (its old shim gone, a new one perhaps blocked in
    // create): clear what exists and let on_exit apply the policy again.
    if (st == StateStatus::restarting) {
      (void)reap_leftovers(id, shims_of(id), runtime_for(e->rec), true);
      dead_shims.push_back(e);
      continue;
    }
    if (is_running(st)) {
      auto conn = ShimConn::connect(sock);
      if (conn && conn->send(Json{{"op", "wait"}})) {
        {
          std::lock_guard g(mu_);
          e->shim_up = true;
        }
        watch(id, conn->release());
        start_health(e);
        BERTH_LOG(log_, info, "re-attached to running container", {"id", id});
      } else {
        // Its exit.json stays for on_exit; everything else goes.
        (void)reap_leftovers(id, shims_of(id), runtime_for(e->rec), true);
        dead_shims.push_back(e);
      }
      continue;
    }
    // Not running per the database, but a shim, runtime state or cgroup
    // exists: berthd died while starting it (the shim may still be blocked
    // in the runtime's create). Nothing of it may survive.
    if (reap_leftovers(id, shims_of(id), runtime_for(e->rec), false) && st != StateStatus::exited)
      interrupted_starts.push_back(e);
    // A start cut short after its rootfs mount and before the shim leaves
    // nothing reap_leftovers looks for: the mount alone must go too.
    (void)unmount_rootfs(rootfs_dirs(opts_.paths.data_root, id));
    unmount_ipc_shm(ipc_shm_path(opts_.paths.container_dir(id)));
  }
  for (auto& e : dead_shims) {
    BERTH_LOG(log_, info, "container's shim is gone, recording its exit", {"id", e->rec.id});
    on_exit(e->rec.id, make_error(Errc::unavailable, "shim gone"));
  }
  for (auto& e : interrupted_starts) {
    bool auto_remove;
    {
      std::lock_guard g(mu_);
      State& s = e->rec.state;
      s.status = StateStatus::exited;
      s.pid = 0;
      s.exit_code = 128;
      s.error = "container start interrupted: the daemon stopped";
      s.finished_ns = timeutil::now_unix_nano();
      (void)persist_state(*e);
      auto_remove = e->rec.host_config.value("AutoRemove", false);
    }
    BERTH_LOG(log_, info, "container start was interrupted by a daemon crash; marked exited", {"id", e->rec.id});
    if (auto_remove) {
      std::unique_lock op(e->op_mu);
      remove_locked(e, true);
    }
  }
  for (auto& e : unfinished_removals) {
    std::unique_lock op(e->op_mu);
    remove_locked(e);
  }
  // Orphans: shims, directories and runtime state without a row (a crash
  // between creating them and committing the row, or a removal cut short).
  std::set<std::string> orphan_ids;
  for (const auto& [id, procs] : shims) orphan_ids.insert(id);
  for (const auto& name : fs::list_dir(opts_.paths.exec_root + "/shims"))
    orphan_ids.insert(str::ends_with(name, ".sock") ? name.substr(0, name.size() - 5) : name);
  for (const auto& name : fs::list_dir(opts_.paths.data_root + "/containers")) orphan_ids.insert(name);
  for (const auto& name : fs::list_dir(opts_.paths.runtime_root()))
    if (is_hex64(name)) orphan_ids.insert(name);
  std::lock_guard g(mu_);
  for (const auto& id : orphan_ids) {
    if (by_id_.count(id)) continue;
    if (is_hex64(id)) (void)reap_leftovers(id, shims_of(id), "", false);
    (void)fs::remove_all(opts_.paths.exec_root + "/shims/" + id);
    ::unlink(opts_.paths.shim_socket(id).c_str());
    if (fs::exists(opts_.paths.container_dir(id))) {
      BERTH_LOG(log_, info, "removing orphan container directory", {"id", id});
      (void)unmount_rootfs(rootfs_dirs(opts_.paths.data_root, id));
      unmount_ipc_shm(ipc_shm_path(opts_.paths.container_dir(id)));
      (void)fs::remove_all(opts_.paths.container_dir(id));
    }
  }
  for (const auto& name : fs::list_dir(opts_.paths.data_root + "/overlay")) {
    if (by_id_.count(name) || !is_hex64(name)) continue;
    RootfsDirs rd = rootfs_dirs(opts_.paths.data_root, name);
    // Container rootfs dirs have merged/ and work/; image layers do not.
    if (!fs::exists(rd.merged) || !fs::exists(rd.work)) continue;
    (void)unmount_rootfs(rd);
    (void)fs::remove_all(rd.base);
  }
  return ok();
}

}  // namespace berth::container
