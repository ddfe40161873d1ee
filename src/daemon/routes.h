// Route tables: one file per resource (http_system.cc, http_containers.cc,
// http_images.cc). Handlers parse the request, call a narrow backend and
// answer; only the server maps Errc to a status.
#pragma once
#include <functional>

#include <map>
#include <mutex>
#include <vector>
#include <string>

#include "common/log.h"
#include "container/service.h"
#include "daemon/events.h"
#include "daemon/http_server.h"
#include "image/image_store.h"
#include "network/service.h"
#include "volume/service.h"
#include "image/pull.h"

namespace berth::daemon {

// Facts /info and /version report.
struct SystemInfo {
  // Guards the fields a SIGHUP reload changes (runtimes, default_runtime,
  // live_restore, debug, labels) against /info reading them.
  mutable std::mutex mu;
  std::vector<std::string> labels;
  std::string id;  // engine ID, persisted under DATA_ROOT
  std::string data_root;
  std::string default_runtime;
  std::map<std::string, std::string> runtimes;  // name → path
  bool live_restore = false;
  bool debug = false;
  std::string server_version = "0.1.0";
};

struct Backends {
  SystemInfo& sys;
  container::ContainerService& containers;
  image::ImageStore& images;
  log::Logger& log;
  network::NetworkService* networks = nullptr;
  volume::VolumeService* volumes = nullptr;
  image::RegistryOptions registry = {};  // daemon.json insecure-registries, mirrors, concurrency
  EventBus* events = nullptr;  // GET /events (daemon/http_events.cc)
};

void add_system_routes(Router& r, Backends& b);
void add_container_routes(Router& r, Backends& b);
// pause/unpause/update/rename/top/stats (http_container_ops.cc), exec
// (http_exec.cc); registered by add_container_routes.
void add_container_op_routes(Router& r, Backends& b);
void add_exec_routes(Router& r, Backends& b);

// Copies bytes between a hijacked client and a shim attach stream until the
// shim closes it or the client goes away (http_containers.cc).
// `before_end` runs once the container's stream has ended and before the
// client sees end of stream (exec records its exit code there). With
// `detach_keys` (bytes, api/detach_keys.h) the client's stdin is watched for
// that sequence: it is not forwarded, the stream ends at once, the process
// keeps running, and true is returned.
bool relay_attach(int client, int shim, bool forward_stdin, std::string pending_stdin,
                  const std::function<void()>& before_end = {}, std::string_view detach_keys = {});
void add_image_routes(Router& r, Backends& b);
// GET /system/df (registered by add_image_routes).
void add_df_routes(Router& r, Backends& b);
void add_network_routes(Router& r, Backends& b);
void add_volume_routes(Router& r, Backends& b);
void add_event_routes(Router& r, Backends& b);

// Run `work`, turning its progress messages into a chunked JSON stream
// (started with the first message); an error before any message is a plain
// error response, afterwards an in-stream {"errorDetail":…,"error":…}.
Status stream_progress(Response& res, const std::function<Status(const image::ProgressFn&)>& work);

// "10", "10.5", "1700000000.123456789" or RFC 3339 → unix nanoseconds
// (Docker's since/until parameters).
Result<int64_t> parse_timestamp(std::string_view s);
// Docker's `until` filter: a timestamp, or a duration before now ("24h", "10m").
Result<int64_t> parse_until(const std::string& v);

}  // namespace berth::daemon
