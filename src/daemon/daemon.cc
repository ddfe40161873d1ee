#include "daemon/daemon.h"

#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <optional>
#include <thread>

#include "common/fs.h"
#include "common/id.h"
#include "common/strings.h"
#include "container/service.h"
#include "daemon/commit_pause.h"
#include "daemon/events.h"
#include "logging/drivers.h"
#include "daemon/http_server.h"
#include "daemon/routes.h"
#include "image/image_store.h"
#include "network/firewall.h"
#include "store/db.h"

namespace berth::daemon {

namespace {

Result<std::string> runtime_path(const Config& cfg, const std::string& name) {
  if (auto it = cfg.runtimes.find(name); it != cfg.runtimes.end()) return it->second;
  if (name == "berth") return fs::find_helper_binary("berth-runtime");
  if (name == "runc" || name == "crun") return fs::find_helper_binary(name);
  return make_error(Errc::invalid, "default-runtime " + name + " is not a registered runtime");
}

// A pidfile naming a live process means another daemon runs.
Status write_pidfile(const std::string& path) {
  if (auto t = fs::read_file(path)) {
    auto pid = str::parse_int(str::trim(*t));
    if (pid && *pid > 0 && *pid != ::getpid() && ::kill(static_cast<pid_t>(*pid), 0) == 0 &&
        fs::exists("/proc/" + std::to_string(*pid)))
      return make_error(Errc::conflict, "pid file found, ensure berthd is not running or delete " + path);
  }
  BERTH_TRY_VOID(fs::mkdir_p(fs::dirname(path), 0755));
  return fs::write_file_atomic(path, std::to_string(::getpid()) + "\n", fs::Durability::none);
}

Result<std::string> engine_id(const std::string& data_root) {
  std::string path = data_root + "/engine-id";
  if (auto t = fs::read_file(path)) {
    auto id = std::string(str::trim(*t));
    if (!id.empty()) return id;
  }
  std::string h = random_hex_id(16);
  std::string id = h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
                   "-" + h.substr(20, 12);
  BERTH_TRY_VOID(fs::write_file_atomic(path, id + "\n"));
  return id;
}

}  // namespace

namespace {

std::string join_runtimes(const std::map<std::string, std::string>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += (s.empty() ? "" : " ") + k + ":" + v;
  return s;
}

std::string hostname_or_empty() {
  char b[256] = {};
  return ::gethostname(b, sizeof b - 1) == 0 ? std::string(b) : std::string();
}

}  // namespace

int run(const Config& start_cfg, log::Logger& log) {
  Config cfg = start_cfg;  // the reloadable part changes on SIGHUP
  auto die = [&](const Error& e) {
    BERTH_LOG(log, fatal, "berthd failed to start", {"error", e.msg});
    std::fprintf(stderr, "berthd: %s\n", e.msg.c_str());
    return 1;
  };
  if (::geteuid() != 0) return die(make_error(Errc::forbidden, "berthd needs to be started with root privileges"));

  // Signals are handled by one thread with sigwait; block them everywhere
  // before any thread starts. SIGPIPE: broken clients are normal.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGQUIT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> sockets;
  for (const auto& h : cfg.hosts) {
    auto p = unix_socket_path(h);
    if (!p) return die(p.error());
    sockets.push_back(*p);
  }
  if (auto st = fs::mkdir_p(cfg.data_root, 0711); !st) return die(st.error());
  if (auto st = fs::mkdir_p(cfg.exec_root, 0700); !st) return die(st.error());
  if (auto st = write_pidfile(cfg.pidfile); !st) return die(st.error());
  auto rm_pid = ScopeExit([&] { ::unlink(cfg.pidfile.c_str()); });

  auto rt = runtime_path(cfg, cfg.default_runtime);
  if (!rt) return die(rt.error());
  if (auto st = logging::validate_log_config(cfg.log_driver, cfg.log_opts); !st)
    return die(make_error(Errc::invalid, "failed to set log opts: " + st.error().msg));
  std::string shim;
  if (const char* s = std::getenv("BERTH_SHIM"); s && *s) {
    shim = s;
  } else {
    auto sh = fs::find_helper_binary("berth-shim");
    if (!sh) return die(sh.error());
    shim = *sh;
  }

  auto db = store::Db::open(cfg.data_root + "/berth.db");
  if (!db) return die(db.error());
  auto images = image::ImageStore::open(**db, cfg.data_root);
  if (!images) return die(images.error());
  if (cfg.validate_store) {
    auto problems = (*images)->check(true);
    if (!problems) return die(problems.error());
    for (const auto& p : *problems) std::printf("%s\n", p.c_str());
    std::printf("store check: %zu problem(s) found and repaired\n", problems->size());
    return 0;
  }
  container::ServiceOptions so;
  so.paths.data_root = cfg.data_root;
  so.paths.exec_root = cfg.exec_root;
  so.shim_binary = shim;
  so.runtime_path = *rt;
  so.runtime_name = cfg.default_runtime;
  network::Options no;
  no.exec_root = cfg.exec_root;
  no.bridge_name = cfg.bridge;
  no.bip = cfg.bip;
  no.fixed_cidr = cfg.fixed_cidr;
  no.ipv6 = cfg.ipv6;
  no.fixed_cidr_v6 = cfg.fixed_cidr_v6;
  no.ip6tables = cfg.ip6tables;
  no.userland_proxy = cfg.userland_proxy;
  no.ip_forward = cfg.ip_forward;
  no.nftables = cfg.iptables;
  no.nft_table = cfg.nft_table;
  no.mtu = cfg.mtu;
  no.default_host_ip = cfg.default_ip;
  if (auto px = fs::find_helper_binary("berth-proxy")) no.proxy_binary = *px;
  for (const auto& p : cfg.default_address_pools) {
    auto ap = network::parse_address_pool(p);
    if (!ap) return die(ap.error());
    no.pools.push_back(*ap);
  }
  auto networks = network::NetworkService::open(**db, no, log);
  if (!networks) return die(networks.error());
  so.networks = networks->get();
  auto volumes = volume::VolumeService::open(**db, cfg.data_root, log);
  if (!volumes) return die(volumes.error());
  so.volumes = volumes->get();
  for (const auto& [name, path] : cfg.runtimes) so.runtimes[name] = path;
  if (!so.runtimes.count("runc"))
    if (auto p = fs::find_helper_binary("runc")) so.runtimes["runc"] = *p;
  if (!so.runtimes.count("berth"))
    if (auto p = fs::find_helper_binary("berth-runtime")) so.runtimes["berth"] = *p;
  so.default_log_type = cfg.log_driver;
  so.default_log_opts = cfg.log_opts;
  so.default_ulimits = cfg.default_ulimits;
  EventBus events;
  so.events = [&events](std::string_view type, std::string_view action, const std::string& id,
                        std::map<std::string, std::string> attrs) {
    events.publish(Event{std::string(type), std::string(action), id, std::move(attrs)});
  };
  auto containers = container::ContainerService::open(**db, so, log);
  if (!containers) return die(containers.error());
  (*networks)->reconcile((*containers)->running_ids());
  recover_commit_pauses(cfg.data_root, **containers, log);
  network::nft_release();  // loaded again by the first port or network change
  auto eid = engine_id(cfg.data_root);
  if (!eid) return die(eid.error());

  SystemInfo sys;
  sys.id = *eid;
  sys.data_root = cfg.data_root;
  sys.default_runtime = cfg.default_runtime;
  sys.runtimes = cfg.runtimes;
  sys.runtimes[cfg.default_runtime] = *rt;
  sys.live_restore = cfg.live_restore;
  sys.debug = cfg.debug;
  sys.labels = cfg.labels;
  Backends backends{sys, **containers, **images, log, networks->get(), volumes->get()};
  backends.registry.insecure_registries = cfg.insecure_registries;
  backends.registry.mirrors = cfg.registry_mirrors;
  backends.registry.max_concurrent_downloads = cfg.max_concurrent_downloads;
  backends.registry.max_concurrent_uploads = cfg.max_concurrent_uploads;
  backends.events = &events;
  Router router;
  add_system_routes(router, backends);
  add_container_routes(router, backends);
  add_image_routes(router, backends);
  add_network_routes(router, backends);
  add_volume_routes(router, backends);
  add_event_routes(router, backends);

  Server server(router, log);
  for (const auto& s : sockets)
    if (auto st = server.listen_unix(s, cfg.group); !st) return die(st.error());

  std::atomic<bool> live_restore{cfg.live_restore};
  // SIGHUP: reload what dockerd reloads; SIGINT/SIGTERM/SIGQUIT: shut down.
  auto reload = [&] {
    auto fresh = load_config(cfg.args);
    if (!fresh) {
      BERTH_LOG(log, error, "configuration reload failed, keeping the running configuration",
                {"error", fresh.error().msg});
      return;
    }
    std::optional<std::string> new_rt;
    if (fresh->default_runtime != cfg.default_runtime || fresh->runtimes != cfg.runtimes) {
      auto p = runtime_path(*fresh, fresh->default_runtime);
      if (!p) {
        BERTH_LOG(log, error, "configuration reload failed, keeping the running configuration",
                  {"error", p.error().msg});
        return;
      }
      new_rt = *p;
    }
    auto changed = reload_diff(cfg, *fresh, true);
    log.set_level(cfg.log_level);
    live_restore = cfg.live_restore;
    if (new_rt) (*containers)->set_default_runtime(cfg.default_runtime, *new_rt);
    {
      std::lock_guard g(sys.mu);
      sys.debug = cfg.debug;
      sys.live_restore = cfg.live_restore;
      sys.labels = cfg.labels;
      sys.default_runtime = cfg.default_runtime;
      sys.runtimes = cfg.runtimes;
      if (new_rt) sys.runtimes[cfg.default_runtime] = *new_rt;
    }
    std::string list;
    for (const auto& k : changed) list += (list.empty() ? "" : ",") + k;
    BERTH_LOG(log, info, "configuration reloaded", {"changed", list.empty() ? "nothing" : list},
              {"debug", cfg.debug ? "true" : "false"}, {"live-restore", cfg.live_restore ? "true" : "false"},
              {"default-runtime", cfg.default_runtime});
    std::string labels = "[";
    for (size_t i = 0; i < cfg.labels.size(); ++i) labels += (i ? " " : "") + cfg.labels[i];
    labels += "]";
    events.publish(Event{"daemon", "reload", sys.id,
                         {{"debug", cfg.debug ? "true" : "false"},
                          {"default-runtime", cfg.default_runtime},
                          {"labels", labels},
                          {"live-restore", cfg.live_restore ? "true" : "false"},
                          {"name", hostname_or_empty()},
                          {"runtimes", join_runtimes(sys.runtimes)}}});
  };
  std::thread sig([&] {
    for (;;) {
      int got = 0;
      if (sigwait(&set, &got) != 0) continue;
      if (got == SIGHUP) {
        reload();
        continue;
      }
      BERTH_LOG(log, info, "shutting down", {"signal", std::to_string(got)});
      server.shutdown();
      return;
    }
  });
  // Start-up (migrations, reconcile, the first nftables transaction) leaves
  // freed heap behind: hand it back before idling (DESIGN.md §6 idle RSS).
  ::malloc_trim(0);
  BERTH_LOG(log, info, "berthd started", {"version", sys.server_version}, {"runtime", *rt},
            {"shim", shim}, {"socket", sockets.front()});
  server.serve();
  sig.join();
  if (!live_restore) {
    // As dockerd without live-restore: SIGTERM (or the stop signal), a grace
    // period, then SIGKILL, for every running container.
    (*containers)->stop_all(10);
  }
  // Connection threads are detached and may still be blocked in handlers
  // (wait, logs -f, attach) that reference the services: leave without
  // running destructors under them.
  for (const auto& s : sockets) ::unlink(s.c_str());
  ::unlink(cfg.pidfile.c_str());
  BERTH_LOG(log, info, "berthd stopped");
  std::fflush(nullptr);
  ::_exit(0);
}

}  // namespace berth::daemon
