// `berth rm`, `berth logs`, `berth inspect`, `berth import`.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/reference.h"
#include "cli/template.h"
#include "cli/timestamp.h"
#include "common/fs.h"
#include "common/strings.h"
#include "common/unique_fd.h"

namespace berth::cli {

namespace {

constexpr CommandSpec kRm{"rm", "rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers"};
constexpr CommandSpec kLogs{"logs", "logs [OPTIONS] CONTAINER", "Fetch the logs of a container"};
constexpr CommandSpec kInspect{"inspect", "inspect [OPTIONS] NAME|ID [NAME|ID...]",
                               "Return low-level information on Docker objects"};
constexpr CommandSpec kImport{"import", "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
                              "Import the contents from a tarball to create a filesystem image"};

}  // namespace

int cmd_rm(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_bool("force", 'f', "Force the removal of a running container (uses SIGKILL)");
  flags.add_bool("link", 'l', "Remove the specified link");
  flags.add_bool("volumes", 'v', "Remove anonymous volumes associated with the container");
  if (auto rc = parse_flags(ctx, kRm, flags, args)) return *rc;
  if (flags.args().empty()) return ctx.args_error(kRm, "at least", 1);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  api::Query q;
  if (flags.get_bool("volumes")) q.emplace_back("v", "1");
  if (flags.get_bool("link")) q.emplace_back("link", "1");
  if (flags.get_bool("force")) q.emplace_back("force", "1");
  std::vector<std::string> errs;
  for (const auto& name : flags.args()) {
    std::string n(str::trim(name));
    if (!n.empty() && n[0] == '/') n.erase(0, 1);
    if (n.empty()) {
      errs.push_back("Container name cannot be empty");
      continue;
    }
    auto r = (*api)->request(client::Request::del("/containers/" + client::path_escape(n), q));
    if (!r) {
      if (r.error().kind == Errc::unavailable) return ctx.fail(r.error().msg);
      if (flags.get_bool("force") && r.error().kind == Errc::not_found) {
        // docker reports it but does not fail with --force.
        ctx.out.flush();
        ctx.err << r.error().msg << "\n";
        ctx.err.flush();
        continue;
      }
      errs.push_back(r.error().msg);
      continue;
    }
    ctx.out << name << "\n";
  }
  ctx.out.flush();
  if (!errs.empty()) {
    std::string msg;
    for (const auto& e : errs) msg += (msg.empty() ? "" : "\n") + e;
    return ctx.fail(msg);
  }
  return 0;
}

int cmd_logs(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_bool("details", 0, "Show extra details provided to logs");
  flags.add_bool("follow", 'f', "Follow log output");
  flags.add_string("since", 0, "", "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)");
  flags.add_string("tail", 'n', "all", "Number of lines to show from the end of the logs");
  flags.add_bool("timestamps", 't', "Show timestamps");
  flags.add_string("until", 0, "", "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)");
  if (auto rc = parse_flags(ctx, kLogs, flags, args)) return *rc;
  if (flags.args().size() != 1) return ctx.args_error(kLogs, "exactly", 1);
  const std::string& name = flags.args().front();
  int64_t now = now_unix_nano();
  int64_t off = local_utc_offset(now / 1000000000LL);
  api::Query q = {{"stdout", "1"}, {"stderr", "1"}};
  if (!flags.get_string("since").empty()) {
    auto ts = get_timestamp(flags.get_string("since"), now, off);
    if (!ts) return ctx.fail("invalid value for \"since\": " + ts.error().msg);
    q.emplace_back("since", *ts);
  }
  if (!flags.get_string("until").empty()) {
    auto ts = get_timestamp(flags.get_string("until"), now, off);
    if (!ts) return ctx.fail("invalid value for \"until\": " + ts.error().msg);
    q.emplace_back("until", *ts);
  }
  if (flags.get_bool("timestamps")) q.emplace_back("timestamps", "1");
  if (flags.get_bool("details")) q.emplace_back("details", "1");
  if (flags.get_bool("follow")) q.emplace_back("follow", "1");
  q.emplace_back("tail", flags.get_string("tail"));

  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  std::string path = "/containers/" + client::path_escape(name);
  auto info = (*api)->request(client::Request::get(path + "/json"));
  if (!info) return ctx.fail(info.error().msg);
  auto j = info->json();
  if (!j) return ctx.fail(j.error().msg);
  bool tty = j->contains("Config") && (*j)["Config"].is_object() && (*j)["Config"].value("Tty", false);

  auto s = (*api)->stream(client::Request::get(path + "/logs", q));
  if (!s) return ctx.fail(s.error().msg);
  ctx.out.flush();
  api::StdcopyDecoder demux;
  Status werr = ok();
  // Frames are gathered per stream and written once per chunk read (or on
  // a switch between stdout and stderr, which keeps their order): one
  // write per log line made `berth logs` syscall-bound.
  std::string pending;
  int pending_fd = -1;
  auto flush = [&] {
    if (werr && !pending.empty()) werr = fs::write_all(pending_fd, pending);
    pending.clear();
  };
  auto sink = [&](api::StdStream st, std::string_view payload) {
    int fd = st == api::StdStream::stderr_ ? ctx.err.fd() : ctx.out.fd();
    if (fd != pending_fd || pending.size() >= (1u << 20)) flush();
    pending_fd = fd;
    pending.append(payload);
  };
  for (;;) {
    std::string chunk;
    auto more = s->read(&chunk);
    if (!more) return ctx.fail(more.error().msg);
    if (!chunk.empty()) {
      if (tty) {
        werr = fs::write_all(ctx.out.fd(), chunk);
      } else if (auto st = demux.feed(chunk, sink); !st) {
        flush();
        return ctx.fail("error from daemon in stream: " + st.error().msg);
      }
      flush();
      if (!werr) return 1;  // stdout closed: stop quietly
    }
    if (!*more) break;
  }
  return 0;
}

int cmd_inspect(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_string("format", 'f', "", "Format output using a custom template");
  flags.add_bool("size", 's', "Display total file sizes if the type is container");
  flags.add_string("type", 0, "", "Return JSON for specified type");
  if (auto rc = parse_flags(ctx, kInspect, flags, args)) return *rc;
  if (flags.args().empty()) return ctx.args_error(kInspect, "at least", 1);
  const std::string& type = flags.get_string("type");
  if (!type.empty() && type != "container" && type != "image" && type != "network" && type != "volume")
    return ctx.fail("\"" + type + "\" is not a valid value for --type");
  std::optional<Template> tmpl;
  if (!flags.get_string("format").empty()) {
    auto t = Template::parse(flags.get_string("format"));
    if (!t) return ctx.fail(t.error().msg);
    tmpl = std::move(*t);
  }
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);

  struct Kind {
    const char* type;
    std::string (*path)(const std::string&);
  };
  static constexpr Kind kKinds[] = {
      {"container", [](const std::string& n) { return "/containers/" + client::path_escape(n) + "/json"; }},
      {"image", [](const std::string& n) { return "/images/" + client::path_escape(n) + "/json"; }},
      {"network", [](const std::string& n) { return "/networks/" + client::path_escape(n); }},
      {"volume", [](const std::string& n) { return "/volumes/" + client::path_escape(n); }},
  };

  std::vector<std::string> raws;
  std::string formatted;
  std::vector<std::string> errs;
  for (const auto& name : flags.args()) {
    std::optional<client::Response> found;
    std::optional<Error> failure;
    for (const auto& k : kKinds) {
      if (!type.empty() && type != k.type) continue;
      api::Query q;
      if (flags.get_bool("size") && std::string_view(k.type) == "container") q.emplace_back("size", "1");
      auto r = (*api)->request(client::Request::get(k.path(name), q));
      if (r) {
        found = std::move(*r);
        break;
      }
      if (r.error().kind == Errc::unavailable) return ctx.fail(r.error().msg);
      if (!type.empty() || r.error().kind != Errc::not_found) {
        failure = std::move(r).error();
        break;
      }
    }
    if (!found) {
      errs.push_back(failure ? failure->msg : "Error: No such object: " + name);
      continue;
    }
    if (tmpl) {
      OrderedJson data = OrderedJson::parse(found->body, nullptr, false);
      if (data.is_discarded()) {
        errs.push_back("invalid JSON in the daemon's response");
        continue;
      }
      auto s = tmpl->execute(data);
      if (!s) {
        errs.push_back(s.error().msg);
        continue;
      }
      formatted += *s + "\n";
    } else {
      raws.push_back(std::string(str::trim(found->body)));
    }
  }
  if (tmpl) {
    ctx.out << (formatted.empty() ? std::string("\n") : formatted);
  } else if (raws.empty()) {
    ctx.out << "[]\n";
  } else {
    std::string joined = "[";
    for (size_t i = 0; i < raws.size(); ++i) joined += (i ? "," : "") + raws[i];
    joined += "]";
    auto indented = json_indent(joined, "    ");
    if (!indented) return ctx.fail(indented.error().msg);
    ctx.out << *indented << "\n";
  }
  if (!errs.empty()) {
    std::string msg;
    for (const auto& e : errs) msg += (msg.empty() ? "" : "\n") + e;
    return ctx.fail(msg);
  }
  return 0;
}

// Prints a JSON progress stream the way the docker CLI does without a
// terminal; returns the stream's error message, if any.
Result<std::optional<std::string>> display_json_stream(Context& ctx, client::Stream& s, Output& out) {
  (void)ctx;
  std::string line;
  while (BERTH_TRY(s.next_json_line(&line))) {
    auto j = parse_json(line);
    if (!j || !j->is_object()) continue;
    const Json& m = *j;
    if (m.contains("errorDetail") || m.contains("error")) {
      std::string msg;
      if (m.contains("errorDetail") && m["errorDetail"].is_object())
        msg = m["errorDetail"].value("message", "");
      if (msg.empty() && m.contains("error") && m["error"].is_string()) msg = m["error"].get<std::string>();
      return std::optional<std::string>(msg);
    }
    if (m.contains("aux")) continue;
    std::string progress = m.value("progress", "");
    if (!progress.empty()) continue;  // progress bars only on terminals
    std::string id = m.value("id", "");
    if (!id.empty()) out << id << ": ";
    if (m.contains("stream") && m["stream"].is_string()) {
      out << m["stream"].get<std::string>();
    } else {
      out << m.value("status", "") << "\n";
    }
  }
  return std::optional<std::string>();
}

int cmd_import(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_list("change", 'c', "Apply Dockerfile instruction to the created image");
  flags.add_string("message", 'm', "", "Set commit message for imported image");
  if (auto rc = parse_flags(ctx, kImport, flags, args)) return *rc;
  const auto& pos = flags.args();
  if (pos.empty()) return ctx.args_error(kImport, "at least", 1);
  if (pos.size() > 2) return ctx.args_error(kImport, "at most", 2);
  const std::string& source = pos[0];
  api::Query q;
  UniqueFd file;
  int body_fd = -1;
  bool url = str::starts_with(source, "http://") || str::starts_with(source, "https://");
  if (source == "-") {
    q.emplace_back("fromSrc", "-");
    body_fd = ctx.in_fd;
  } else if (url) {
    q.emplace_back("fromSrc", source);
  } else {
    file.reset(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) return ctx.fail("open " + source + ": " + go_strerror(errno));
    q.emplace_back("fromSrc", "-");
    body_fd = file.get();
  }
  if (pos.size() == 2) {
    // docker validates the reference before sending it.
    const std::string& ref = pos[1];
    if (auto r = parse_image_ref(ref); !r) return ctx.fail(r.error().msg);
    q.emplace_back("repo", ref);
  }
  if (!flags.get_string("message").empty()) q.emplace_back("message", flags.get_string("message"));
  for (const auto& c : flags.get_list("change")) q.emplace_back("changes", c);

  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  client::Request req = client::Request::post("/images/create", q);
  Result<client::Stream> s = make_error(Errc::internal, "");
  if (body_fd >= 0) {
    req.content_type = "application/x-tar";
    s = (*api)->upload(req, body_fd);
  } else {
    s = (*api)->stream(req);
  }
  if (!s) return ctx.fail(s.error().msg);
  auto res = display_json_stream(ctx, *s, ctx.out);
  if (!res) return ctx.fail(res.error().msg);
  if (*res) return ctx.fail(**res);
  return 0;
}

}  // namespace berth::cli
