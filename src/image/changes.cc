#include "image/changes.h"

#include <cctype>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "common/strings.h"

namespace berth::image {

namespace {

Error invalid(std::string msg) { return make_error(Errc::invalid, std::move(msg)); }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Split on unquoted whitespace; quotes and backslashes stay in the words.
std::vector<std::string> raw_words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  char quote = 0;
  bool in_word = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      cur += c;
      if (c == '\\' && quote == '"' && i + 1 < s.size()) cur += s[++i];
      else if (c == quote) quote = 0;
      continue;
    }
    if (is_space(c)) {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    cur += c;
    if (c == '\\' && i + 1 < s.size()) cur += s[++i];
    else if (c == '"' || c == '\'') quote = c;
  }
  if (in_word) out.push_back(std::move(cur));
  return out;
}

// Remove quotes and backslash escapes as the Dockerfile word lexer does.
std::string unquote(std::string_view s) {
  std::string out;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote == '\'') {
      if (c == '\'') quote = 0;
      else out += c;
    } else if (quote == '"') {
      if (c == '"') quote = 0;
      else if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '$'))
        out += s[++i];
      else out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '\\' && i + 1 < s.size()) {
      out += s[++i];
    } else {
      out += c;
    }
  }
  return out;
}

// ENV/LABEL arguments: "k=v k2=\"v 2\"" or the legacy "k v w".
Result<std::vector<std::pair<std::string, std::string>>> name_values(std::string_view instr,
                                                                      std::string_view args) {
  std::vector<std::pair<std::string, std::string>> out;
  auto words = raw_words(args);
  if (words.empty()) return invalid(std::string(instr) + " requires at least one argument");
  if (words[0].find('=') == std::string::npos) {
    // Legacy form: the first word is the name, the rest of the line the value.
    std::string_view rest = str::trim(args);
    size_t sp = 0;
    while (sp < rest.size() && !is_space(rest[sp])) ++sp;
    std::string_view value = str::trim(rest.substr(sp));
    if (value.empty()) return invalid(std::string(instr) + " must have two arguments");
    out.emplace_back(unquote(words[0]), std::string(value));
    return out;
  }
  for (const auto& w : words) {
    auto eq = w.find('=');
    if (eq == std::string::npos)
      return invalid("Syntax error - can't find = in \"" + w + "\". Must be of the form: name=value");
    std::string key = unquote(w.substr(0, eq));
    if (key.empty()) return invalid(std::string(instr) + " names can not be blank");
    out.emplace_back(std::move(key), unquote(w.substr(eq + 1)));
  }
  return out;
}

// JSON array of strings (exec form), or nullopt for shell form.
std::optional<std::vector<std::string>> json_array(std::string_view args) {
  std::string_view t = str::trim(args);
  if (t.empty() || t.front() != '[') return std::nullopt;
  auto j = parse_json(t);
  if (!j || !j->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& e : *j) {
    if (!e.is_string()) return std::nullopt;
    out.push_back(e.get<std::string>());
  }
  return out;
}

Json command(std::string_view args) {
  if (auto a = json_array(args)) return Json(*a);
  return Json::array({"/bin/sh", "-c", std::string(str::trim(args))});
}

Result<std::vector<std::string>> expose_ports(std::string_view spec) {
  std::string s(spec);
  std::string proto = "tcp";
  auto slash = s.find('/');
  if (slash != std::string::npos) {
    proto = str::to_lower(s.substr(slash + 1));
    s = s.substr(0, slash);
    if (proto != "tcp" && proto != "udp" && proto != "sctp") return invalid("Invalid proto: " + proto);
  }
  // An "ip:hostport:containerport" spec exposes the container port.
  if (auto c = s.rfind(':'); c != std::string::npos) s = s.substr(c + 1);
  auto dash = s.find('-');
  auto lo = str::parse_int(s.substr(0, dash));
  auto hi = dash == std::string::npos ? lo : str::parse_int(s.substr(dash + 1));
  if (!lo || *lo < 0 || *lo > 65535) return invalid("Invalid containerPort: " + std::string(spec));
  if (!hi || *hi < 0 || *hi > 65535 || *hi < *lo)
    return invalid("Invalid range format for --expose: " + std::string(spec));
  std::vector<std::string> out;
  for (int64_t p = *lo; p <= *hi; ++p) out.push_back(std::to_string(p) + "/" + proto);
  return out;
}

bool valid_signal(std::string_view s) {
  if (auto n = str::parse_int(s)) return *n >= 1 && *n <= 64;
  std::string u;
  for (char c : s) u += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (u.rfind("SIG", 0) == 0) u = u.substr(3);
  static const std::set<std::string> kNames = {
      "ABRT", "ALRM", "BUS",  "CHLD", "CLD",    "CONT", "FPE",  "HUP",  "ILL",   "INT",  "IO",
      "IOT",  "KILL", "PIPE", "POLL", "PROF",   "PWR",  "QUIT", "SEGV", "STKFLT", "STOP", "SYS",
      "TERM", "TRAP", "TSTP", "TTIN", "TTOU",   "URG",  "USR1", "USR2", "VTALRM", "WINCH", "XCPU",
      "XFSZ", "UNUSED"};
  if (kNames.count(u)) return true;
  if (u.rfind("RTMIN", 0) == 0 || u.rfind("RTMAX", 0) == 0) {
    std::string rest = u.substr(5);
    if (rest.empty()) return true;
    auto n = str::parse_int(rest);
    return n && *n >= -15 && *n <= 15;
  }
  return false;
}

// filepath.Clean for absolute paths.
std::string clean_abs(std::string_view p) {
  std::vector<std::string> parts;
  for (auto& c : str::split(p, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  std::string out;
  for (auto& c : parts) out += "/" + c;
  return out.empty() ? "/" : out;
}

// A Go duration ("30s", "1m30s", "100ms") → nanoseconds.
std::optional<int64_t> go_duration(std::string_view d) {
  if (d.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < d.size()) {
    size_t j = i;
    while (j < d.size() && (std::isdigit(static_cast<unsigned char>(d[j])) || d[j] == '.')) ++j;
    if (j == i) return std::nullopt;
    double n = std::strtod(std::string(d.substr(i, j - i)).c_str(), nullptr);
    size_t k = j;
    while (k < d.size() && std::isalpha(static_cast<unsigned char>(d[k]))) ++k;
    std::string_view u = d.substr(j, k - j);
    double unit = u == "ns" ? 1 : u == "us" ? 1e3 : u == "ms" ? 1e6 : u == "s" ? 1e9 : u == "m" ? 60e9 : u == "h" ? 3600e9 : -1;
    if (unit < 0) return std::nullopt;
    total += static_cast<int64_t>(n * unit);
    i = k;
  }
  return total;
}

Status apply_one(std::string_view line, Json& cfg, bool& cmd_set) {
  std::string_view t = str::trim(line);
  if (t.empty()) return ok();
  size_t sp = 0;
  while (sp < t.size() && !is_space(t[sp])) ++sp;
  std::string instr = str::to_lower(t.substr(0, sp));
  std::string_view args = str::trim(t.substr(sp));
  std::string upper;
  for (char c : instr) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));

  if (instr == "cmd") {
    if (args.empty()) return invalid("CMD requires at least one argument");
    cfg["Cmd"] = command(args);
    cmd_set = true;
  } else if (instr == "entrypoint") {
    if (args.empty()) return invalid("ENTRYPOINT requires at least one argument");
    cfg["Entrypoint"] = command(args);
    // As the builder: a new ENTRYPOINT drops an inherited CMD.
    if (!cmd_set) cfg["Cmd"] = nullptr;
  } else if (instr == "env") {
    auto kvs = BERTH_TRY(name_values("ENV", args));
    Json env = cfg.contains("Env") && cfg["Env"].is_array() ? cfg["Env"] : Json::array();
    for (auto& [k, v] : kvs) {
      bool replaced = false;
      for (auto& e : env) {
        std::string s = e.is_string() ? e.get<std::string>() : "";
        if (s.substr(0, s.find('=')) == k) {
          e = k + "=" + v;
          replaced = true;
          break;
        }
      }
      if (!replaced) env.push_back(k + "=" + v);
    }
    cfg["Env"] = env;
  } else if (instr == "label") {
    auto kvs = BERTH_TRY(name_values("LABEL", args));
    Json labels = cfg.contains("Labels") && cfg["Labels"].is_object() ? cfg["Labels"] : Json::object();
    for (auto& [k, v] : kvs) labels[k] = v;
    cfg["Labels"] = labels;
  } else if (instr == "expose") {
    auto words = raw_words(args);
    if (words.empty()) return invalid("EXPOSE requires at least one argument");
    Json ports = cfg.contains("ExposedPorts") && cfg["ExposedPorts"].is_object() ? cfg["ExposedPorts"]
                                                                                  : Json::object();
    for (const auto& w : words)
      for (const auto& p : BERTH_TRY(expose_ports(unquote(w)))) ports[p] = Json::object();
    cfg["ExposedPorts"] = ports;
  } else if (instr == "user") {
    if (args.empty()) return invalid("USER requires exactly one argument");
    cfg["User"] = unquote(args);
  } else if (instr == "volume") {
    std::vector<std::string> vols;
    if (auto a = json_array(args)) {
      vols = *a;
    } else {
      for (const auto& w : raw_words(args)) vols.push_back(unquote(w));
    }
    if (vols.empty()) return invalid("VOLUME requires at least one argument");
    Json v = cfg.contains("Volumes") && cfg["Volumes"].is_object() ? cfg["Volumes"] : Json::object();
    for (const auto& p : vols) {
      if (str::trim(p).empty()) return invalid("VOLUME specified can not be an empty string");
      v[p] = Json::object();
    }
    cfg["Volumes"] = v;
  } else if (instr == "workdir") {
    std::string p = unquote(args);
    if (p.empty()) return invalid("WORKDIR requires exactly one argument");
    std::string cur = cfg.contains("WorkingDir") && cfg["WorkingDir"].is_string()
                          ? cfg["WorkingDir"].get<std::string>()
                          : "";
    cfg["WorkingDir"] = p.front() == '/' ? clean_abs(p) : clean_abs("/" + cur + "/" + p);
  } else if (instr == "stopsignal") {
    std::string sig = unquote(args);
    if (!valid_signal(sig)) return invalid("Invalid signal: " + sig);
    cfg["StopSignal"] = sig;
  } else if (instr == "healthcheck") {
    // HEALTHCHECK NONE | [--interval= --timeout= --start-period= --retries=] CMD …
    std::string_view rest = args;
    Json hc = Json::object();
    while (str::starts_with(rest, "--")) {
      size_t e = 0;
      while (e < rest.size() && !is_space(rest[e])) ++e;
      std::string flag(rest.substr(2, e - 2));
      rest = str::trim(rest.substr(e));
      auto eq = flag.find('=');
      if (eq == std::string::npos) return invalid("HEALTHCHECK flag --" + flag + " needs a value");
      std::string name = flag.substr(0, eq), val = flag.substr(eq + 1);
      if (name == "retries") {
        auto n = str::parse_int(val);
        if (!n || *n < 0) return invalid("invalid retries value: " + val);
        hc["Retries"] = *n;
        continue;
      }
      const char* key = name == "interval" ? "Interval" : name == "timeout" ? "Timeout"
                        : name == "start-period" ? "StartPeriod" : nullptr;
      if (!key) return invalid("Unknown flag: " + name);
      auto ns = go_duration(val);
      if (!ns) return invalid("time: invalid duration \"" + val + "\"");
      hc[key] = *ns;
    }
    size_t e = 0;
    while (e < rest.size() && !is_space(rest[e])) ++e;
    std::string kind = str::to_lower(rest.substr(0, e));
    std::string_view cmd = str::trim(rest.substr(e));
    if (kind == "none") {
      if (!cmd.empty()) return invalid("HEALTHCHECK NONE takes no arguments");
      hc["Test"] = Json::array({"NONE"});
    } else if (kind == "cmd") {
      if (cmd.empty()) return invalid("Missing command after HEALTHCHECK CMD");
      if (auto a = json_array(cmd)) {
        Json t = Json::array({"CMD"});
        for (const auto& x : *a) t.push_back(x);
        hc["Test"] = t;
      } else {
        hc["Test"] = Json::array({"CMD-SHELL", std::string(cmd)});
      }
    } else {
      return invalid("Unknown type \"" + std::string(rest.substr(0, e)) + "\" in HEALTHCHECK (try CMD)");
    }
    cfg["Healthcheck"] = hc;
  } else if (instr == "onbuild") {
    if (args.empty()) return invalid("ONBUILD requires at least one argument");
    size_t s2 = 0;
    while (s2 < args.size() && !is_space(args[s2])) ++s2;
    std::string trig = str::to_lower(args.substr(0, s2));
    if (trig == "onbuild") return invalid("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (trig == "from" || trig == "maintainer")
      return invalid(str::to_lower(trig) == "from" ? "FROM isn't allowed as an ONBUILD trigger"
                                                   : "MAINTAINER isn't allowed as an ONBUILD trigger");
    Json ob = cfg.contains("OnBuild") && cfg["OnBuild"].is_array() ? cfg["OnBuild"] : Json::array();
    ob.push_back(std::string(args));
    cfg["OnBuild"] = ob;
  } else {
    return invalid(instr + " is not a valid change command");
  }
  return ok();
}

}  // namespace

Json empty_container_config() {
  Json c = Json::object();
  c["Hostname"] = "";
  c["Domainname"] = "";
  c["User"] = "";
  c["AttachStdin"] = false;
  c["AttachStdout"] = false;
  c["AttachStderr"] = false;
  c["Tty"] = false;
  c["OpenStdin"] = false;
  c["StdinOnce"] = false;
  c["Env"] = nullptr;
  c["Cmd"] = nullptr;
  c["Image"] = "";
  c["Volumes"] = nullptr;
  c["WorkingDir"] = "";
  c["Entrypoint"] = nullptr;
  c["OnBuild"] = nullptr;
  c["Labels"] = nullptr;
  return c;
}

Status apply_changes(const std::vector<std::string>& changes, Json& cfg) {
  Json work = cfg.is_object() ? cfg : empty_container_config();
  bool cmd_set = false;
  for (const auto& c : changes) {
    // One change may hold several Dockerfile lines.
    for (const auto& line : str::split(c, '\n')) BERTH_TRY_VOID(apply_one(line, work, cmd_set));
  }
  cfg = std::move(work);
  return ok();
}

}  // namespace berth::image
