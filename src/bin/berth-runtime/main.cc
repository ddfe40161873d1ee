// berth-runtime: an OCI runtime with runc's command line. This file only
// parses arguments, sets up logging and calls berth::runtime::Runtime.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
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
    "  spec [--bundle|-b DIR]\n";

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
};

struct Parsed {
  std::map<std::string, std::string> values;  // canonical (first) name -> value ("true" for bools)
  std::vector<std::string> positional;
  bool has(const std::string& n) const { return values.count(n) != 0; }
  std::string get(const std::string& n, std::string def = "") const {
    auto it = values.find(n);
    return it == values.end() ? def : it->second;
  }
};

Result<Parsed> parse_flags(const std::vector<std::string>& args, size_t start,
                           const std::vector<FlagSpec>& specs, const std::string& cmd) {
  Parsed out;
  for (size_t i = start; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      for (++i; i < args.size(); ++i) out.positional.push_back(args[i]);
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
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
    if (p->has("--rootless")) return log.fail("spec: --rootless is not supported");
    std::string path = p->get("--bundle", ".") + "/config.json";
    if (berth::fs::exists(path)) return log.fail("File " + path + " exists. Remove it first");
    auto w = berth::fs::write_file_atomic(path, berth::runtime::default_spec(false).dump(2) + "\n",
                                          berth::fs::Durability::none, 0644);
    return w ? 0 : log.fail(w.error().msg);
  }
  return log.fail("unknown command \"" + cmd + "\"\n" + kUsage);
}
