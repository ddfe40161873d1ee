// Log drivers besides json-file's writer: option validation with dockerd's
// messages, the driver factory the shim uses, syslog (unix, udp, tcp;
// Docker's default, rfc3164, rfc5424 and rfc5424micro formats), gelf (udp
// with gzip/zlib and chunking, tcp), `local`, and the non-blocking mode's
// ring buffer that drops the oldest messages.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "logging/json_file.h"

namespace berth::logging {

using LogOpts = std::map<std::string, std::string>;

// dockerd's logger.ValidateLogOpts plus each driver's option checks:
// "logger: no log driver named 'x' is registered", "unknown log opt 'k' for
// json-file log driver", "logger: logging mode not supported: x", ...
Status validate_log_config(std::string_view type, const LogOpts& opts);
// Drivers `docker logs` can read (json-file, local).
bool driver_readable(std::string_view type);
// "10k", "2m", "1g" (go-units RAMInBytes: binary multiples).
Result<int64_t> parse_ram_bytes(std::string_view s);

// What berthd hands the shim (one JSON file, --log-config): the driver,
// its options, and what the options need to know about the container.
struct DriverConfig {
  std::string type = "json-file";
  std::string path;  // json-file/local file
  LogOpts opts;
  std::string tag;                             // rendered tag (syslog, gelf, json-file attrs)
  std::map<std::string, std::string> attrs;    // labels/env options' extra attributes
  std::map<std::string, std::string> info;     // container_id, container_name, image_id, image_name, command, created
  // syslog (udp, tcp) and gelf: the address's numeric "IP:PORT" forms,
  // resolved by berthd (resolve_driver_addrs); the shim dials only these
  // (no getaddrinfo in the static shim). Empty: the address must be numeric.
  std::vector<std::string> dial_addrs;
};
Json driver_config_to_json(const DriverConfig& c);
Result<DriverConfig> driver_config_from_json(const Json& j);
// The host:port the syslog (udp, tcp) or gelf driver dials and its socket
// type; none for other drivers and transports.
struct DialTarget {
  std::string hostport;
  int type;   // SOCK_STREAM, SOCK_DGRAM
  bool gelf;  // errors read "gelf: cannot connect to GELF endpoint: …"
};
Result<std::optional<DialTarget>> driver_dial_target(const DriverConfig& c);
// (resolve_addrs.cc, apart: the shim never links getaddrinfo.)
// Fills c.dial_addrs from the syslog/gelf address (getaddrinfo, in berthd at
// each start, as dockerd's drivers dial at start); errors as the drivers'
// own dial errors ("gelf: cannot connect to GELF endpoint: …").
Status resolve_driver_addrs(DriverConfig& c);

// Container facts a tag template may use ({{.ID}}, {{.FullID}}, {{.Name}},
// {{.ImageID}}, {{.ImageFullID}}, {{.ImageName}}, {{.DaemonName}}).
struct TagInfo {
  std::string id, name, image_id, image_name;
};
// Docker's loggerutils.ParseLogTag: `tmpl` empty → default_tmpl.
Result<std::string> render_tag(std::string_view tmpl, const TagInfo& info);

// The driver for a config, or nullptr for "none". journald fails (this
// host has no journal); network drivers connect here.
Result<std::unique_ptr<LogDriver>> make_driver(const DriverConfig& c);

// Splits a chunked stream into messages as Docker's copier does: one per
// '\n' (without it), a partial message after 16 KiB or at close.
class LineSplitter {
 public:
  using Emit = std::function<void(Stream, std::string_view line, bool partial, int64_t time_ns)>;
  void feed(Stream s, std::string_view data, int64_t now_ns, const Emit& emit);
  void close(int64_t now_ns, const Emit& emit);

 private:
  std::string partial_[3];
};

// Formats a syslog message as Docker's syslog driver (srslog) does.
// `format` is "", "rfc3164", "rfc5424" or "rfc5424micro"; the result ends in '\n'.
std::string format_syslog(std::string_view format, int priority, int64_t time_ns,
                          std::string_view hostname, std::string_view tag, int pid,
                          std::string_view msg);
// A GELF 1.1 message as Docker's gelf driver builds it (without compression).
std::string format_gelf(std::string_view hostname, std::string_view line, int64_t time_ns, int level,
                        const std::map<std::string, std::string>& extra);
// UDP chunking (magic 0x1e 0x0f, 8-byte id, seq, count); one datagram
// when it fits in chunk_size.
std::vector<std::string> gelf_chunks(std::string_view payload, size_t chunk_size, uint64_t msg_id);

}  // namespace berth::logging
