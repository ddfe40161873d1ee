#include "logging/drivers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zlib.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <regex>
#include <thread>

#include "common/fs.h"
#include "common/net.h"
#include "common/strings.h"
#include "common/time.h"
#include "logging/local_file.h"

namespace berth::logging {

namespace {

Error invalid(std::string m) { return make_error(Errc::invalid, std::move(m)); }

bool one_of(std::string_view k, std::initializer_list<std::string_view> set) {
  for (auto s : set)
    if (k == s) return true;
  return false;
}

Status known_opts(std::string_view driver, const LogOpts& o, std::initializer_list<std::string_view> keys) {
  for (const auto& [k, v] : o)
    if (!one_of(k, keys)) return invalid("unknown log opt '" + k + "' for " + std::string(driver) + " log driver");
  return ok();
}

std::string opt(const LogOpts& o, const std::string& k, std::string def = "") {
  auto it = o.find(k);
  return it == o.end() ? def : it->second;
}

bool is_true(const std::string& v) { return one_of(v, {"1", "t", "T", "true", "TRUE", "True"}); }

const std::map<std::string, int>& facilities() {
  static const std::map<std::string, int> f = {
      {"kern", 0},    {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},    {"syslog", 5},
      {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},    {"authpriv", 10}, {"ftp", 11},
      {"local0", 16}, {"local1", 17}, {"local2", 18}, {"local3", 19}, {"local4", 20}, {"local5", 21},
      {"local6", 22}, {"local7", 23}};
  return f;
}

Result<int> parse_facility(const std::string& f) {
  if (f.empty()) return 3;  // daemon
  if (auto it = facilities().find(f); it != facilities().end()) return it->second;
  auto n = str::parse_int(f);
  if (n && *n >= 0 && *n <= 23) return static_cast<int>(*n);
  return invalid("invalid syslog facility");
}

struct SyslogAddr {
  std::string proto;  // "" (local), unix, unixgram, udp, tcp
  std::string addr;   // path or host:port
};

Result<SyslogAddr> parse_syslog_address(const std::string& a) {
  if (a.empty()) return SyslogAddr{};
  auto sep = a.find("://");
  std::string scheme = sep == std::string::npos ? "" : a.substr(0, sep);
  if (!one_of(scheme, {"tcp", "tcp+tls", "udp", "unix", "unixgram"}))
    return invalid("syslog-address should be in form proto://address, got " + a);
  std::string rest = a.substr(sep + 3);
  if (scheme == "unix" || scheme == "unixgram") {
    struct stat st {};
    if (::stat(rest.c_str(), &st) != 0) return invalid("stat " + rest + ": no such file or directory");
    return SyslogAddr{scheme, rest};
  }
  auto slash = rest.find('/');
  if (slash != std::string::npos) rest = rest.substr(0, slash);
  if (rest.rfind(':') == std::string::npos || rest.back() == ']') rest += ":514";
  return SyslogAddr{scheme, rest};
}

Status check_syslog_format(const std::string& f) {
  if (!one_of(f, {"", "rfc3164", "rfc5424", "rfc5424micro"})) return invalid("Invalid syslog format");
  return ok();
}

struct GelfAddr {
  std::string proto, hostport;
};

Result<GelfAddr> parse_gelf_address(const std::string& a) {
  if (a.empty()) return invalid("gelf-address is a required parameter");
  auto sep = a.find("://");
  std::string scheme = sep == std::string::npos ? "" : a.substr(0, sep);
  if (scheme != "udp" && scheme != "tcp") return invalid("gelf: endpoint needs to be TCP or UDP");
  std::string hp = a.substr(sep + 3);
  auto colon = hp.rfind(':');
  if (colon == std::string::npos || colon + 1 >= hp.size())
    return invalid("gelf: please provide gelf-address as proto://host:port");
  return GelfAddr{scheme, hp};
}


Result<UniqueFd> dial_unix(const std::string& path, int type) {
  UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket");
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return invalid("unix socket path too long: " + path);
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return make_error(Errc::unavailable, "dial " + std::string(type == SOCK_DGRAM ? "unixgram " : "unix ") +
                                             path + ": " + std::strerror(errno));
  return fd;
}

Status send_all(int fd, std::string_view d, bool stream) {
  if (!stream) {
    ssize_t n = ::send(fd, d.data(), d.size(), MSG_NOSIGNAL);
    if (n < 0) return sys_error("send");
    return ok();
  }
  while (!d.empty()) {
    ssize_t n = ::send(fd, d.data(), d.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("send");
    d.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

std::string hostname() {
  char b[256] = {};
  if (::gethostname(b, sizeof b - 1) != 0) return "localhost";
  return b;
}

// Go time layouts: Stamp "Jan _2 15:04:05", RFC3339 and micro.
std::string time_stamp(int64_t ns) {
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = static_cast<time_t>(ns / 1000000000);
  struct tm tm {};
  ::gmtime_r(&t, &tm);
  char b[32];
  std::snprintf(b, sizeof b, "%s %2d %02d:%02d:%02d", months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return b;
}

std::string time_rfc3339(int64_t ns, int frac_digits) {
  time_t t = static_cast<time_t>(ns / 1000000000);
  struct tm tm {};
  ::gmtime_r(&t, &tm);
  char b[64];
  int n = std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string s(b, static_cast<size_t>(n));
  if (frac_digits > 0) {
    // Go's ".999999": trailing zeros trimmed, none when zero.
    char f[16];
    std::snprintf(f, sizeof f, "%06lld", static_cast<long long>((ns % 1000000000) / 1000));
    std::string fs(f);
    while (!fs.empty() && fs.back() == '0') fs.pop_back();
    if (!fs.empty()) s += "." + fs;
  }
  return s + "Z";
}

Result<std::string> compress(std::string_view in, bool gzip, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, gzip ? 31 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return make_error(Errc::internal, "deflateInit failed");
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  size_t n = out.size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return make_error(Errc::internal, "deflate failed");
  out.resize(n);
  return out;
}

// ------------------------------------------------------------- syslog

// Starts berth-log-tls for HOST:PORT with one end of a socketpair as its
// stdin and waits for its handshake verdict; the other end is returned: what
// is written to it goes out over TLS.
Result<UniqueFd> spawn_tls_relay(const std::string& hostport, const std::vector<std::string>& extra) {
  std::string bin = BERTH_TRY(fs::find_helper_binary("berth-log-tls"));
  std::vector<std::string> args = {bin, hostport};
  // extra: flag/value pairs (empty values left out) and a lone --skip-verify.
  for (size_t i = 0; i < extra.size(); ++i) {
    if (extra[i] == "--skip-verify") {
      args.push_back(extra[i]);
    } else if (i + 1 < extra.size()) {
      if (!extra[i + 1].empty()) {
        args.push_back(extra[i]);
        args.push_back(extra[i + 1]);
      }
      ++i;
    }
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return sys_error("socketpair");
  UniqueFd mine(sv[0]), theirs(sv[1]);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    // No allocation here: argv was built before the fork.
    if (::dup2(theirs.get(), 0) < 0) ::_exit(127);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  theirs.reset();
  // The verdict line ("ok" or "error: …"), within the dial/handshake time.
  std::string line;
  for (int waited = 0; line.find('\n') == std::string::npos;) {
    pollfd p{mine.get(), POLLIN, 0};
    int r = ::poll(&p, 1, 1000);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0 && ++waited >= 30) return make_error(Errc::unavailable, "syslog tls: handshake timed out");
    if (r <= 0) continue;
    char b[512];
    ssize_t n = ::read(mine.get(), b, sizeof b);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(Errc::unavailable, "syslog tls: " + bin + " exited");
    line.append(b, static_cast<size_t>(n));
  }
  line.resize(line.find('\n'));
  if (line != "ok") return make_error(Errc::unavailable, str::starts_with(line, "error: ") ? line.substr(7) : line);
  return mine;
}

class SyslogDriver final : public LogDriver {
 public:
  static Result<std::unique_ptr<LogDriver>> open(const DriverConfig& c) {
    auto d = std::unique_ptr<SyslogDriver>(new SyslogDriver());
    SyslogAddr a = BERTH_TRY(parse_syslog_address(opt(c.opts, "syslog-address")));
    d->facility_ = BERTH_TRY(parse_facility(opt(c.opts, "syslog-facility")));
    d->format_ = opt(c.opts, "syslog-format");
    d->tag_ = c.tag;
    d->host_ = hostname();
    d->pid_ = static_cast<int>(::getpid());
    if (a.proto.empty()) {
      // Local syslog: the first of the usual sockets that answers.
      for (const char* p : {"/dev/log", "/var/run/syslog", "/var/run/log"}) {
        for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
          auto fd = dial_unix(p, type);
          if (fd) {
            d->fd_ = std::move(*fd);
            d->stream_ = type == SOCK_STREAM;
            break;
          }
        }
        if (d->fd_) break;
      }
      if (!d->fd_) return make_error(Errc::unavailable, "Unix syslog delivery error");
    } else if (a.proto == "unix" || a.proto == "unixgram") {
      d->stream_ = a.proto == "unix";
      d->fd_ = BERTH_TRY(dial_unix(a.addr, d->stream_ ? SOCK_STREAM : SOCK_DGRAM));
    } else {
      d->stream_ = a.proto == "tcp" || a.proto == "tcp+tls";
      // Numeric addresses only: berthd resolved the name (resolve_driver_addrs).
      if (a.proto != "tcp+tls")
        d->fd_ = BERTH_TRY(net::dial_numeric(a.addr, c.dial_addrs, d->stream_ ? SOCK_STREAM : SOCK_DGRAM));
      if (a.proto == "tcp+tls") {
        // Docker: the tls options, skip-verify by its mere presence; rfc5424
        // formats are framed by their length (RFC 5425) on this transport.
        // TLS runs in the berth-log-tls helper (keeps OpenSSL out of the shim).
        std::vector<std::string> args = {"--ca", opt(c.opts, "syslog-tls-ca-cert"), "--cert",
                                         opt(c.opts, "syslog-tls-cert"), "--key", opt(c.opts, "syslog-tls-key")};
        if (c.opts.count("syslog-tls-skip-verify")) args.push_back("--skip-verify");
        d->fd_ = BERTH_TRY(spawn_tls_relay(a.addr, args));
        d->length_framed_ = d->format_ == "rfc5424" || d->format_ == "rfc5424micro";
      }
    }
    return std::unique_ptr<LogDriver>(std::move(d));
  }

  Status write(Stream s, std::string_view data, int64_t now_ns) override {
    split_.feed(s, data, now_ns, [&](Stream st, std::string_view line, bool, int64_t t) { send(st, line, t); });
    return ok();
  }
  Status flush() override { return ok(); }
  Status close(int64_t now_ns) override {
    split_.close(now_ns, [&](Stream st, std::string_view line, bool, int64_t t) { send(st, line, t); });
    return ok();
  }

 private:
  void send(Stream s, std::string_view line, int64_t t) {
    int sev = s == Stream::err ? 3 : 6;  // LOG_ERR, LOG_INFO
    std::string m = format_syslog(format_, facility_ * 8 + sev, t, host_, tag_, pid_, line);
    if (length_framed_) m = std::to_string(m.size()) + " " + m;
    (void)send_all(fd_.get(), m, stream_);  // a lost syslog message does not stop the container
  }
  UniqueFd fd_;
  bool length_framed_ = false;
  bool stream_ = false;
  int facility_ = 3;
  std::string format_, tag_, host_;
  int pid_ = 0;
  LineSplitter split_;
};

// --------------------------------------------------------------- gelf

class GelfDriver final : public LogDriver {
 public:
  static Result<std::unique_ptr<LogDriver>> open(const DriverConfig& c) {
    auto d = std::unique_ptr<GelfDriver>(new GelfDriver());
    GelfAddr a = BERTH_TRY(parse_gelf_address(opt(c.opts, "gelf-address")));
    d->tcp_ = a.proto == "tcp";
    d->hostport_ = a.hostport;
    d->addrs_ = c.dial_addrs;  // resolved by berthd: reconnects dial these
    auto fd = net::dial_numeric(a.hostport, d->addrs_, d->tcp_ ? SOCK_STREAM : SOCK_DGRAM);
    if (!fd)
      return make_error(Errc::unavailable,
                        "gelf: cannot connect to GELF endpoint: " + a.hostport + " " + fd.error().msg);
    d->fd_ = std::move(*fd);
    // go-gelf's TCPWriter defaults: 3 reconnects, 1 s apart.
    if (auto v = opt(c.opts, "gelf-tcp-max-reconnect"); !v.empty())
      d->max_reconnect_ = static_cast<int>(str::parse_int(v).value_or(3));
    if (auto v = opt(c.opts, "gelf-tcp-reconnect-delay"); !v.empty())
      d->reconnect_delay_s_ = static_cast<int>(str::parse_int(v).value_or(1));
    std::string ct = opt(c.opts, "gelf-compression-type", "gzip");
    d->ctype_ = ct;
    d->level_ = 1;
    if (auto l = opt(c.opts, "gelf-compression-level"); !l.empty()) d->level_ = static_cast<int>(*str::parse_int(l));
    d->host_ = hostname();
    for (const auto& [k, v] : c.info) d->extra_["_" + k] = v;
    d->extra_["_tag"] = c.tag;
    for (const auto& [k, v] : c.attrs) d->extra_["_" + k] = v;
    std::random_device rd;
    d->rng_.seed((static_cast<uint64_t>(rd()) << 32) ^ rd());
    return std::unique_ptr<LogDriver>(std::move(d));
  }
  Status write(Stream s, std::string_view data, int64_t now_ns) override {
    split_.feed(s, data, now_ns, [&](Stream st, std::string_view line, bool, int64_t t) { send(st, line, t); });
    return ok();
  }
  Status flush() override { return ok(); }
  Status close(int64_t now_ns) override {
    split_.close(now_ns, [&](Stream st, std::string_view line, bool, int64_t t) { send(st, line, t); });
    return ok();
  }

 private:
  void send(Stream s, std::string_view line, int64_t t) {
    std::string m = format_gelf(host_, line, t, s == Stream::err ? 3 : 6, extra_);
    if (tcp_) {
      m.push_back('\0');
      send_tcp(m);
      return;
    }
    std::string payload = m;
    if (ctype_ == "gzip" || ctype_ == "zlib") {
      auto z = compress(m, ctype_ == "gzip", level_);
      if (!z) return;
      payload = std::move(*z);
    }
    for (const auto& d : gelf_chunks(payload, 1420, rng_())) (void)send_all(fd_.get(), d, false);
  }
  // A GELF server never writes: a readable socket is one the server closed
  // (or reset), so the message goes to a new connection instead of being
  // accepted by the kernel and lost.
  static bool peer_gone(int fd) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
    char c;
    return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  }
  // go-gelf's writeToSocketWithReconnectAttempts: on a failed write, wait
  // the delay, dial again and retry, at most max_reconnect_ times.
  void send_tcp(std::string_view m) {
    for (int i = 0; i <= max_reconnect_; ++i) {
      if (fd_ && !peer_gone(fd_.get()) && send_all(fd_.get(), m, true)) return;
      fd_.reset();
      if (i == max_reconnect_) break;
      if (reconnect_delay_s_ > 0) ::sleep(static_cast<unsigned>(reconnect_delay_s_));
      auto fd = net::dial_numeric(hostport_, addrs_, SOCK_STREAM);
      if (fd) fd_ = std::move(*fd);
    }
    // "Maximum reconnection attempts was reached; giving up": the message is dropped.
  }
  UniqueFd fd_;
  bool tcp_ = false;
  std::string hostport_;
  std::vector<std::string> addrs_;
  int max_reconnect_ = 3;
  int reconnect_delay_s_ = 1;
  std::string ctype_;
  int level_ = 1;
  std::string host_;
  std::map<std::string, std::string> extra_;
  std::mt19937_64 rng_;
  LineSplitter split_;
};

// --------------------------------------------------------- non-blocking

// mode=non-blocking: the shim's loop only queues; a thread feeds the real
// driver. Past max-buffer-size the oldest queued chunks are dropped.
class NonBlocking final : public LogDriver {
 public:
  NonBlocking(std::unique_ptr<LogDriver> inner, size_t max_bytes)
      : inner_(std::move(inner)), max_(max_bytes), thread_([this] { loop(); }) {}
  ~NonBlocking() override { stop(0); }
  Status write(Stream s, std::string_view data, int64_t now_ns) override {
    std::lock_guard g(mu_);
    q_.push_back({s, std::string(data), now_ns});
    bytes_ += data.size();
    while (bytes_ > max_ && q_.size() > 1) {
      bytes_ -= q_.front().data.size();
      q_.pop_front();
      ++dropped_;
    }
    cv_.notify_one();
    return ok();
  }
  Status flush() override { return ok(); }
  Status close(int64_t now_ns) override {
    stop(now_ns);
    return ok();
  }

 private:
  struct Chunk {
    Stream s;
    std::string data;
    int64_t t;
  };
  void stop(int64_t now_ns) {
    {
      std::lock_guard g(mu_);
      if (done_) return;
      done_ = true;
      close_ns_ = now_ns;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  void loop() {
    std::unique_lock l(mu_);
    for (;;) {
      cv_.wait(l, [&] { return done_ || !q_.empty(); });
      while (!q_.empty()) {
        Chunk c = std::move(q_.front());
        q_.pop_front();
        bytes_ -= c.data.size();
        l.unlock();
        (void)inner_->write(c.s, c.data, c.t);
        l.lock();
      }
      l.unlock();
      (void)inner_->flush();
      l.lock();
      if (done_ && q_.empty()) {
        int64_t t = close_ns_ ? close_ns_ : timeutil::now_unix_nano();
        l.unlock();
        (void)inner_->close(t);
        return;
      }
    }
  }
  std::unique_ptr<LogDriver> inner_;
  size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> q_;
  size_t bytes_ = 0;
  uint64_t dropped_ = 0;
  bool done_ = false;
  int64_t close_ns_ = 0;
  std::thread thread_;
};

std::string go_json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

}  // namespace

Result<int64_t> parse_ram_bytes(std::string_view s) {
  std::string t = str::to_lower(std::string(str::trim(s)));
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  if (i == 0) return invalid("invalid size: '" + std::string(s) + "'");
  double num = std::strtod(t.substr(0, i).c_str(), nullptr);
  std::string unit = t.substr(i);
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  double mul = 1;
  if (unit.empty()) mul = 1;
  else if (unit == "k") mul = 1024.0;
  else if (unit == "m") mul = 1024.0 * 1024;
  else if (unit == "g") mul = 1024.0 * 1024 * 1024;
  else if (unit == "t") mul = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "p") mul = 1024.0 * 1024 * 1024 * 1024 * 1024;
  else return invalid("invalid size: '" + std::string(s) + "'");
  return static_cast<int64_t>(num * mul);
}

Status validate_log_config(std::string_view type, const LogOpts& all) {
  if (type == "none") return ok();
  std::string mode = opt(all, "mode");
  if (!one_of(mode, {"", "blocking", "non-blocking"})) return invalid("logger: logging mode not supported: " + mode);
  if (all.count("max-buffer-size")) {
    if (mode != "non-blocking")
      return invalid("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
    auto n = parse_ram_bytes(all.at("max-buffer-size"));
    if (!n) return invalid("error parsing option max-buffer-size: " + n.error().msg);
  }
  LogOpts o = all;
  o.erase("mode");
  o.erase("max-buffer-size");
  auto check_size = [&](const char* k) -> Status {
    if (!o.count(k)) return ok();
    auto n = parse_ram_bytes(o.at(k));
    if (!n) return std::move(n).error();
    return ok();
  };
  auto check_files = [&]() -> Status {
    if (!o.count("max-file")) return ok();
    auto n = str::parse_int(o.at("max-file"));
    if (!n) return invalid("strconv.Atoi: parsing \"" + o.at("max-file") + "\": invalid syntax");
    if (*n < 1) return invalid("max-file cannot be less than 1");
    return ok();
  };
  auto check_bool = [&](const char* k) -> Status {
    if (!o.count(k)) return ok();
    std::string v = o.at(k);
    if (!one_of(v, {"1", "t", "T", "true", "TRUE", "True", "0", "f", "F", "false", "FALSE", "False"}))
      return invalid("strconv.ParseBool: parsing \"" + v + "\": invalid syntax");
    return ok();
  };
  if (type == "json-file") {
    BERTH_TRY_VOID(known_opts(type, o, {"max-file", "max-size", "compress", "labels", "labels-regex", "env",
                                        "env-regex", "tag"}));
    BERTH_TRY_VOID(check_size("max-size"));
    BERTH_TRY_VOID(check_files());
    BERTH_TRY_VOID(check_bool("compress"));
    // moby's jsonfilelog.New: compression needs rotation with old files.
    if (is_true(opt(o, "compress")) &&
        (opt(o, "max-file").empty() || opt(o, "max-file") == "1" || opt(o, "max-size").empty()))
      return invalid(
          "failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is "
          "not set");
    return ok();
  }
  if (type == "local") {
    // moby's local.ValidateLogOpt words it the other way round.
    for (const auto& [k, v] : o)
      if (!one_of(k, {"max-file", "max-size", "compress"}))
        return invalid("unknown log opt '" + k + "' for log driver local");
    if (o.count("max-size") && !parse_ram_bytes(o.at("max-size")))
      return invalid("failed to initialize logging driver: invalid value for max-size: " + o.at("max-size") +
                     ": " + parse_ram_bytes(o.at("max-size")).error().msg);
    BERTH_TRY_VOID(check_files());
    return check_bool("compress");
  }
  if (type == "syslog") {
    BERTH_TRY_VOID(known_opts(type, o, {"env", "env-regex", "labels", "labels-regex", "syslog-address",
                                        "syslog-facility", "syslog-tls-ca-cert", "syslog-tls-cert",
                                        "syslog-tls-key", "syslog-tls-skip-verify", "tag", "syslog-format"}));
    BERTH_TRY(parse_syslog_address(opt(o, "syslog-address")));
    BERTH_TRY(parse_facility(opt(o, "syslog-facility")));
    return check_syslog_format(opt(o, "syslog-format"));
  }
  if (type == "gelf") {
    BERTH_TRY_VOID(known_opts(type, o, {"gelf-address", "gelf-compression-level", "gelf-compression-type",
                                        "gelf-tcp-max-reconnect", "gelf-tcp-reconnect-delay", "tag", "labels",
                                        "labels-regex", "env", "env-regex"}));
    GelfAddr ga = BERTH_TRY(parse_gelf_address(opt(o, "gelf-address")));
    for (const char* k : {"gelf-tcp-max-reconnect", "gelf-tcp-reconnect-delay"}) {
      if (!o.count(k)) continue;
      if (ga.proto != "tcp") return invalid("\"" + std::string(k) + "\" is only valid for TCP");
      auto n = str::parse_int(o.at(k));
      if (!n || *n < 0) return invalid("\"" + std::string(k) + "\" must be a positive integer");
    }
    std::string ct = opt(o, "gelf-compression-type");
    if (!one_of(ct, {"", "gzip", "zlib", "none"}))
      return invalid("Unknown gelf compression type \"" + ct + "\"");
    if (auto l = opt(o, "gelf-compression-level"); !l.empty()) {
      auto n = str::parse_int(l);
      if (!n || *n < -1 || *n > 9) return invalid("gelf-compression-level must be between -1 and 9");
    }
    return ok();
  }
  if (type == "journald") {
    return known_opts(type, o, {"env", "env-regex", "labels", "labels-regex", "tag"});
  }
  return invalid("logger: no log driver named '" + std::string(type) + "' is registered");
}

bool driver_readable(std::string_view type) { return type == "json-file" || type == "local"; }

Json driver_config_to_json(const DriverConfig& c) {
  Json j{{"type", c.type}, {"path", c.path}, {"opts", c.opts}, {"tag", c.tag}, {"attrs", c.attrs},
         {"info", c.info}};
  if (!c.dial_addrs.empty()) j["dial_addrs"] = c.dial_addrs;
  return j;
}

Result<std::optional<DialTarget>> driver_dial_target(const DriverConfig& c) {
  if (c.type == "syslog") {
    SyslogAddr a = BERTH_TRY(parse_syslog_address(opt(c.opts, "syslog-address")));
    // unix sockets need no lookup; tcp+tls is dialed by berth-log-tls (a
    // dynamic binary that resolves, and verifies the certificate by name).
    if (a.proto != "udp" && a.proto != "tcp") return std::optional<DialTarget>();
    return std::optional<DialTarget>(DialTarget{a.addr, a.proto == "tcp" ? SOCK_STREAM : SOCK_DGRAM, false});
  }
  if (c.type == "gelf") {
    GelfAddr a = BERTH_TRY(parse_gelf_address(opt(c.opts, "gelf-address")));
    return std::optional<DialTarget>(DialTarget{a.hostport, a.proto == "tcp" ? SOCK_STREAM : SOCK_DGRAM, true});
  }
  return std::optional<DialTarget>();
}

Result<DriverConfig> driver_config_from_json(const Json& j) {
  DriverConfig c;
  try {
    c.type = j.at("type").get<std::string>();
    c.path = j.value("path", std::string());
    c.opts = j.value("opts", LogOpts{});
    c.tag = j.value("tag", std::string());
    c.attrs = j.value("attrs", std::map<std::string, std::string>{});
    c.info = j.value("info", std::map<std::string, std::string>{});
    c.dial_addrs = j.value("dial_addrs", std::vector<std::string>{});
  } catch (const std::exception& e) {
    return invalid(std::string("bad log config: ") + e.what());
  }
  return c;
}

Result<std::string> render_tag(std::string_view tmpl, const TagInfo& i) {
  std::string out;
  size_t pos = 0;
  while (pos < tmpl.size()) {
    auto open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) {
      out.append(tmpl.substr(pos));
      break;
    }
    out.append(tmpl.substr(pos, open - pos));
    auto close = tmpl.find("}}", open);
    if (close == std::string_view::npos) return invalid("template: log-tag: unclosed action");
    std::string f(str::trim(tmpl.substr(open + 2, close - open - 2)));
    auto id12 = [](const std::string& s) { return s.substr(0, 12); };
    std::string img = i.image_id;
    if (str::starts_with(img, "sha256:")) img = img.substr(7);
    if (f == ".ID") out += id12(i.id);
    else if (f == ".FullID") out += i.id;
    else if (f == ".Name") out += i.name;
    else if (f == ".ImageID") out += id12(img);
    else if (f == ".ImageFullID") out += i.image_id;
    else if (f == ".ImageName") out += i.image_name;
    else if (f == ".DaemonName") out += "docker";
    else return invalid("template: log-tag: can't evaluate field " + f.substr(f.find('.') + 1));
    pos = close + 2;
  }
  return out;
}

void LineSplitter::feed(Stream s, std::string_view data, int64_t now_ns, const Emit& emit) {
  std::string& p = partial_[static_cast<int>(s) % 3];
  while (!data.empty()) {
    auto nl = data.find('\n');
    std::string_view seg = nl == std::string_view::npos ? data : data.substr(0, nl);
    if (p.size() + seg.size() >= kMaxLineBytes && nl == std::string_view::npos) {
      size_t take = kMaxLineBytes - p.size();
      p.append(seg.substr(0, take));
      emit(s, p, true, now_ns);
      p.clear();
      data.remove_prefix(take);
      continue;
    }
    if (nl == std::string_view::npos) {
      p.append(data);
      return;
    }
    if (p.empty()) {
      emit(s, seg, false, now_ns);
    } else {
      p.append(seg);
      emit(s, p, false, now_ns);
      p.clear();
    }
    data.remove_prefix(nl + 1);
  }
}

void LineSplitter::close(int64_t now_ns, const Emit& emit) {
  for (int i = 0; i < 3; ++i)
    if (!partial_[i].empty()) {
      emit(static_cast<Stream>(i), partial_[i], true, now_ns);
      partial_[i].clear();
    }
}

std::string format_syslog(std::string_view format, int pri, int64_t t, std::string_view host,
                          std::string_view tag, int pid, std::string_view msg) {
  std::string m(msg);
  if (m.empty() || m.back() != '\n') m += '\n';
  std::string p = "<" + std::to_string(pri) + ">";
  std::string ps = std::to_string(pid), ts(tag), hs(host);
  if (format == "rfc3164") return p + time_stamp(t) + " " + hs + " " + ts + "[" + ps + "]: " + m;
  if (format == "rfc5424") return p + "1 " + time_rfc3339(t, 0) + " " + hs + " " + ts + " " + ps + " " + ts + " - " + m;
  if (format == "rfc5424micro")
    return p + "1 " + time_rfc3339(t, 6) + " " + hs + " " + ts + " " + ps + " " + ts + " - " + m;
  return p + time_stamp(t) + " " + ts + "[" + ps + "]: " + m;  // srslog's UnixFormatter
}

std::string format_gelf(std::string_view host, std::string_view line, int64_t t, int level,
                        const std::map<std::string, std::string>& extra) {
  int64_t ms = t / 1000000;
  std::string ts = std::to_string(ms / 1000);
  std::string frac = std::to_string(ms % 1000);
  frac = std::string(3 - frac.size(), '0') + frac;
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  if (!frac.empty()) ts += "." + frac;
  std::string out = "{\"version\":\"1.1\",\"host\":" + go_json_string(host) +
                    ",\"short_message\":" + go_json_string(line) + ",\"timestamp\":" + ts +
                    ",\"level\":" + std::to_string(level);
  for (const auto& [k, v] : extra) out += "," + go_json_string(k) + ":" + go_json_string(v);
  return out + "}";
}

std::vector<std::string> gelf_chunks(std::string_view payload, size_t chunk_size, uint64_t id) {
  if (payload.size() <= chunk_size) return {std::string(payload)};
  const size_t data_len = chunk_size - 12;
  size_t count = (payload.size() + data_len - 1) / data_len;
  if (count > 128) return {};  // go-gelf: "msg too large"
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    std::string c;
    c.push_back('\x1e');
    c.push_back('\x0f');
    for (int b = 7; b >= 0; --b) c.push_back(static_cast<char>((id >> (8 * b)) & 0xff));
    c.push_back(static_cast<char>(i));
    c.push_back(static_cast<char>(count));
    c.append(payload.substr(i * data_len, data_len));
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::unique_ptr<LogDriver>> make_driver(const DriverConfig& c) {
  std::unique_ptr<LogDriver> d;
  if (c.type == "none") return std::unique_ptr<LogDriver>();
  if (c.type == "local") {
    // Docker's defaults: 20 MiB × 5 files, compressed.
    LocalFileWriter::Options o;
    if (auto v = opt(c.opts, "max-size"); !v.empty()) o.max_size = BERTH_TRY(parse_ram_bytes(v));
    if (auto v = opt(c.opts, "max-file"); !v.empty()) o.max_file = static_cast<int>(str::parse_int(v).value_or(5));
    if (auto v = opt(c.opts, "compress"); !v.empty()) o.compress = is_true(v);
    (void)fs::mkdir_p(fs::dirname(c.path), 0700);
    d = BERTH_TRY(LocalFileWriter::open(c.path, o));
  } else if (c.type == "json-file") {
    JsonFileWriter::Options o;
    if (auto v = opt(c.opts, "max-size"); !v.empty()) o.max_size = BERTH_TRY(parse_ram_bytes(v));
    if (auto v = opt(c.opts, "max-file"); !v.empty()) o.max_file = static_cast<int>(str::parse_int(v).value_or(1));
    o.compress = is_true(opt(c.opts, "compress"));
    if (o.max_size > 0 && o.max_size < 4096 && o.flush_threshold > static_cast<size_t>(o.max_size))
      o.flush_threshold = static_cast<size_t>(o.max_size);
    if (!c.attrs.empty() || !c.tag.empty()) {
      std::map<std::string, std::string> a = c.attrs;
      if (!c.tag.empty()) a["tag"] = c.tag;
      std::string j = "{";
      bool first = true;
      for (const auto& [k, v] : a) {
        if (!first) j += ",";
        first = false;
        append_json_string(j, k);
        j += ":";
        append_json_string(j, v);
      }
      o.attrs_json = j + "}";
    }
    (void)fs::mkdir_p(fs::dirname(c.path), 0700);
    d = BERTH_TRY(JsonFileWriter::open(c.path, o));
  } else if (c.type == "syslog") {
    d = BERTH_TRY(SyslogDriver::open(c));
  } else if (c.type == "gelf") {
    d = BERTH_TRY(GelfDriver::open(c));
  } else if (c.type == "journald") {
    return make_error(Errc::unavailable, "journald is not enabled on this host");
  } else {
    return invalid("logger: no log driver named '" + c.type + "' is registered");
  }
  if (opt(c.opts, "mode") == "non-blocking") {
    int64_t max = 1024 * 1024;
    if (auto v = opt(c.opts, "max-buffer-size"); !v.empty()) max = BERTH_TRY(parse_ram_bytes(v));
    d = std::make_unique<NonBlocking>(std::move(d), static_cast<size_t>(max));
  }
  return d;
}

}  // namespace berth::logging
