// Image commands: pull, push, tag, rmi, save, load, login, logout.
// Credentials live where the docker CLI keeps them ($DOCKER_CONFIG or
// ~/.docker, config.json "auths"), and travel as X-Registry-Auth.
#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/reference.h"
#include "common/fs.h"
#include "common/strings.h"

namespace berth::cli {

namespace {

constexpr CommandSpec kPull{"pull", "pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry"};
constexpr CommandSpec kPush{"push", "push [OPTIONS] NAME[:TAG]", "Upload an image to a registry"};
constexpr CommandSpec kTag{"tag", "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
                           "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"};
constexpr CommandSpec kRmi{"rmi", "rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images"};
constexpr CommandSpec kSave{"save", "save [OPTIONS] IMAGE [IMAGE...]",
                            "Save one or more images to a tar archive (streamed to STDOUT by default)"};
constexpr CommandSpec kLoad{"load", "load [OPTIONS]", "Load an image from a tar archive or STDIN"};
constexpr CommandSpec kLogin{"login", "login [OPTIONS] [SERVER]", "Log in to a registry",
                             "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified."};
constexpr CommandSpec kImagePrune{"image prune", "image prune [OPTIONS]", "Remove unused images"};
constexpr CommandSpec kLogout{"logout", "logout [SERVER]", "Log out from a registry",
                              "Log out from a registry.\nIf no server is specified, the default is defined by the daemon."};

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string b64(std::string_view in, bool url) {
  std::string out;
  size_t i = 0;
  auto put = [&](uint32_t v, int n) {
    for (int k = 0; k < 4; ++k) {
      if (k > n) {
        if (!url) out += '=';
        continue;
      }
      char c = kB64[(v >> (18 - 6 * k)) & 63];
      if (url) c = c == '+' ? '-' : c == '/' ? '_' : c;
      out += c;
    }
  };
  for (; i + 2 < in.size(); i += 3)
    put((uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]), 3);
  if (i + 1 == in.size()) put(uint8_t(in[i]) << 16, 1);
  if (i + 2 == in.size()) put((uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8), 2);
  return out;
}

std::string unb64(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::strchr(kB64, c == '-' ? '+' : c == '_' ? '/' : c);
    if (!p || !*p) continue;
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string config_path(Context& ctx) {
  if (auto d = ctx.env("DOCKER_CONFIG"); d && !d->empty()) return *d + "/config.json";
  return ctx.env("HOME").value_or("/root") + "/.docker/config.json";
}

Json read_config(Context& ctx) {
  auto t = fs::read_file(config_path(ctx));
  if (!t) return Json::object();
  auto j = parse_json(*t);
  return j && j->is_object() ? *j : Json::object();
}

// The registry host of an image reference ("docker.io" for Hub names).
std::string registry_of(const std::string& ref) {
  auto sl = ref.find('/');
  if (sl == std::string::npos) return "docker.io";
  std::string first = ref.substr(0, sl);
  if (first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost") return first;
  return "docker.io";
}

std::string auth_key(const std::string& host) {
  return host == "docker.io" ? "https://index.docker.io/v1/" : host;
}

// X-Registry-Auth for a registry host: stored credentials or "{}".
std::string registry_auth(Context& ctx, const std::string& host) {
  Json cfg = read_config(ctx);
  Json a = Json::object();
  if (cfg.contains("auths") && cfg["auths"].is_object() && cfg["auths"].contains(auth_key(host))) {
    const Json& e = cfg["auths"][auth_key(host)];
    std::string up = unb64(e.value("auth", std::string()));
    auto c = up.find(':');
    if (c != std::string::npos) {
      a["username"] = up.substr(0, c);
      a["password"] = up.substr(c + 1);
      a["serveraddress"] = host;
    }
  }
  return b64(a.dump(), true);
}

int stream_cmd(Context& ctx, client::Request req) {
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto s = (*api)->stream(req);
  if (!s) return ctx.fail(s.error().msg);
  auto res = display_json_stream(ctx, *s, ctx.out);
  if (!res) return ctx.fail(res.error().msg);
  if (*res) return ctx.fail(**res);
  return 0;
}

}  // namespace

int cmd_pull(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_string("platform", 0, "", "Set platform if server is multi-platform capable");
  flags.add_bool("quiet", 'q', "Suppress verbose output");
  flags.add_bool("all-tags", 'a', "Download all tagged images in the repository");
  if (auto rc = parse_flags(ctx, kPull, flags, args)) return *rc;
  if (flags.args().size() != 1) return ctx.args_error(kPull, "exactly", 1);
  if (flags.get_bool("all-tags")) return ctx.fail("berth: pull --all-tags is not supported");
  std::string ref = flags.args()[0];
  if (auto r = parse_image_ref(ref); !r) return ctx.fail(r.error().msg);
  api::Query q;
  std::string name = ref, tag;
  if (auto at = ref.find('@'); at != std::string::npos) {
    name = ref.substr(0, at);
    tag = ref.substr(at + 1);
  } else if (auto c = ref.rfind(':'); c != std::string::npos && ref.find('/', c) == std::string::npos) {
    name = ref.substr(0, c);
    tag = ref.substr(c + 1);
  } else {
    tag = "latest";
    if (!flags.get_bool("quiet")) ctx.out << "Using default tag: latest\n";
  }
  q.emplace_back("fromImage", name);
  q.emplace_back("tag", tag);
  if (!flags.get_string("platform").empty()) q.emplace_back("platform", flags.get_string("platform"));
  auto req = client::Request::post("/images/create", q);
  req.headers.push_back({"X-Registry-Auth", registry_auth(ctx, registry_of(name))});
  if (flags.get_bool("quiet")) {
    auto api = ctx.api();
    if (!api) return ctx.fail(api.error().msg);
    auto s = (*api)->stream(req);
    if (!s) return ctx.fail(s.error().msg);
    std::string line;
    for (;;) {
      auto more = s->next_json_line(&line);
      if (!more) return ctx.fail(more.error().msg);
      auto j = parse_json(line);
      if (j && j->is_object() && j->contains("error")) return ctx.fail((*j)["error"].get<std::string>());
      if (!*more) break;
    }
    ctx.out << ref << "\n";
    return 0;
  }
  return stream_cmd(ctx, req);
}

int cmd_push(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_bool("quiet", 'q', "Suppress verbose output");
  if (auto rc = parse_flags(ctx, kPush, flags, args)) return *rc;
  if (flags.args().size() != 1) return ctx.args_error(kPush, "exactly", 1);
  std::string ref = flags.args()[0], name = ref, tag;
  if (auto c = ref.rfind(':'); c != std::string::npos && ref.find('/', c) == std::string::npos) {
    name = ref.substr(0, c);
    tag = ref.substr(c + 1);
  }
  api::Query q;
  q.emplace_back("tag", tag);
  auto req = client::Request::post("/images/" + name + "/push", q);
  req.headers.push_back({"X-Registry-Auth", registry_auth(ctx, registry_of(name))});
  return stream_cmd(ctx, req);
}

int cmd_tag(Context& ctx, const Args& args) {
  FlagSet flags;
  if (auto rc = parse_flags(ctx, kTag, flags, args)) return *rc;
  if (flags.args().size() != 2) return ctx.args_error(kTag, "exactly", 2);
  const std::string& target = flags.args()[1];
  if (auto r = parse_image_ref(target); !r) return ctx.fail(r.error().msg);
  std::string repo = target, tag;
  if (auto c = target.rfind(':'); c != std::string::npos && target.find('/', c) == std::string::npos) {
    repo = target.substr(0, c);
    tag = target.substr(c + 1);
  }
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto r = (*api)->request(client::Request::post("/images/" + flags.args()[0] + "/tag", {{"repo", repo}, {"tag", tag}}));
  if (!r) return ctx.fail(r.error().msg);
  return 0;
}

int cmd_rmi(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_bool("force", 'f', "Force removal of the image");
  flags.add_bool("no-prune", 0, "Do not delete untagged parents");
  if (auto rc = parse_flags(ctx, kRmi, flags, args)) return *rc;
  if (flags.args().empty()) return ctx.args_error(kRmi, "at least", 1);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  api::Query q;
  if (flags.get_bool("force")) q.emplace_back("force", "1");
  std::vector<std::string> errs;
  for (const auto& name : flags.args()) {
    auto r = (*api)->request(client::Request::del("/images/" + name, q));
    if (!r) {
      errs.push_back(r.error().msg);
      continue;
    }
    auto j = r->json();
    if (j && j->is_array())
      for (const auto& e : *j) {
        if (e.contains("Untagged")) ctx.out << "Untagged: " << e["Untagged"].get<std::string>() << "\n";
        if (e.contains("Deleted")) ctx.out << "Deleted: " << e["Deleted"].get<std::string>() << "\n";
      }
  }
  ctx.out.flush();
  if (!errs.empty()) {
    std::string msg;
    for (const auto& e : errs) msg += (msg.empty() ? "" : "\n") + e;
    return ctx.fail(msg);
  }
  return 0;
}

// docker image prune: the docker CLI's prompt, filters (always with
// dangling=true, or dangling=false for -a) and report.
int cmd_image_prune(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_bool("all", 'a', "Remove all unused images, not just dangling ones");
  f.add_bool("force", 'f', "Do not prompt for confirmation");
  f.add_list("filter", 0, "Provide filter values (e.g. \"until=<timestamp>\")", "filter");
  if (auto rc = parse_flags(ctx, kImagePrune, f, args)) return *rc;
  if (!f.args().empty()) return ctx.args_error(kImagePrune, "none", 0);
  const bool all = f.get_bool("all");
  Json filters = Json::object();
  for (const auto& kv : f.get_list("filter")) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return ctx.fail("bad format of filter (expected name=value)");
    filters[kv.substr(0, eq)][kv.substr(eq + 1)] = true;
  }
  filters["dangling"] = Json{{all ? "false" : "true", true}};
  if (!f.get_bool("force")) {
    ctx.out << (all ? "WARNING! This will remove all images without at least one container associated to them."
                    : "WARNING! This will remove all dangling images.")
            << "\nAre you sure you want to continue? [y/N] ";
    ctx.out.flush();
    std::string answer;
    char ch;
    while (::read(ctx.in_fd, &ch, 1) == 1 && ch != '\n') answer += ch;
    answer = str::to_lower(std::string(str::trim(answer)));
    if (answer != "y" && answer != "yes") return 0;
  }
  api::Query q;
  q.emplace_back("filters", filters.dump());
  auto j = ctx.call_json(client::Request::post("/images/prune", q));
  if (!j) return ctx.fail(j.error().msg);
  const Json& del = (*j)["ImagesDeleted"];
  if (del.is_array() && !del.empty()) {
    ctx.out << "Deleted Images:\n";
    for (const auto& e : del) {
      if (!e.is_object()) continue;
      if (auto u = e.value("Untagged", std::string()); !u.empty()) ctx.out << "untagged: " << u << "\n";
      if (auto d = e.value("Deleted", std::string()); !d.empty()) ctx.out << "deleted: " << d << "\n";
    }
    ctx.out << "\n";
  }
  ctx.out << "Total reclaimed space: " << human_size(j->value("SpaceReclaimed", 0.0)) << "\n";
  return 0;
}

int cmd_save(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_string("output", 'o', "", "Write to a file, instead of STDOUT");
  if (auto rc = parse_flags(ctx, kSave, flags, args)) return *rc;
  if (flags.args().empty()) return ctx.args_error(kSave, "at least", 1);
  const std::string& o = flags.get_string("output");
  if (o.empty() && ::isatty(1)) return ctx.fail("cowardly refusing to save to a terminal. Use the -o flag or redirect");
  api::Query q;
  for (const auto& n : flags.args()) q.emplace_back("names", n);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto s = (*api)->stream(client::Request::get("/images/get", q));
  if (!s) return ctx.fail(s.error().msg);
  std::string tmp = o.empty() ? "" : o + ".berth-tmp";
  UniqueFd fd(o.empty() ? ::dup(1) : ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return ctx.fail("open " + (o.empty() ? std::string("stdout") : o) + ": " + std::strerror(errno));
  for (;;) {
    std::string buf;
    auto more = s->read(&buf);
    if (!more) return ctx.fail(more.error().msg);
    if (auto w = fs::write_all(fd.get(), buf); !w) return ctx.fail(w.error().msg);
    if (!*more) break;
  }
  if (!o.empty() && ::rename(tmp.c_str(), o.c_str()) != 0) return ctx.fail("rename " + o + ": " + std::strerror(errno));
  return 0;
}

int cmd_load(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_string("input", 'i', "", "Read from tar archive file, instead of STDIN");
  flags.add_bool("quiet", 'q', "Suppress the load output");
  if (auto rc = parse_flags(ctx, kLoad, flags, args)) return *rc;
  if (!flags.args().empty()) return ctx.args_error(kLoad, "none", 0);
  UniqueFd file;
  int in = ctx.in_fd;
  if (const auto& i = flags.get_string("input"); !i.empty()) {
    file.reset(::open(i.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) return ctx.fail("open " + i + ": " + std::strerror(errno));
    in = file.get();
  } else if (::isatty(in)) {
    return ctx.fail("requested load from stdin, but stdin is empty");
  }
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto req = client::Request::post("/images/load", {{"quiet", "1"}});
  req.content_type = "application/x-tar";
  auto s = (*api)->upload(req, in);
  if (!s) return ctx.fail(s.error().msg);
  auto res = display_json_stream(ctx, *s, ctx.out);
  if (!res) return ctx.fail(res.error().msg);
  if (*res) return ctx.fail(**res);
  return 0;
}

int cmd_login(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_string("username", 'u', "", "Username");
  flags.add_string("password", 'p', "", "Password");
  flags.add_bool("password-stdin", 0, "Take the password from stdin");
  if (auto rc = parse_flags(ctx, kLogin, flags, args)) return *rc;
  if (flags.args().size() > 1) return ctx.args_error(kLogin, "at most", 1);
  std::string server = flags.args().empty() ? "docker.io" : flags.args()[0];
  std::string user = flags.get_string("username"), pass = flags.get_string("password");
  if (flags.get_bool("password-stdin")) {
    char buf[4096];
    ssize_t n = ::read(ctx.in_fd, buf, sizeof buf);
    pass = n > 0 ? std::string(str::trim(std::string_view(buf, static_cast<size_t>(n)))) : "";
  }
  if (user.empty() || pass.empty()) return ctx.fail("Error: Cannot perform an interactive login from a non TTY device");
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  Json body = {{"username", user}, {"password", pass}, {"serveraddress", server}};
  auto r = (*api)->request(client::Request::post("/auth", {}, body.dump()));
  if (!r) return ctx.fail("Error response from daemon: " + r.error().msg);
  Json cfg = read_config(ctx);
  cfg["auths"][auth_key(server)] = Json{{"auth", b64(user + ":" + pass, false)}};
  const std::string path = config_path(ctx);
  (void)fs::mkdir_p(fs::dirname(path), 0700);
  if (auto w = fs::write_file_atomic(path, cfg.dump(1, '\t')); !w) return ctx.fail(w.error().msg);
  ::chmod(path.c_str(), 0600);
  ctx.out << "Login Succeeded\n";
  return 0;
}

int cmd_logout(Context& ctx, const Args& args) {
  FlagSet flags;
  if (auto rc = parse_flags(ctx, kLogout, flags, args)) return *rc;
  if (flags.args().size() > 1) return ctx.args_error(kLogout, "at most", 1);
  std::string server = flags.args().empty() ? "docker.io" : flags.args()[0];
  Json cfg = read_config(ctx);
  if (!cfg.contains("auths") || !cfg["auths"].is_object() || !cfg["auths"].contains(auth_key(server))) {
    ctx.out << "Not logged in to " << server << "\n";
    return 0;
  }
  cfg["auths"].erase(auth_key(server));
  if (auto w = fs::write_file_atomic(config_path(ctx), cfg.dump(1, '\t')); !w) return ctx.fail(w.error().msg);
  ctx.out << "Removing login credentials for " << server << "\n";
  return 0;
}

}  // namespace berth::cli
