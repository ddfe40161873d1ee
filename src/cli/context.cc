#include "cli/context.h"

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
    o.user_agent = "berth/" BERTH_VERSION;
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

int Context::help(const CommandSpec& spec, const FlagSet& flags) {
  out << "\nUsage:  " << prog << " " << spec.usage << "\n\n" << spec.short_help << "\n\nOptions:\n" << flags.usages();
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
