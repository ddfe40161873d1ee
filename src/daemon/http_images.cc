// /images/... routes (through image::ImageStore).
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>

#include <set>

#include "common/fs.h"
#include "common/strings.h"
#include "container/container.h"
#include "daemon/commit_pause.h"
#include "daemon/routes.h"
#include "image/archive.h"
#include "image/changes.h"
#include "image/commit.h"
#include "image/platform.h"
#include "image/prune.h"
#include "image/pull.h"
#include "image/push.h"
#include "image/reference.h"
#include "registry/client.h"
#include "registry/http_get.h"

namespace berth::daemon {

namespace {

// dockerd's image event attributes: the image's labels while it exists
// (every action but delete) and `name`.
std::map<std::string, std::string> image_attrs(const image::Image& img, const std::string& name) {
  std::map<std::string, std::string> a;
  auto c = img.config.find("config");
  if (c != img.config.end() && c->is_object())
    if (auto l = c->find("Labels"); l != c->end() && l->is_object())
      for (const auto& [k, v] : l->items())
        if (v.is_string()) a[k] = v.get<std::string>();
  a["name"] = name;
  return a;
}

bool image_matches(const image::Image& img, const std::vector<std::pair<std::string, std::vector<std::string>>>& f) {
  for (const auto& [k, vals] : f) {
    if (vals.empty()) continue;
    bool any = false;
    for (const auto& v : vals) {
      if (k == "dangling") {
        bool want = str::parse_query_bool(v);
        any |= want == img.repo_tags.empty();
      } else if (k == "reference") {
        for (const auto& d : img.repo_digests) {
          std::string repo = d.substr(0, d.find('@'));
          if (::fnmatch(v.c_str(), d.c_str(), 0) == 0 || ::fnmatch(v.c_str(), repo.c_str(), 0) == 0) any = true;
        }
        for (const auto& t : img.repo_tags) {
          std::string repo = t.substr(0, t.rfind(':'));
          if (::fnmatch(v.c_str(), t.c_str(), 0) == 0 || ::fnmatch(v.c_str(), repo.c_str(), 0) == 0)
            any = true;
        }
      } else if (k == "label") {
        Json labels = img.config.contains("config") && img.config["config"].is_object()
                          ? img.config["config"].value("Labels", Json::object())
                          : Json::object();
        if (!labels.is_object()) labels = Json::object();
        auto eq = v.find('=');
        auto it = labels.find(v.substr(0, eq));
        if (it != labels.end())
          any |= eq == std::string::npos || (it->is_string() && it->get<std::string>() == v.substr(eq + 1));
      } else {
        any = true;  // before/since and others are not filtered on yet
      }
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace

Status stream_progress(Response& res, const std::function<Status(const image::ProgressFn&)>& work) {
  std::mutex mu;
  bool started = false, broken = false;
  image::ProgressFn p = [&](const Json& m) {
    std::lock_guard g(mu);
    if (broken) return;
    if (!started) {
      started = true;
      if (!res.start_stream(200, "application/json")) {
        broken = true;
        return;
      }
    }
    if (!res.chunk(m.dump() + "\r\n")) broken = true;
  };
  Status st = work(p);
  std::lock_guard g(mu);
  if (!started) {
    if (!st) return st;
    BERTH_TRY_VOID(res.start_stream(200, "application/json"));
    return res.end_stream();
  }
  if (broken) return ok();
  if (!st) {
    const std::string& m = st.error().msg;
    (void)res.chunk(Json{{"errorDetail", Json{{"message", m}}}, {"error", m}}.dump() + "\r\n");
  }
  return res.end_stream();
}

void add_image_routes(Router& r, Backends& b) {
  auto& images = b.images;

  r.add("POST", "/images/create", [&images, &b](Request& req, Response& res) -> Status {
    auto from_src = req.q("fromSrc");
    auto from_image = req.q("fromImage");
    if (from_image && !from_image->empty()) {
      image::PullRequest pr;
      pr.ref = *from_image;
      if (auto tag = req.q("tag"); tag && !tag->empty())
        pr.ref += (str::starts_with(*tag, "sha256:") ? "@" : ":") + *tag;
      else
        pr.all_tags = true;  // as dockerd: no tag anywhere means every tag (pull -a)
      pr.platform = req.q("platform").value_or("");
      if (const auto* h = req.head.header("X-Registry-Auth")) pr.auth = registry::decode_auth_header(*h);
      return stream_progress(res, [&](const image::ProgressFn& p) -> Status {
        auto r = image::pull(images, b.registry, pr, p);
        if (!r) return std::move(r).error();
        if (auto ref = image::parse_reference(pr.ref)) {
          auto img = images.resolve(ref->familiar_string());
          publish_event(b.events, "image", "pull", ref->familiar_string(),
                        img ? image_attrs(*img, ref->familiar_name())
                            : std::map<std::string, std::string>{{"name", ref->familiar_name()}});
        }
        return ok();
      });
    }
    if (!from_src || from_src->empty())
      return make_error(Errc::invalid, "Bad parameters: fromImage or fromSrc is required");
    image::ImportOptions o;
    o.repo = req.q("repo").value_or("");
    o.tag = req.q("tag").value_or("");
    o.changes = api::query_all(req.query, "changes");
    o.message = req.q("message").value_or("");
    if (auto pl = req.q("platform"); pl && !pl->empty()) {
      auto plat = BERTH_TRY(image::parse_platform(*pl));
      BERTH_TRY_VOID(image::check_platform_os(plat));
      o.os = plat.os;
      o.architecture = plat.architecture;
      o.variant = plat.variant;
    }
    // dockerd 20.10 tags an import without a tag event: import's only.
    auto announce_import = [&b](const image::Image& img) {
      publish_event(b.events, "image", "import", img.id, image_attrs(img, img.id));
    };
    if (*from_src != "-") {
      // docker import URL: dockerd downloads it (a bare host gets http://).
      std::string url = *from_src;
      if (url.find("://") == std::string::npos) url = "http://" + url;
      if (!str::starts_with(url, "http://") && !str::starts_with(url, "https://"))
        return make_error(Errc::invalid, "unsupported URL scheme in fromSrc: " + *from_src);
      o.source = url;
      {  // bad changes are a plain 400 before anything is downloaded (as dockerd)
        Json scratch = image::empty_container_config();
        BERTH_TRY_VOID(image::apply_changes(o.changes, scratch));
      }
      return stream_progress(res, [&](const image::ProgressFn& pf) -> Status {
        pf(Json{{"status", "Downloading from " + url}, {"progressDetail", Json::object()}});
        // Downloaded whole into an unnamed file under the data root first: a
        // failed or cut download must never become an (empty) image, and a
        // crash leaves nothing behind.
        UniqueFd tmp(::open(images.data_root().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
        if (!tmp) return sys_error("import: temporary file under " + images.data_root());
        int64_t total = -1, done = 0, last = 0;
        BERTH_TRY_VOID(registry::http_get(
            url,
            [&](std::string_view d) -> Status {
              if (!fs::write_all(tmp.get(), d)) return sys_error("import: writing the download");
              done += static_cast<int64_t>(d.size());
              if (done - last >= (1 << 20)) {
                last = done;
                pf(Json{{"status", "Importing"},
                        {"progressDetail", Json{{"current", done}, {"total", total}}},
                        {"progress", image::progress_bar(done, total)}});
              }
              return ok();
            },
            [&](int64_t len) { total = len; }));
        if (total >= 0 && done != total)
          return make_error(Errc::invalid, "import: download of " + url + " ended after " + std::to_string(done) +
                                               " of " + std::to_string(total) + " bytes");
        pf(Json{{"status", "Importing"}, {"progressDetail", Json{{"current", done}, {"total", total}}},
                {"progress", image::progress_bar(done, total)}});
        if (::lseek(tmp.get(), 0, SEEK_SET) != 0) return sys_error("import: rewind");
        auto img = images.import(tmp.get(), o);
        if (!img) return std::move(img).error();
        announce_import(*img);
        pf(Json{{"status", img->id}, {"progressDetail", Json::object()}});
        return ok();
      });
    }
    auto body = BERTH_TRY(BodyPipe::open(req));
    auto img = images.import(body->fd(), o);
    BERTH_TRY_VOID(body->finish());
    if (!img) return std::move(img).error();
    announce_import(*img);
    BERTH_TRY_VOID(res.start_stream(200, "application/json"));
    BERTH_TRY_VOID(res.chunk(Json{{"status", img->id}}.dump() + "\r\n"));
    return res.end_stream();
  });

  r.add("POST", "/images/{name*}/push", [&images, &b](Request& req, Response& res) -> Status {
    const auto* h = req.head.header("X-Registry-Auth");
    if (!h) return make_error(Errc::invalid, "Bad parameters and missing X-Registry-Auth");
    image::PushRequest pr;
    pr.name = req.param("name");
    pr.tag = req.q("tag").value_or("");
    pr.auth = registry::decode_auth_header(*h);
    return stream_progress(res, [&](const image::ProgressFn& p) -> Status {
      BERTH_TRY_VOID(image::push(images, b.registry, pr, p));
      if (auto ref = image::parse_reference(pr.tag.empty() ? pr.name : pr.name + ":" + pr.tag)) {
        auto img = images.resolve(ref->familiar_string());
        publish_event(b.events, "image", "push", ref->familiar_string(),
                      img ? image_attrs(*img, ref->familiar_name())
                          : std::map<std::string, std::string>{{"name", ref->familiar_name()}});
      }
      return ok();
    });
  });

  r.add("POST", "/auth", [&b](Request& req, Response& res) -> Status {
    auto body = BERTH_TRY(req.json_body());
    if (!body.is_object()) return make_error(Errc::invalid, "invalid auth configuration");
    registry::AuthConfig a;
    a.username = body.value("username", std::string());
    a.password = body.value("password", std::string());
    a.identity_token = body.value("identitytoken", std::string());
    a.server_address = body.value("serveraddress", std::string());
    std::string host = a.server_address;
    for (const char* p : {"https://", "http://"})
      if (str::starts_with(host, p)) host = host.substr(std::strlen(p));
    if (auto sl = host.find('/'); sl != std::string::npos) host = host.substr(0, sl);
    if (host.empty() || host == "index.docker.io" || host == "registry-1.docker.io") host = "docker.io";
    registry::Session s(image::endpoint_for(host, b.registry), "", a);
    BERTH_TRY_VOID(s.login());
    return res.json(200, Json{{"IdentityToken", ""}, {"Status", "Login Succeeded"}});
  });

  auto save_handler = [&images, &b](Request& req, Response& res, std::vector<std::string> names) -> Status {
    if (names.empty()) return make_error(Errc::invalid, "no image names given");
    BERTH_TRY(image::resolve_for_save(images, names));  // 404 before the stream starts
    BERTH_TRY_VOID(res.start_stream(200, "application/x-tar"));
    std::string buf;
    auto flush = [&]() -> Status {
      if (buf.empty()) return ok();
      auto st = res.chunk(buf);
      buf.clear();
      return st;
    };
    auto st = image::save(images, names, [&](std::string_view d) -> Status {
      buf.append(d);
      if (buf.size() >= (1 << 20)) return flush();
      return ok();
    });
    if (!st) {
      // The tar is cut short: the client sees a truncated archive, never a valid one.
      res.set_keep_alive(false);
      return ok();
    }
    BERTH_TRY_VOID(flush());
    (void)req;
    std::set<std::string> saved;
    for (const auto& n : names)
      if (auto img = images.resolve(n); img && saved.insert(img->id).second)
        publish_event(b.events, "image", "save", img->id, image_attrs(*img, img->id));
    return res.end_stream();
  };
  r.add("GET", "/images/get", [save_handler](Request& req, Response& res) -> Status {
    return save_handler(req, res, api::query_all(req.query, "names"));
  });
  r.add("GET", "/images/{name*}/get", [save_handler](Request& req, Response& res) -> Status {
    return save_handler(req, res, {req.param("name")});
  });

  r.add("POST", "/images/load", [&images, &b](Request& req, Response& res) -> Status {
    const bool quiet = req.qbool("quiet");
    auto body = BERTH_TRY(BodyPipe::open(req));
    Result<std::vector<std::string>> lines = make_error(Errc::internal, "not loaded");
    Status st = stream_progress(res, [&](const image::ProgressFn& pf) -> Status {
      image::ProgressFn maybe = [&](const Json& m) {
        if (!quiet) pf(m);
      };
      lines = image::load(images, body->fd(), maybe);
      BERTH_TRY_VOID(body->finish());
      if (!lines) return std::move(lines).error();
      for (const auto& l : *lines) {
        pf(Json{{"stream", l + "\n"}});
        // "Loaded image: REF" / "Loaded image ID: sha256:…"
        auto colon = l.find(": ");
        if (colon == std::string::npos) continue;
        if (auto img = images.resolve(l.substr(colon + 2)))
          publish_event(b.events, "image", "load", img->id, image_attrs(*img, img->id));
      }
      return ok();
    });
    return st;  // (body's destructor ends the feeder if stream_progress failed first)
  });

  r.add("POST", "/commit", [&b, &images](Request& req, Response& res) -> Status {
    std::string cref = req.q("container").value_or("");
    if (cref.empty()) return make_error(Errc::invalid, "Bad parameters: container is required");
    auto body = BERTH_TRY(req.json_body());
    auto info = BERTH_TRY(b.containers.inspect(cref));
    image::CommitRequest cr;
    cr.container_id = info.value("Id", std::string());
    cr.image_id = info.value("Image", std::string());
    cr.container_config = info.value("Config", Json::object());
    if (info.contains("GraphDriver") && info["GraphDriver"].is_object() && info["GraphDriver"].contains("Data") &&
        info["GraphDriver"]["Data"].is_object())
      cr.upper_dir = info["GraphDriver"]["Data"].value("UpperDir", std::string());
    if (cr.upper_dir.empty()) return make_error(Errc::internal, "container " + cref + " has no writable layer");
    cr.override_config = body;
    cr.repo = req.q("repo").value_or("");
    cr.tag = req.q("tag").value_or("");
    cr.comment = req.q("comment").value_or("");
    cr.author = req.q("author").value_or("");
    cr.changes = api::query_all(req.query, "changes");
    // pause=true (Docker's default): the container is frozen while its
    // writable layer is read, so the layer is one consistent moment.
    // The marker (durable before the freeze) lets the next start thaw the
    // container if the daemon dies before the unpause below.
    bool paused_here = false;
    std::optional<CommitPauseMarker> pause_marker;
    if (req.qbool("pause", true) && info.contains("State") && info["State"].is_object() &&
        info["State"].value("Running", false) && !info["State"].value("Paused", false)) {
      pause_marker.emplace(BERTH_TRY(CommitPauseMarker::create(b.sys.data_root, cr.container_id)));
      BERTH_TRY_VOID(b.containers.pause(cr.container_id));
      paused_here = true;
    }
    auto unpause_now = [&] {
      if (!paused_here) return;
      paused_here = false;
      if (auto st = b.containers.unpause(cr.container_id); !st)
        BERTH_LOG(b.log, warn, "commit: unpause failed", {"id", cr.container_id}, {"error", st.error().msg});
      pause_marker.reset();
    };
    ScopeExit unpause(unpause_now);
    auto img = BERTH_TRY(image::commit(images, cr));
    if (!cr.repo.empty()) {
      std::string ref = image::normalize_reference(cr.tag.empty() ? cr.repo : cr.repo + ":" + cr.tag).value_or(cr.repo);
      publish_event(b.events, "image", "tag", img.id, image_attrs(img, ref));
    }
    if (b.events) {
      std::string name = info.value("Name", std::string());
      if (!name.empty() && name[0] == '/') name.erase(0, 1);
      b.events->publish(Event{"container", "commit", cr.container_id,
                              {{"comment", cr.comment}, {"imageID", img.id},
                               {"imageRef", img.repo_tags.empty() ? std::string() : img.repo_tags.front()},
                               {"image", info.value("Config", Json::object()).value("Image", std::string())},
                               {"name", name}}});
    }
    // As dockerd: pause, commit, unpause — all before the answer.
    unpause_now();
    return res.json(201, Json{{"Id", img.id}});
  });

  add_df_routes(r, b);

  r.add("POST", "/images/prune", [&b, &images](Request& req, Response& res) -> Status {
    std::vector<std::pair<std::string, std::vector<std::string>>> filters;
    if (auto f = req.q("filters"); f && !f->empty()) filters = BERTH_TRY(container::parse_filters(*f));
    image::PruneOptions o;
    BERTH_TRY_VOID(image::parse_prune_filters(filters, o));
    for (const auto& [k, vals] : filters)
      if (k == "until")
        for (const auto& v : vals) o.until_unix_nano = BERTH_TRY(parse_until(v));
    container::ListOptions lo;
    lo.all = true;
    for (const auto& c : BERTH_TRY(b.containers.list(lo))) o.in_use.insert(c.value("ImageID", std::string()));
    Json out = BERTH_TRY(image::prune(images, o));
    return res.json(200, out);
  });

  // berth has no build cache yet: nothing to prune, and that is the answer.
  r.add("POST", "/build/prune", [](Request& req, Response& res) -> Status {
    if (auto f = req.q("filters"); f && !f->empty()) {
      auto filters = BERTH_TRY(container::parse_filters(*f));
      for (const auto& [k, v] : filters)
        if (k != "until" && k != "id" && k != "parent" && k != "type" && k != "description" && k != "inuse" &&
            k != "shared" && k != "private" && k != "unused-for" && k != "until")
          return make_error(Errc::invalid, "invalid filter '" + k + "'");
    }
    return res.json(200, Json{{"CachesDeleted", Json::array()}, {"SpaceReclaimed", 0}});
  });

  // Search a registry's catalog: term "HOST/word" (docker.io's /v1/search
  // is not a distribution API; other registries answer _catalog).
  r.add("GET", "/images/search", [&b](Request& req, Response& res) -> Status {
    std::string term = req.q("term").value_or("");
    if (term.empty()) return make_error(Errc::invalid, "term is required");
    int limit = 25;
    if (auto l = req.q("limit"); l && !l->empty()) {
      auto v = str::parse_int(*l);
      if (!v || *v < 1 || *v > 100) return make_error(Errc::invalid, "Limit " + *l + " is outside the range of [1, 100]");
      limit = static_cast<int>(*v);
    }
    std::string host = "docker.io", word = term;
    if (auto sl = term.find('/'); sl != std::string::npos) {
      std::string first = term.substr(0, sl);
      if (first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost") {
        host = first;
        word = term.substr(sl + 1);
      }
    }
    registry::AuthConfig auth;
    if (const auto* h = req.head.header("X-Registry-Auth")) auth = registry::decode_auth_header(*h);
    registry::Session s(image::endpoint_for(host, b.registry), "", auth);
    auto repos = BERTH_TRY(s.catalog(1000));
    Json out = Json::array();
    for (const auto& r0 : repos) {
      if (!word.empty() && r0.find(word) == std::string::npos) continue;
      out.push_back(Json{{"name", host + "/" + r0}, {"description", ""}, {"star_count", 0}, {"is_official", false},
                         {"is_automated", false}});
      if (static_cast<int>(out.size()) >= limit) break;
    }
    return res.json(200, out);
  });

  r.add("GET", "/images/json", [&images](Request& req, Response& res) -> Status {
    std::vector<std::pair<std::string, std::vector<std::string>>> filters;
    if (auto f = req.q("filters")) filters = BERTH_TRY(container::parse_filters(*f));
    for (const auto& [k, v] : filters)
      if (k != "dangling" && k != "reference" && k != "label" && k != "before" && k != "since")
        return make_error(Errc::invalid, "invalid filter '" + k + "'");
    Json out = Json::array();
    for (const auto& img : images.list())
      if (image_matches(img, filters)) out.push_back(images.to_list_json(img));
    return res.json(200, out);
  });

  r.add("GET", "/images/{name*}/json", [&images](Request& req, Response& res) -> Status {
    auto img = BERTH_TRY(images.resolve(req.param("name")));
    return res.json(200, images.to_inspect_json(img));
  });

  r.add("GET", "/images/{name*}/history", [&images](Request& req, Response& res) -> Status {
    auto img = BERTH_TRY(images.resolve(req.param("name")));
    return res.json(200, images.to_history_json(img));
  });

  r.add("POST", "/images/{name*}/tag", [&images, &b](Request& req, Response& res) -> Status {
    auto img = BERTH_TRY(images.resolve(req.param("name")));
    std::string repo = req.q("repo").value_or("");
    if (repo.empty()) return make_error(Errc::invalid, "repository name cannot be empty");
    std::string tag = req.q("tag").value_or("");
    const std::string full = tag.empty() ? repo : repo + ":" + tag;
    BERTH_TRY_VOID(images.tag(img, full));
    publish_event(b.events, "image", "tag", img.id, image_attrs(img, image::normalize_reference(full).value_or(full)));
    return res.send(201, "", "");
  });

  r.add("DELETE", "/images/{name*}", [&b, &images](Request& req, Response& res) -> Status {
    std::string name = req.param("name");
    bool force = req.qbool("force");
    auto img = BERTH_TRY(images.resolve(name));
    // An image used by a container cannot be deleted (tags may be removed
    // while other tags remain).
    container::ListOptions lo;
    lo.all = true;
    auto list = BERTH_TRY(b.containers.list(lo));
    for (const auto& c : list) {
      if (c.value("ImageID", std::string()) != img.id) continue;
      bool by_id = str::starts_with(img.id, name) || str::starts_with(img.id.substr(7), name);
      if (!force && (by_id || img.repo_tags.size() <= 1)) {
        std::string cid = c.value("Id", std::string()).substr(0, 12);
        std::string state = c.value("State", std::string()) == "running" ? "running" : "stopped";
        if (by_id)
          return make_error(Errc::conflict, "conflict: unable to delete " + img.id.substr(7, 12) +
                                                " (must be forced) - image is being used by " + state +
                                                " container " + cid);
        return make_error(Errc::conflict, "conflict: unable to remove repository reference \"" + name +
                                              "\" (must force) - container " + cid +
                                              " is using its referenced image " + img.id.substr(7, 12));
      }
    }
    Json out = BERTH_TRY(images.remove(name, force));
    // dockerd: one untag per removed reference, then delete per image.
    if (out.is_array())
      for (const auto& e : out) {
        if (e.contains("Untagged")) publish_event(b.events, "image", "untag", img.id, image_attrs(img, img.id));
        if (e.contains("Deleted") && e["Deleted"].is_string()) {
          std::string d = e["Deleted"].get<std::string>();
          if (d == img.id) publish_event(b.events, "image", "delete", d, {{"name", d}});
        }
      }
    return res.json(200, out);
  });
}

}  // namespace berth::daemon
