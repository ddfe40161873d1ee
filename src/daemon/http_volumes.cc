// /volumes/... routes.
#include "container/container.h"
#include "daemon/routes.h"

namespace berth::daemon {

namespace {

using Filters = std::vector<std::pair<std::string, std::vector<std::string>>>;

bool label_matches(const Json& labels, const std::string& f) {
  auto eq = f.find('=');
  auto it = labels.find(f.substr(0, eq));
  if (it == labels.end()) return false;
  return eq == std::string::npos || (it->is_string() && it->get<std::string>() == f.substr(eq + 1));
}

Result<bool> matches(const volume::Volume& v, const Filters& f, bool in_use) {
  for (const auto& [k, vals] : f) {
    bool any = vals.empty();
    for (const auto& x : vals) {
      if (k == "name") any |= v.name.find(x) != std::string::npos;
      else if (k == "driver") any |= v.driver == x;
      else if (k == "label") any |= label_matches(v.labels, x);
      else if (k == "dangling") {
        if (x != "true" && x != "false" && x != "1" && x != "0")
          return make_error(Errc::invalid, "invalid filter 'dangling=" + x + "'");
        any |= (x == "true" || x == "1") == !in_use;
      } else {
        return make_error(Errc::invalid, "invalid filter '" + k + "'");
      }
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace

void add_volume_routes(Router& r, Backends& b) {
  if (!b.volumes) return;
  volume::VolumeService& vs = *b.volumes;
  container::ContainerService& cs = b.containers;

  r.add("GET", "/volumes", [&vs, &cs](Request& req, Response& res) -> Status {
    Filters f;
    if (auto q = req.q("filters")) f = BERTH_TRY(container::parse_filters(*q));
    Json list = Json::array();
    for (const auto& v : vs.all())
      if (BERTH_TRY(matches(v, f, !cs.volume_users(v.name).empty()))) list.push_back(vs.to_json(v));
    return res.json(200, Json{{"Volumes", list}, {"Warnings", nullptr}});
  });

  r.add("POST", "/volumes/create", [&vs, &b](Request& req, Response& res) -> Status {
    Json body = BERTH_TRY(req.json_body());
    if (body.is_null()) body = Json::object();
    if (!body.is_object()) return make_error(Errc::invalid, "invalid volume create request");
    auto str = [&](const char* k) { return body.value(k, Json()).is_string() ? body[k].get<std::string>() : std::string(); };
    auto v = BERTH_TRY(vs.create(str("Name"), str("Driver"), body.value("DriverOpts", Json::object()),
                                 body.value("Labels", Json::object())));
    publish_event(b.events, "volume", "create", v.name, {{"driver", v.driver}});
    return res.json(201, vs.to_json(v));
  });

  r.add("GET", "/volumes/{name}", [&vs](Request& req, Response& res) -> Status {
    auto v = BERTH_TRY(vs.get(req.param("name")));
    return res.json(200, vs.to_json(v));
  });

  r.add("DELETE", "/volumes/{name}", [&vs, &cs, &b](Request& req, Response& res) -> Status {
    const std::string& name = req.param("name");
    auto v = vs.get(name);
    if (!v) {
      if (req.qbool("force")) return res.no_content();
      return std::move(v).error();
    }
    auto users = cs.volume_users(name);
    if (!users.empty()) {
      std::string ids;
      for (size_t i = 0; i < users.size(); ++i) ids += (i ? " " : "") + users[i];
      return make_error(Errc::conflict, "remove " + name + ": volume is in use - [" + ids + "]");
    }
    BERTH_TRY_VOID(vs.remove(name));
    publish_event(b.events, "volume", "destroy", v->name, {{"driver", v->driver}});
    return res.no_content();
  });

  r.add("POST", "/volumes/prune", [&vs, &cs, &b](Request& req, Response& res) -> Status {
    Filters f;
    if (auto q = req.q("filters")) f = BERTH_TRY(container::parse_filters(*q));
    for (const auto& [k, v] : f)
      if (k != "label" && k != "label!") return make_error(Errc::invalid, "invalid filter '" + k + "'");
    Json gone = Json::array();
    for (const auto& v : vs.all()) {
      if (!cs.volume_users(v.name).empty()) continue;
      bool keep = true;
      for (const auto& [k, vals] : f)
        for (const auto& x : vals) keep &= (k == "label") == label_matches(v.labels, x);
      if (!keep) continue;
      if (vs.remove(v.name)) {
        gone.push_back(v.name);
        publish_event(b.events, "volume", "destroy", v.name, {{"driver", v.driver}});
      }
    }
    return res.json(200, Json{{"VolumesDeleted", gone.empty() ? Json(nullptr) : gone}, {"SpaceReclaimed", 0}});
  });
}

}  // namespace berth::daemon
