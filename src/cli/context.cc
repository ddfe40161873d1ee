#include "cli/context.h"
#include "cli/version_info.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>

namespace berth::cli {

void Output::flush() {
  size_t off = 0;
  while (off < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EPIPE etc.: nothing sensible left to do with the output
    }
    off += static_cast<size_t>(n);
  }
  buf_.clear();
}

std::optional<std::string> Context::env(const std::string& name) const {
  if (getenv) return getenv(name);
  const char* v = ::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

Result<client::Client*> Context::api() {
  if (!client_) {
    client::Client::Options o;
    o.host = host;
    o.user_agent = std::string("berth/") + kBerthVersion;
    if (debug) o.trace = [this](std::string_view s) { err << "DEBU[api] " << s << "\n"; err.flush(); };
    client_.emplace(BERTH_TRY(client::Client::create(std::move(o))));
  }
  return &*client_;
}

Result<Json> Context::call_json(const client::Request& req) {
  auto* c = BERTH_TRY(api());
  auto r = BERTH_TRY(c->request(req));
  return r.json();
}

int Context::flag_error(const CommandSpec& spec, const Error& e) {
  out.flush();
  err << e.msg << "\n\nUsage:  " << prog << " " << spec.usage << "\n\nRun '" << prog << " " << spec.name
      << " --help' for more information\n";
  err.flush();
  return 125;
}

int Context::args_error(const CommandSpec& spec, std::string_view kind, int n) {
  std::string what;
  std::string noun = n == 1 ? "argument" : "arguments";
  std::string hint = "Run";
  if (kind == "none") {
    what = "accepts no arguments";
  } else if (kind == "at least") {
    what = "requires at least " + std::to_string(n) + " " + noun;
    hint = "See";
  } else if (kind == "at most") {
    what = "requires at most " + std::to_string(n) + " " + noun;
  } else {
    what = "requires " + std::to_string(n) + " " + noun;
  }
  out.flush();
  err << prog << ": '" << prog << " " << spec.name << "' " << what << "\n\nUsage:  " << prog << " " << spec.usage
      << "\n\n" << hint << " '" << prog << " " << spec.name << " --help' for more information\n";
  err.flush();
  return 1;
}

namespace {

std::string_view command_aliases(std::string_view name) {
  // docker CLI 28's "Aliases:" lines (cobra's aliases annotation), by the
  // command's name here; berth's own spellings follow docker's.
  struct A {
    std::string_view name, aliases;
  };
  static constexpr A kTable[] = {
      {"run", "container run, run"},
      {"create", "container create, create"},
      {"cp", "container cp, cp"},
      {"export", "container export, export"},
      {"diff", "container diff, diff"},
      {"ps", "container ls, container list, container ps, ps"},
      {"logs", "container logs, logs"},
      {"rm", "container rm, container remove, rm"},
      {"start", "container start, start"},
      {"stop", "container stop, stop"},
      {"restart", "container restart, restart"},
      {"kill", "container kill, kill"},
      {"wait", "container wait, wait"},
      {"attach", "container attach, attach"},
      {"images", "image ls, image list, images"},
      {"import", "image import, import"},
      {"info", "system info, info"},
      {"exec", "container exec, exec"},
      {"pause", "container pause, pause"},
      {"unpause", "container unpause, unpause"},
      {"rename", "container rename, rename"},
      {"top", "container top, top"},
      {"port", "container port, port"},
      {"update", "container update, update"},
      {"stats", "container stats, stats"},
      {"pull", "image pull, pull"},
      {"push", "image push, push"},
      {"tag", "image tag, tag"},
      {"rmi", "image rm, image remove, rmi"},
      {"save", "image save, save"},
      {"load", "image load, load"},
      {"commit", "container commit, commit"},
      {"history", "image history, history"},
      {"events", "system events, events"},
      {"network ls", "network ls, network list"},
      {"network rm", "network rm, network remove"},
      {"volume ls", "volume ls, volume list"},
      {"volume rm", "volume rm, volume remove"},
  };
  for (const auto& a : kTable)
    if (a.name == name) return a.aliases;
  return {};
}

}  // namespace

int Context::help(const CommandSpec& spec, const FlagSet& flags) {
  // docker CLI 28's layout: Usage (the path as typed), the description,
  // Aliases (each spelling with the program's name), Options.
  // Typed as a management command ("container list"), the Usage line shows
  // that group's first spelling ("container ls"), as cobra's command name.
  std::string_view usage = spec.usage;
  std::string_view aliases = command_aliases(spec.name);
  std::string shown(usage);
  if (auto sp = invoked.find(' '); sp != std::string::npos && usage.substr(0, spec.name.size()) == spec.name) {
    std::string group = invoked.substr(0, sp + 1);
    if (auto at = aliases.find(group); at != std::string_view::npos && (at == 0 || aliases[at - 1] == ' ')) {
      std::string_view canonical = aliases.substr(at, aliases.find(',', at) - at);
      shown = std::string(canonical) + std::string(usage.substr(spec.name.size()));
    }
  }
  out << "Usage:  " << prog << " " << shown << "\n\n" << (spec.long_help.empty() ? spec.short_help : spec.long_help) << "\n";
  if (!aliases.empty()) {
    out << "\nAliases:\n  ";
    size_t start = 0;
    for (;;) {
      size_t comma = aliases.find(", ", start);
      out << prog << " " << aliases.substr(start, comma == std::string_view::npos ? comma : comma - start);
      if (comma == std::string_view::npos) break;
      out << ", ";
      start = comma + 2;
    }
    out << "\n";
  }
  if (std::string opts = flags.usages(); !opts.empty()) out << "\nOptions:\n" << opts;  // none: no section
  out.flush();
  return 0;
}

int Context::fail(std::string_view msg, int code) {
  out.flush();
  err << msg << "\n";
  err.flush();
  return code;
}

std::optional<int> parse_flags(Context& ctx, const CommandSpec& spec, FlagSet& flags,
                               const std::vector<std::string>& args) {
  if (!flags.has("help")) {
    flags.add_bool("help", 0, "Print usage");
    flags.hide("help");
  }
  auto st = flags.parse(args);
  // --help wins over other flag errors only when it was seen before them, as
  // cobra does; checking it after a successful parse is the common case.
  if (!st) return ctx.flag_error(spec, st.error());
  if (flags.get_bool("help")) return ctx.help(spec, flags);
  return std::nullopt;
}

int64_t now_unix_nano() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

}  // namespace berth::cli
