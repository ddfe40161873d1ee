#include "shim/options.h"

#include <unistd.h>

#include <string_view>

#include "common/fs.h"
#include "common/strings.h"

namespace berth::shim {

namespace {

std::string absolute(const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  char buf[4096];
  if (!::getcwd(buf, sizeof buf)) return p;
  return fs::join(buf, p);
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 1024) return false;
  for (char c : id) {
    bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    if (!okc) return false;
  }
  return id != "." && id != "..";
}

}  // namespace

const char* usage() {
  return "usage: berth-shim --id ID --bundle DIR --runtime PATH --runtime-root DIR\n"
         "                  --socket PATH --state-dir DIR\n"
         "                  [--log-driver json-file|none] [--log-path FILE] [--log-config FILE]\n"
         "                  [--tty] [--stdin] [--stdin-once] [--run] [--runtime-fd N]\n"
         "                  [--report-fd N]\n"
         "                  [--exec-process FILE]\n";
}

Result<Options> parse_options(int argc, const char* const* argv) {
  Options o;
  auto bad = [](std::string m) { return make_error(Errc::invalid, std::move(m)); };
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string_view name = a, value;
    bool has_value = false;
    if (auto eq = a.find('='); a.substr(0, 2) == "--" && eq != std::string_view::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    auto take = [&](std::string* dst) -> Status {
      if (!has_value) {
        if (i + 1 >= argc) return bad("flag " + std::string(name) + " needs a value");
        value = argv[++i];
      }
      *dst = std::string(value);
      return ok();
    };
    auto flag = [&](bool* dst) -> Status {
      if (has_value) return bad("flag " + std::string(name) + " takes no value");
      *dst = true;
      return ok();
    };
    if (name == "--id") {
      BERTH_TRY_VOID(take(&o.id));
    } else if (name == "--bundle") {
      BERTH_TRY_VOID(take(&o.bundle));
    } else if (name == "--runtime") {
      BERTH_TRY_VOID(take(&o.runtime));
    } else if (name == "--runtime-root") {
      BERTH_TRY_VOID(take(&o.runtime_root));
    } else if (name == "--socket") {
      BERTH_TRY_VOID(take(&o.socket));
    } else if (name == "--state-dir") {
      BERTH_TRY_VOID(take(&o.state_dir));
    } else if (name == "--log-path") {
      BERTH_TRY_VOID(take(&o.log_path));
    } else if (name == "--log-config") {
      BERTH_TRY_VOID(take(&o.log_config));
    } else if (name == "--log-driver") {
      std::string d;
      BERTH_TRY_VOID(take(&d));
      if (d == "json-file") {
        o.log_driver = LogDriverKind::json_file;
      } else if (d == "none") {
        o.log_driver = LogDriverKind::none;
      } else {
        return bad("unsupported log driver \"" + d + "\" (json-file or none)");
      }
    } else if (name == "--tty") {
      BERTH_TRY_VOID(flag(&o.tty));
    } else if (name == "--stdin") {
      BERTH_TRY_VOID(flag(&o.stdin_open));
    } else if (name == "--stdin-once") {
      BERTH_TRY_VOID(flag(&o.stdin_once));
    } else if (name == "--run") {
      BERTH_TRY_VOID(flag(&o.run_now));
    } else if (name == "--runtime-fd" || name == "--report-fd") {
      // An inherited fd above stdio.
      std::string v;
      BERTH_TRY_VOID(take(&v));
      auto n = str::parse_int(v);
      if (!n || *n < 3 || *n > 1 << 20) return bad("invalid " + std::string(name) + " \"" + v + "\"");
      (name == "--runtime-fd" ? o.runtime_fd : o.report_fd) = static_cast<int>(*n);
    } else if (name == "--exec-process") {
      BERTH_TRY_VOID(take(&o.exec_process));
    } else {
      return bad("unknown argument \"" + std::string(a) + "\"");
    }
  }
  struct Req {
    const char* flag;
    const std::string* v;
  };
  for (Req r : {Req{"--id", &o.id}, Req{"--bundle", &o.bundle}, Req{"--runtime", &o.runtime},
                Req{"--runtime-root", &o.runtime_root}, Req{"--socket", &o.socket},
                Req{"--state-dir", &o.state_dir}}) {
    if (r.v->empty()) return bad(std::string("missing required flag ") + r.flag);
  }
  if (!valid_id(o.id)) return bad("invalid container id \"" + o.id + "\"");
  if (o.log_driver == LogDriverKind::json_file && o.log_path.empty() && o.log_config.empty())
    return bad("--log-path is required with --log-driver json-file");
  if (o.stdin_once && !o.stdin_open) return bad("--stdin-once requires --stdin");
  if (o.run_now && !o.exec_process.empty()) return bad("--run and --exec-process exclude each other");
  if (o.report_fd >= 0 && o.report_fd == o.runtime_fd) return bad("--report-fd and --runtime-fd are the same fd");
  o.bundle = absolute(o.bundle);
  o.runtime_root = absolute(o.runtime_root);
  o.socket = absolute(o.socket);
  o.state_dir = absolute(o.state_dir);
  if (!o.log_path.empty()) o.log_path = absolute(o.log_path);
  if (!o.exec_process.empty()) o.exec_process = absolute(o.exec_process);
  if (!o.log_config.empty()) o.log_config = absolute(o.log_config);
  if (o.runtime.find('/') != std::string::npos) o.runtime = absolute(o.runtime);
  if (o.socket.size() >= 108)
    return bad("socket path too long for a unix socket (max 107 bytes): " + o.socket);
  return o;
}

}  // namespace berth::shim
