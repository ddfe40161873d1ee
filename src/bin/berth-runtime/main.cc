// berth-runtime: an OCI runtime with runc's command line. This file only
// parses arguments, sets up logging and calls berth::runtime::Runtime.
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/wait.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <set>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/time.h"
#include "runtime/container.h"
#include "common/signals.h"
#include "sys/sealed_exe.h"

namespace {

using berth::Error;
using berth::Errc;
using berth::make_error;
using berth::Result;

constexpr const char* kVersion = "0.1.0";
constexpr const char* kSpecVersion = "1.0.2";

const char* kUsage =
    "usage: berth-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  create [--bundle|-b DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N] ID\n"
    "  start ID\n"
    "  run [--bundle|-b DIR] [--pid-file F] [--console-socket S] [--detach|-d] [--no-pivot] ID\n"
    "  state ID\n"
    "  kill [--all|-a] ID [SIGNAL]\n"
    "  delete [--force|-f] ID\n"
    "  list [--quiet|-q] [--format table|json]\n"
    "  exec [--process|-p F] [-d] [-t] [--console-socket S] [--pid-file F] [--cwd D] [-e K=V]...\n"
    "       [-u UID[:GID]] [-g GID]... [--cap CAP]... [--no-new-privs] [--preserve-fds N] ID [COMMAND...]\n"
    "  pause ID | resume ID\n"
    "  ps [--format table|json] ID [ps options]\n"
    "  update [-r resources.json|-] [--memory N] [--memory-swap N] [--memory-reservation N] [--cpu-share N]\n"
    "         [--cpu-quota N] [--cpu-period N] [--cpuset-cpus L] [--cpuset-mems L] [--pids-limit N]\n"
    "         [--blkio-weight N] ID\n"
    "  events [--stats] [--interval 5s] ID\n"
    "  features\n"
    "  spec [--bundle|-b DIR] [--rootless]\n";

// Where errors go: stderr always, and the --log file in its format.
struct LogSink {
  FILE* file = nullptr;
  bool json = false;
  bool debug = false;

  void write(const char* level, const std::string& msg) const {
    if (!file) return;
    std::string t = berth::timeutil::rfc3339_nano(berth::timeutil::now_unix_nano());
    std::string line;
    if (json) {
      line = berth::OrderedJson{{"level", level}, {"msg", msg}, {"time", t}}.dump() + "\n";
    } else {
      line = "time=\"" + t + "\" level=" + level + " msg=" + berth::Json(msg).dump() + "\n";
    }
    std::fwrite(line.data(), 1, line.size(), file);
    std::fflush(file);
  }
  int fail(const std::string& msg) const {
    std::fprintf(stderr, "berth-runtime: %s\n", msg.c_str());
    write("error", msg);
    return 1;
  }
  void dbg(const std::string& msg) const {
    if (debug) write("debug", msg);
  }
};

// Minimal flag parser: "--name value", "--name=value", "-n value", boolean
// flags, and "--" to end options. Unknown flags are errors.
struct FlagSpec {
  std::vector<std::string> names;
  bool takes_value;
  bool repeat = false;  // every occurrence is kept (--env A --env B)
};

struct Parsed {
  std::map<std::string, std::string> values;  // canonical (first) name -> value ("true" for bools)
  std::map<std::string, std::vector<std::string>> lists;  // repeatable flags
  std::vector<std::string> positional;
  bool has(const std::string& n) const { return values.count(n) != 0; }
  std::vector<std::string> all(const std::string& n) const {
    auto it = lists.find(n);
    return it == lists.end() ? std::vector<std::string>{} : it->second;
  }
  std::string get(const std::string& n, std::string def = "") const {
    auto it = values.find(n);
    return it == values.end() ? def : it->second;
  }
};

// stop_at_positional: everything from the first positional on is
// positional (exec's COMMAND args, ps's options), as Go's flag package does.
Result<Parsed> parse_flags(const std::vector<std::string>& args, size_t start,
                           const std::vector<FlagSpec>& specs, const std::string& cmd,
                           bool stop_at_positional = false) {
  Parsed out;
  for (size_t i = start; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      for (++i; i < args.size(); ++i) out.positional.push_back(args[i]);
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      if (stop_at_positional) {
        for (; i < args.size(); ++i) out.positional.push_back(args[i]);
        break;
      }
      out.positional.push_back(a);
      continue;
    }
    std::string name = a, value;
    bool inline_value = false;
    if (auto eq = a.find('='); eq != std::string::npos && a[1] == '-') {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs)
      for (const auto& n : s.names)
        if (n == name) spec = &s;
    if (!spec) return make_error(Errc::invalid, cmd + ": unknown flag " + name);
    if (spec->takes_value) {
      if (!inline_value) {
        if (i + 1 >= args.size()) return make_error(Errc::invalid, cmd + ": flag " + name + " needs a value");
        value = args[++i];
      }
    } else if (inline_value) {
      if (value != "true" && value != "false")
        return make_error(Errc::invalid, cmd + ": flag " + name + " takes true or false");
      if (value == "false") continue;
      value = "true";
    } else {
      value = "true";
    }
    out.values[spec->names[0]] = value;
    if (spec->repeat) out.lists[spec->names[0]].push_back(value);
  }
  return out;
}

Result<std::string> one_id(const Parsed& p, const std::string& cmd) {
  if (p.positional.size() != 1)
    return make_error(Errc::invalid, cmd + ": expected exactly one container id");
  return p.positional[0];
}

Result<berth::runtime::CreateOptions> create_options(const Parsed& p, const std::string& cmd) {
  berth::runtime::CreateOptions o;
  o.id = BERTH_TRY(one_id(p, cmd));
  o.bundle = p.get("--bundle", ".");
  o.pid_file = p.get("--pid-file");
  if (!o.pid_file.empty() && o.pid_file[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd)) o.pid_file = std::string(cwd) + "/" + o.pid_file;
  }
  o.console_socket = p.get("--console-socket");
  o.no_pivot = p.has("--no-pivot");
  if (p.has("--preserve-fds")) {
    auto n = berth::str::parse_int(p.get("--preserve-fds"));
    if (!n || *n < 0 || *n > 1024) return make_error(Errc::invalid, cmd + ": invalid --preserve-fds");
    o.preserve_fds = static_cast<int>(*n);
  }
  return o;
}

const std::vector<FlagSpec> kCreateFlags = {
    {{"--bundle", "-b"}, true},        {{"--pid-file"}, true},     {{"--console-socket"}, true},
    {{"--no-pivot"}, false},           {{"--no-new-keyring"}, false}, {{"--preserve-fds"}, true},
};

// The state dir owner's user name from /etc/passwd (no NSS: the binary is static).
std::string owner_name(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "";
  std::string uid = std::to_string(st.st_uid);
  if (auto pw = berth::fs::read_file("/etc/passwd")) {
    for (const auto& line : berth::str::split(*pw, '\n')) {
      auto f = berth::str::split(line, ':');
      if (f.size() > 2 && f[2] == uid) return f[0];
    }
  }
  return uid;
}

std::string pad(const std::string& s, size_t w) { return s.size() >= w ? s : s + std::string(w - s.size(), ' '); }

int cmd_list(berth::runtime::Runtime& rt, const Parsed& p, const LogSink& log) {
  auto entries = rt.list();
  if (!entries) return log.fail(entries.error().msg);
  std::string format = p.get("--format", "table");
  if (p.has("--quiet")) {
    for (const auto& e : *entries) std::printf("%s\n", e.state.id.c_str());
    return 0;
  }
  if (format == "json") {
    berth::OrderedJson arr = berth::OrderedJson::array();
    for (const auto& e : *entries) arr.push_back(berth::runtime::oci_state_json(e.state, e.status));
    std::printf("%s\n", arr.dump().c_str());
    return 0;
  }
  if (format != "table") return log.fail("list: invalid --format \"" + format + "\" (table or json)");
  std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (const auto& e : *entries) {
    std::string owner = owner_name(p.get("--root-dir") + "/" + e.state.id);
    int pid = e.status == berth::runtime::ContainerStatus::stopped ? 0 : e.state.pid;
    rows.push_back({e.state.id, std::to_string(pid), berth::runtime::status_name(e.status), e.state.bundle,
                    e.state.created, owner});
  }
  // text/tabwriter(minwidth 12, padding 3) as runc uses.
  std::vector<size_t> w(6, 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], std::max<size_t>(12, r[i].size() + 3));
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) line += i + 1 < r.size() ? pad(r[i], w[i]) : r[i];
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

std::vector<std::string> split_ws(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string join_args(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& a : v) out += (out.empty() ? "" : " ") + a;
  return out;
}

// Docker/runc memory sizes: "512", "64k", "512m", "1g" (binary units, an
// optional trailing b); -1 means unlimited.
Result<int64_t> parse_bytes(const std::string& flag, std::string v) {
  auto bad = [&] { return make_error(Errc::invalid, "invalid value \"" + v + "\" for flag " + flag); };
  if (v == "-1") return int64_t{-1};
  std::string lower = berth::str::to_lower(v);
  if (!lower.empty() && lower.back() == 'b') lower.pop_back();
  int64_t mult = 1;
  if (!lower.empty()) {
    switch (lower.back()) {
      case 'k': mult = 1LL << 10; break;
      case 'm': mult = 1LL << 20; break;
      case 'g': mult = 1LL << 30; break;
      case 't': mult = 1LL << 40; break;
      default: break;
    }
    if (mult != 1) lower.pop_back();
  }
  auto n = berth::str::parse_int(lower);
  if (!n || *n < 0 || *n > INT64_MAX / mult) return bad();
  return *n * mult;
}

Result<int64_t> parse_num(const std::string& flag, const std::string& v) {
  auto n = berth::str::parse_int(v);
  if (!n) return make_error(Errc::invalid, "invalid value \"" + v + "\" for flag " + flag);
  return *n;
}

// Go durations as runc's --interval takes them: "5s", "250ms", "1m", "1m30s".
Result<int64_t> parse_duration_ms(const std::string& v) {
  int64_t total = 0;
  size_t i = 0;
  if (v.empty()) return make_error(Errc::invalid, "invalid duration \"\"");
  while (i < v.size()) {
    size_t j = i;
    while (j < v.size() && (std::isdigit(static_cast<unsigned char>(v[j])) || v[j] == '.')) ++j;
    if (j == i) return make_error(Errc::invalid, "invalid duration \"" + v + "\"");
    double num = std::strtod(v.substr(i, j - i).c_str(), nullptr);
    size_t k = j;
    while (k < v.size() && std::isalpha(static_cast<unsigned char>(v[k]))) ++k;
    std::string unit = v.substr(j, k - j);
    double ms;
    if (unit == "ms") ms = num;
    else if (unit == "s") ms = num * 1000;
    else if (unit == "m") ms = num * 60000;
    else if (unit == "h") ms = num * 3600000;
    else if (unit == "us" || unit == "µs") ms = num / 1000;
    else if (unit == "ns") ms = num / 1e6;
    else return make_error(Errc::invalid, "invalid duration \"" + v + "\"");
    total += static_cast<int64_t>(ms);
    i = k;
  }
  return total;
}

int cmd_exec(berth::runtime::Runtime& rt, const std::vector<std::string>& args, size_t i, const LogSink& log) {
  static const std::vector<FlagSpec> specs = {
      {{"--console-socket"}, true},       {{"--cwd"}, true},
      {{"--env", "-e"}, true, true},      {{"--tty", "-t"}, false},
      {{"--user", "-u"}, true},           {{"--additional-gids", "-g"}, true, true},
      {{"--process", "-p"}, true},        {{"--detach", "-d"}, false},
      {{"--pid-file"}, true},             {{"--process-label"}, true},
      {{"--apparmor"}, true},             {{"--no-new-privs"}, false},
      {{"--cap", "-c"}, true, true},      {{"--preserve-fds"}, true},
      {{"--cgroup"}, true, true},         {{"--ignore-paused"}, false},
      {{"--no-subreaper"}, false},
  };
  auto p = parse_flags(args, i + 1, specs, "exec", true);
  if (!p) return log.fail(p.error().msg);
  if (p->positional.empty()) return log.fail("exec: usage: exec [options] ID COMMAND [ARGS...] (or --process FILE)");
  if (p->has("--apparmor") && !p->get("--apparmor").empty())
    return log.fail("exec: --apparmor: AppArmor is not enabled on this host");
  if (p->has("--process-label") && !p->get("--process-label").empty())
    return log.fail("exec: --process-label: SELinux is not enabled on this host");
  if (p->has("--cgroup")) return log.fail("exec: --cgroup: sub-cgroups are not supported");
  berth::runtime::ExecOptions o;
  o.id = p->positional[0];
  o.args.assign(p->positional.begin() + 1, p->positional.end());
  o.process_file = p->get("--process");
  if (!o.process_file.empty() && !o.args.empty())
    return log.fail("exec: give either --process or a command, not both");
  o.detach = p->has("--detach");
  o.tty = p->has("--tty");
  o.console_socket = p->get("--console-socket");
  o.pid_file = p->get("--pid-file");
  if (!o.pid_file.empty() && o.pid_file[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd)) o.pid_file = std::string(cwd) + "/" + o.pid_file;
  }
  o.cwd = p->get("--cwd");
  o.user = p->get("--user");
  o.env = p->all("--env");
  o.caps = p->all("--cap");
  if (p->has("--no-new-privs")) o.no_new_privs = true;
  for (const auto& g : p->all("--additional-gids")) {
    auto n = berth::str::parse_int(g);
    if (!n || *n < 0 || *n > UINT32_MAX) return log.fail("exec: invalid --additional-gids \"" + g + "\"");
    o.additional_gids.push_back(static_cast<uint32_t>(*n));
  }
  if (p->has("--preserve-fds")) {
    auto n = berth::str::parse_int(p->get("--preserve-fds"));
    if (!n || *n < 0 || *n > 1024) return log.fail("exec: invalid --preserve-fds");
    o.preserve_fds = static_cast<int>(*n);
  }
  auto r = rt.exec(o);
  if (!r) return log.fail(r.error().msg);
  return *r;
}

int cmd_ps(berth::runtime::Runtime& rt, const std::vector<std::string>& args, size_t i, const LogSink& log) {
  auto p = parse_flags(args, i + 1, {{{"--format", "-f"}, true}}, "ps", true);
  if (!p) return log.fail(p.error().msg);
  if (p->positional.empty()) return log.fail("ps: usage: ps [--format table|json] ID [ps options]");
  auto pids = rt.pids(p->positional[0]);
  if (!pids) return log.fail(pids.error().msg);
  std::string format = p->get("--format", "table");
  if (format == "json") {
    berth::OrderedJson arr = berth::OrderedJson::array();
    for (pid_t pid : *pids) arr.push_back(pid);
    std::printf("%s\n", arr.dump().c_str());
    return 0;
  }
  if (format != "table") return log.fail("ps: invalid format option \"" + format + "\"");
  // Like runc: run the host's ps with the given options (default -ef) and
  // keep the header plus the rows of the container's pids.
  std::vector<std::string> ps_args = {"ps"};
  if (p->positional.size() > 1)
    ps_args.insert(ps_args.end(), p->positional.begin() + 1, p->positional.end());
  else
    ps_args.push_back("-ef");
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return log.fail("ps: pipe: " + std::string(std::strerror(errno)));
  pid_t child = ::fork();
  if (child < 0) return log.fail("ps: fork: " + std::string(std::strerror(errno)));
  if (child == 0) {
    ::dup2(pipefd[1], 1);
    std::vector<char*> argv;
    for (auto& a : ps_args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp("ps", argv.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int ws = 0;
  ::waitpid(child, &ws, 0);
  if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) return log.fail("ps: running ps " + join_args(ps_args) + " failed");
  auto lines = berth::str::split(out, '\n');
  if (lines.empty()) return 0;
  auto header = split_ws(lines[0]);
  int col = -1;
  for (size_t k = 0; k < header.size(); ++k)
    if (header[k] == "PID") col = static_cast<int>(k);
  if (col < 0) return log.fail("ps: couldn't find PID field in ps output");
  std::set<pid_t> want(pids->begin(), pids->end());
  std::printf("%s\n", lines[0].c_str());
  for (size_t k = 1; k < lines.size(); ++k) {
    auto f = split_ws(lines[k]);
    if (static_cast<int>(f.size()) <= col) continue;
    auto n = berth::str::parse_int(f[static_cast<size_t>(col)]);
    if (n && want.count(static_cast<pid_t>(*n))) std::printf("%s\n", lines[k].c_str());
  }
  return 0;
}

int cmd_update(berth::runtime::Runtime& rt, const std::vector<std::string>& args, size_t i, const LogSink& log) {
  static const std::vector<FlagSpec> specs = {
      {{"--resources", "-r"}, true}, {{"--blkio-weight"}, true},   {{"--cpu-period"}, true},
      {{"--cpu-quota"}, true},       {{"--cpu-share"}, true},      {{"--cpu-rt-period"}, true},
      {{"--cpu-rt-runtime"}, true},  {{"--cpuset-cpus"}, true},    {{"--cpuset-mems"}, true},
      {{"--kernel-memory"}, true},   {{"--kernel-memory-tcp"}, true}, {{"--memory"}, true},
      {{"--memory-reservation"}, true}, {{"--memory-swap"}, true}, {{"--pids-limit"}, true},
      {{"--l3-cache-schema"}, true}, {{"--mem-bw-schema"}, true},
  };
  auto p = parse_flags(args, i + 1, specs, "update");
  if (!p) return log.fail(p.error().msg);
  if (p->positional.size() != 1) return log.fail("update: expected exactly one container id");
  berth::oci::Resources r;
  if (p->has("--resources")) {
    std::string f = p->get("--resources");
    auto text = berth::fs::read_file(f == "-" ? "/dev/stdin" : f);
    if (!text) return log.fail("update: --resources: " + text.error().msg);
    auto j = berth::parse_json(*text);
    if (!j) return log.fail("update: --resources: invalid JSON");
    auto parsed = berth::oci::parse_resources_json(*j);
    if (!parsed) return log.fail("update: " + parsed.error().msg);
    r = std::move(*parsed);
  }
  for (const char* f : {"--cpu-rt-period", "--cpu-rt-runtime", "--kernel-memory", "--kernel-memory-tcp",
                        "--l3-cache-schema", "--mem-bw-schema"})
    if (p->has(f)) return log.fail(std::string("update: ") + f + " is not supported by berth-runtime");
  auto mem = [&]() -> berth::oci::MemoryResources& {
    if (!r.memory) r.memory.emplace();
    return *r.memory;
  };
  auto cpu = [&]() -> berth::oci::CpuResources& {
    if (!r.cpu) r.cpu.emplace();
    return *r.cpu;
  };
  for (const char* f : {"--memory", "--memory-reservation", "--memory-swap"}) {
    if (!p->has(f)) continue;
    auto v = parse_bytes(f, p->get(f));
    if (!v) return log.fail("update: " + v.error().msg);
    std::string name = f;
    if (name == "--memory") mem().limit = *v;
    else if (name == "--memory-reservation") mem().reservation = *v;
    else mem().swap = *v;
  }
  for (const char* f : {"--cpu-period", "--cpu-quota", "--cpu-share", "--pids-limit", "--blkio-weight"}) {
    if (!p->has(f)) continue;
    auto v = parse_num(f, p->get(f));
    if (!v) return log.fail("update: " + v.error().msg);
    std::string name = f;
    if (name == "--cpu-quota") {
      cpu().quota = *v;
    } else if (name == "--pids-limit") {
      r.pids_limit = *v;
    } else {
      if (*v < 0) return log.fail("update: invalid value for " + name);
      if (name == "--cpu-period") cpu().period = static_cast<uint64_t>(*v);
      else if (name == "--cpu-share") cpu().shares = static_cast<uint64_t>(*v);
      else {
        if (*v > 1000) return log.fail("update: --blkio-weight must be between 10 and 1000");
        r.blkio_weight = static_cast<uint16_t>(*v);
      }
    }
  }
  if (p->has("--cpuset-cpus")) cpu().cpus = p->get("--cpuset-cpus");
  if (p->has("--cpuset-mems")) cpu().mems = p->get("--cpuset-mems");
  auto u = rt.update(p->positional[0], r);
  return u ? 0 : log.fail(u.error().msg);
}

int cmd_events(berth::runtime::Runtime& rt, const std::vector<std::string>& args, size_t i, const LogSink& log) {
  auto p = parse_flags(args, i + 1, {{{"--stats"}, false}, {{"--interval"}, true}}, "events");
  if (!p) return log.fail(p.error().msg);
  if (p->positional.size() != 1) return log.fail("events: expected exactly one container id");
  const std::string id = p->positional[0];
  int64_t interval_ms = 5000;
  if (p->has("--interval")) {
    auto d = parse_duration_ms(p->get("--interval"));
    if (!d) return log.fail("events: --interval: " + d.error().msg);
    if (*d <= 0) return log.fail("events: --interval must be greater than 0");
    interval_ms = *d;
  }
  if (p->has("--stats")) {
    auto st = rt.stats(id);
    if (!st) return log.fail(st.error().msg);
    std::printf("%s\n", st->dump().c_str());
    return 0;
  }
  // Stream, as runc: a stats event every interval and an oom event each time
  // the cgroup's OOM-kill counter rises (checked every 100 ms), until the
  // container stops (a last OOM check first: the kill may be what stopped it).
  auto oom_base = rt.oom_kills(id);
  if (!oom_base) return log.fail(oom_base.error().msg);
  uint64_t ooms = *oom_base;
  auto check_oom = [&] {
    auto n = rt.oom_kills(id);
    if (n && *n > ooms) {
      for (; ooms < *n; ++ooms) std::printf("%s\n", berth::OrderedJson{{"type", "oom"}, {"id", id}}.dump().c_str());
      std::fflush(stdout);
    }
  };
  int64_t next_stats = 0;
  for (int64_t now = 0;; now += 100) {
    check_oom();
    auto state = rt.state(id);
    if (!state || (*state)["status"] == "stopped") {
      timespec ts{0, 100 * 1000000L};  // the counter can trail the exit
      ::nanosleep(&ts, nullptr);
      check_oom();
      return 0;
    }
    if (now >= next_stats) {
      auto st = rt.stats(id);
      if (st) {
        std::printf("%s\n", st->dump().c_str());
        std::fflush(stdout);
      }
      next_stats = now + interval_ms;
    }
    timespec ts{0, 100 * 1000000L};
    ::nanosleep(&ts, nullptr);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  std::string root = "/run/berth-runtime";
  std::string log_path, log_format = "text";
  bool debug = false;
  size_t i = 1;
  LogSink log;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.empty() || a[0] != '-') break;
    std::string name = a, value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    auto need = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= args.size()) return false;
      value = args[++i];
      return true;
    };
    if (name == "--root") {
      if (!need()) return log.fail("--root needs a value");
      root = value;
    } else if (name == "--log") {
      if (!need()) return log.fail("--log needs a value");
      log_path = value;
    } else if (name == "--log-format") {
      if (!need()) return log.fail("--log-format needs a value");
      if (value != "text" && value != "json") return log.fail("invalid --log-format \"" + value + "\" (text or json)");
      log_format = value;
    } else if (name == "--debug") {
      debug = !has_value || value == "true";
    } else if (name == "--systemd-cgroup") {
      if (!has_value || value == "true") return log.fail("--systemd-cgroup is not supported (cgroupfs only)");
    } else if (name == "--version" || name == "-v") {
      std::printf("berth-runtime version %s\nspec: %s\n", kVersion, kSpecVersion);
      return 0;
    } else if (name == "--help" || name == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      return log.fail("unknown global flag " + name);
    }
  }
  if (!log_path.empty()) {
    log.file = std::fopen(log_path.c_str(), "ae");
    if (!log.file) return log.fail("open --log " + log_path + ": " + std::strerror(errno));
  }
  log.json = log_format == "json";
  log.debug = debug;
  if (i >= args.size()) {
    std::fputs(kUsage, stderr);
    return 1;
  }
  if (!root.empty() && root[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd)) root = std::string(cwd) + "/" + root;
  }
  const std::string cmd = args[i];
  // The commands that start container processes run from a sealed memfd
  // copy of this binary (CVE-2019-5736): re-exec once, before any work.
  if ((cmd == "create" || cmd == "run" || cmd == "exec") && !berth::sys::running_from_sealed_copy()) {
    auto r = berth::sys::reexec_from_sealed_copy(argv, environ);
    return log.fail(r.error().msg);
  }
  berth::runtime::Runtime rt(root);
  log.dbg("command " + cmd);

  auto parse = [&](const std::vector<FlagSpec>& specs) { return parse_flags(args, i + 1, specs, cmd); };

  if (cmd == "create") {
    auto p = parse(kCreateFlags);
    if (!p) return log.fail(p.error().msg);
    auto o = create_options(*p, cmd);
    if (!o) return log.fail(o.error().msg);
    auto r = rt.create(*o);
    if (!r) return log.fail(r.error().msg);
    log.dbg("created " + o->id + " pid " + std::to_string(*r));
    return 0;
  }
  if (cmd == "run") {
    auto specs = kCreateFlags;
    specs.push_back({{"--detach", "-d"}, false});
    auto p = parse(specs);
    if (!p) return log.fail(p.error().msg);
    auto o = create_options(*p, cmd);
    if (!o) return log.fail(o.error().msg);
    auto r = rt.run(*o, p->has("--detach"));
    if (!r) return log.fail(r.error().msg);
    return *r;
  }
  if (cmd == "start" || cmd == "state") {
    auto p = parse({});
    if (!p) return log.fail(p.error().msg);
    auto id = one_id(*p, cmd);
    if (!id) return log.fail(id.error().msg);
    if (cmd == "start") {
      auto r = rt.start(*id);
      return r ? 0 : log.fail(r.error().msg);
    }
    auto r = rt.state(*id);
    if (!r) return log.fail(r.error().msg);
    std::printf("%s\n", r->dump(2).c_str());
    return 0;
  }
  if (cmd == "kill") {
    auto p = parse({{{"--all", "-a"}, false}});
    if (!p) return log.fail(p.error().msg);
    if (p->positional.empty() || p->positional.size() > 2)
      return log.fail("kill: usage: kill [--all] ID [SIGNAL]");
    auto sig = berth::parse_signal(p->positional.size() == 2 ? p->positional[1] : "TERM");
    if (!sig) return log.fail(sig.error().msg);
    auto r = rt.kill(p->positional[0], *sig, p->has("--all"));
    return r ? 0 : log.fail(r.error().msg);
  }
  if (cmd == "delete") {
    auto p = parse({{{"--force", "-f"}, false}});
    if (!p) return log.fail(p.error().msg);
    auto id = one_id(*p, cmd);
    if (!id) return log.fail(id.error().msg);
    auto r = rt.remove(*id, p->has("--force"));
    return r ? 0 : log.fail(r.error().msg);
  }
  if (cmd == "list" || cmd == "ls") {
    auto p = parse({{{"--quiet", "-q"}, false}, {{"--format", "-f"}, true}});
    if (!p) return log.fail(p.error().msg);
    if (!p->positional.empty()) return log.fail("list: unexpected argument " + p->positional[0]);
    p->values["--root-dir"] = root;
    return cmd_list(rt, *p, log);
  }
  if (cmd == "spec") {
    auto p = parse({{{"--bundle", "-b"}, true}, {{"--rootless"}, false}});
    if (!p) return log.fail(p.error().msg);
    std::string path = p->get("--bundle", ".") + "/config.json";
    if (berth::fs::exists(path)) return log.fail("File " + path + " exists. Remove it first");
    auto spec = berth::runtime::default_spec(false);
    if (p->has("--rootless")) berth::runtime::make_rootless(spec, ::getuid(), ::getgid());
    auto w = berth::fs::write_file_atomic(path, spec.dump(2) + "\n", berth::fs::Durability::none, 0644);
    return w ? 0 : log.fail(w.error().msg);
  }
  if (cmd == "exec") return cmd_exec(rt, args, i, log);
  if (cmd == "ps") return cmd_ps(rt, args, i, log);
  if (cmd == "update") return cmd_update(rt, args, i, log);
  if (cmd == "events") return cmd_events(rt, args, i, log);
  if (cmd == "pause" || cmd == "resume") {
    auto p = parse({});
    if (!p) return log.fail(p.error().msg);
    auto id = one_id(*p, cmd);
    if (!id) return log.fail(id.error().msg);
    auto r = cmd == "pause" ? rt.pause(*id) : rt.resume(*id);
    return r ? 0 : log.fail(r.error().msg);
  }
  if (cmd == "features") {
    auto p = parse({});
    if (!p) return log.fail(p.error().msg);
    std::printf("%s\n", berth::runtime::features_json().dump(4).c_str());
    return 0;
  }
  return log.fail("unknown command \"" + cmd + "\"\n" + kUsage);
}
