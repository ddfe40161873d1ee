// /networks/... routes.
#include "container/container.h"
#include "daemon/routes.h"

namespace berth::daemon {

void add_network_routes(Router& r, Backends& b) {
  if (!b.networks) return;
  network::NetworkService& ns = *b.networks;
  container::ContainerService& cs = b.containers;

  r.add("GET", "/networks", [&ns](Request& req, Response& res) -> Status {
    std::vector<std::pair<std::string, std::vector<std::string>>> f;
    if (auto q = req.q("filters")) f = BERTH_TRY(container::parse_filters(*q));
    auto list = BERTH_TRY(ns.list(f));
    Json out = Json::array();
    for (auto& j : list) out.push_back(std::move(j));
    return res.json(200, out);
  });

  r.add("GET", "/networks/{id}", [&ns](Request& req, Response& res) -> Status {
    return res.json(200, BERTH_TRY(ns.inspect(req.param("id"))));
  });

  r.add("POST", "/networks/create", [&ns, &b](Request& req, Response& res) -> Status {
    Json body = BERTH_TRY(req.json_body());
    Json out = BERTH_TRY(ns.create(body));
    if (auto n = ns.find(out.value("Id", std::string())))
      publish_event(b.events, "network", "create", n->id, {{"name", n->name}, {"type", n->driver}});
    return res.json(201, out);
  });

  r.add("DELETE", "/networks/{id}", [&ns, &b](Request& req, Response& res) -> Status {
    auto n = ns.find(req.param("id"));
    BERTH_TRY_VOID(ns.remove(req.param("id")));
    if (n) publish_event(b.events, "network", "destroy", n->id, {{"name", n->name}, {"type", n->driver}});
    return res.no_content();
  });

  r.add("POST", "/networks/prune", [&ns, &b](Request& req, Response& res) -> Status {
    std::vector<std::pair<std::string, std::vector<std::string>>> f;
    if (auto q = req.q("filters")) f = BERTH_TRY(container::parse_filters(*q));
    int64_t until = 0;
    for (const auto& [k, vals] : f)
      if (k == "until")
        for (const auto& v : vals) until = BERTH_TRY(parse_until(v));
    std::map<std::string, network::Network> before;
    if (auto all = ns.list({}))
      for (const auto& j : *all)
        if (auto n = ns.find(j.value("Id", std::string()))) before[n->name] = *n;
    auto gone = BERTH_TRY(ns.prune(f, until));
    for (const auto& name : gone)
      if (auto it = before.find(name); it != before.end())
        publish_event(b.events, "network", "destroy", it->second.id, {{"name", name}, {"type", it->second.driver}});
    return res.json(200, Json{{"NetworksDeleted", gone.empty() ? Json(nullptr) : Json(gone)}});
  });

  r.add("POST", "/networks/{id}/connect", [&ns, &cs, &b](Request& req, Response& res) -> Status {
    Json body = BERTH_TRY(req.json_body());
    if (!body.is_object() || !body.value("Container", Json()).is_string())
      return make_error(Errc::invalid, "container is required");
    auto n = BERTH_TRY(ns.find(req.param("id")));
    BERTH_TRY_VOID(cs.connect_network(body["Container"].get<std::string>(), n.name,
                                      body.value("EndpointConfig", Json::object())));
    if (auto cid = cs.resolve(body["Container"].get<std::string>()))
      publish_event(b.events, "network", "connect", n.id, {{"container", *cid}, {"name", n.name}, {"type", n.driver}});
    return res.send(200, "", "");
  });

  r.add("POST", "/networks/{id}/disconnect", [&ns, &cs, &b](Request& req, Response& res) -> Status {
    Json body = BERTH_TRY(req.json_body());
    if (!body.is_object() || !body.value("Container", Json()).is_string())
      return make_error(Errc::invalid, "container is required");
    auto n = BERTH_TRY(ns.find(req.param("id")));
    BERTH_TRY_VOID(cs.disconnect_network(body["Container"].get<std::string>(), n.name, body.value("Force", false)));
    if (auto cid = cs.resolve(body["Container"].get<std::string>()))
      publish_event(b.events, "network", "disconnect", n.id, {{"container", *cid}, {"name", n.name}, {"type", n.driver}});
    return res.send(200, "", "");
  });
}

}  // namespace berth::daemon
