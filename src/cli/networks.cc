// berth network create/ls/inspect/rm/prune/connect/disconnect.
#include <map>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/format.h"
#include "cli/template.h"
#include "client/client.h"
#include "common/strings.h"

namespace berth::cli {

namespace {

constexpr CommandSpec kNetwork{"network", "network COMMAND", "Manage networks"};
constexpr CommandSpec kCreate{"network create", "network create [OPTIONS] NETWORK", "Create a network"};
constexpr CommandSpec kLs{"network ls", "network ls [OPTIONS]", "List networks"};
constexpr CommandSpec kInspect{"network inspect", "network inspect [OPTIONS] NETWORK [NETWORK...]",
                               "Display detailed information on one or more networks"};
constexpr CommandSpec kRm{"network rm", "network rm NETWORK [NETWORK...]", "Remove one or more networks"};
constexpr CommandSpec kPrune{"network prune", "network prune [OPTIONS]", "Remove all unused networks"};
constexpr CommandSpec kConnect{"network connect", "network connect [OPTIONS] NETWORK CONTAINER",
                               "Connect a container to a network"};
constexpr CommandSpec kDisconnect{"network disconnect", "network disconnect [OPTIONS] NETWORK CONTAINER",
                                  "Disconnect a container from a network"};

Result<std::string> filters_of(const std::vector<std::string>& fs) {
  if (fs.empty()) return std::string();
  std::map<std::string, std::map<std::string, bool>> m;
  for (const auto& f : fs) {
    auto eq = f.find('=');
    if (eq == std::string::npos) return make_error(Errc::invalid, "bad format of filter (expected name=value)");
    m[str::to_lower(f.substr(0, eq))][f.substr(eq + 1)] = true;
  }
  Json j = Json::object();
  for (const auto& [k, vals] : m)
    for (const auto& [v, b] : vals) j[k][v] = b;
  return j.dump();
}

std::map<std::string, std::string> kv_map(const std::vector<std::string>& list) {
  std::map<std::string, std::string> m;
  for (const auto& s : list) {
    auto eq = s.find('=');
    m[s.substr(0, eq)] = eq == std::string::npos ? "" : s.substr(eq + 1);
  }
  return m;
}

int net_create(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_string("driver", 'd', "bridge", "Driver to manage the Network");
  f.add_list("subnet", 0, "Subnet in CIDR format that represents a network segment", "strings");
  f.add_list("gateway", 0, "IPv4 or IPv6 Gateway for the master subnet", "strings");
  f.add_list("ip-range", 0, "Allocate container ip from a sub-range", "strings");
  f.add_list("aux-address", 0, "Auxiliary IPv4 or IPv6 addresses used by Network driver", "map");
  f.add_list("opt", 'o', "Set driver specific options", "map");
  f.add_list("label", 0, "Set metadata on a network");
  f.add_bool("internal", 0, "Restrict external access to the network");
  f.add_bool("attachable", 0, "Enable manual container attachment");
  f.add_bool("ipv6", 0, "Enable IPv6 networking");
  if (auto rc = parse_flags(ctx, kCreate, f, args)) return *rc;
  if (f.args().size() != 1) return ctx.args_error(kCreate, "exactly", 1);
  Json body{{"Name", f.args().front()}, {"Driver", f.get_string("driver")}, {"CheckDuplicate", true},
            {"Internal", f.get_bool("internal")}, {"Attachable", f.get_bool("attachable")},
            {"EnableIPv6", f.get_bool("ipv6")}};
  Json opts = Json::object(), labels = Json::object(), aux = Json::object();
  for (const auto& [k, v] : kv_map(f.get_list("opt"))) opts[k] = v;
  for (const auto& [k, v] : kv_map(f.get_list("label"))) labels[k] = v;
  for (const auto& [k, v] : kv_map(f.get_list("aux-address"))) aux[k] = v;
  body["Options"] = opts;
  body["Labels"] = labels;
  Json cfg = Json::array();
  const auto& subnets = f.get_list("subnet");
  for (size_t i = 0; i < subnets.size(); ++i) {
    Json c{{"Subnet", subnets[i]}};
    if (i < f.get_list("gateway").size()) c["Gateway"] = f.get_list("gateway")[i];
    if (i < f.get_list("ip-range").size()) c["IPRange"] = f.get_list("ip-range")[i];
    if (i == 0 && !aux.empty()) c["AuxiliaryAddresses"] = aux;
    cfg.push_back(c);
  }
  if (subnets.empty() && (!f.get_list("gateway").empty() || !f.get_list("ip-range").empty()))
    return ctx.fail("every ip-range or gateway must have a corresponding subnet");
  body["IPAM"] = Json{{"Driver", "default"}, {"Config", cfg}, {"Options", Json::object()}};
  auto j = ctx.call_json(client::Request::post("/networks/create", {}, body.dump()));
  if (!j) return ctx.fail(j.error().msg);
  ctx.out << j->value("Id", "") << "\n";
  return 0;
}

int net_ls(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_list("filter", 'f', "Provide filter values (e.g. 'driver=bridge')", "filter");
  f.add_string("format", 0, "", "Pretty-print networks using a Go template");
  f.add_bool("no-trunc", 0, "Do not truncate the output");
  f.add_bool("quiet", 'q', "Only display network IDs");
  if (auto rc = parse_flags(ctx, kLs, f, args)) return *rc;
  auto filters = filters_of(f.get_list("filter"));
  if (!filters) return ctx.fail(filters.error().msg);
  api::Query q;
  if (!filters->empty()) q.emplace_back("filters", *filters);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto r = (*api)->request(client::Request::get("/networks", q));
  if (!r) return ctx.fail(r.error().msg);
  auto list = r->json();
  if (!list || !list->is_array()) return ctx.fail("invalid JSON in the daemon's response");
  std::vector<Json> nets(list->begin(), list->end());
  std::sort(nets.begin(), nets.end(),
            [](const Json& a, const Json& b) { return a.value("Name", "") < b.value("Name", ""); });
  bool trunc = !f.get_bool("no-trunc");
  std::vector<OrderedJson> rows;
  for (const auto& n : nets) {
    std::string id = n.value("Id", "");
    rows.push_back({{"ID", trunc ? id.substr(0, 12) : id}, {"Name", n.value("Name", "")},
                    {"Driver", n.value("Driver", "")}, {"Scope", n.value("Scope", "")},
                    {"IPv6", n.value("EnableIPv6", false) ? "true" : "false"},
                    {"Internal", n.value("Internal", false) ? "true" : "false"}});
  }
  const std::string& format = f.get_string("format");
  if (f.get_bool("quiet") && format.empty()) {
    for (const auto& r2 : rows) ctx.out << r2["ID"].get<std::string>() << "\n";
    return 0;
  }
  if (!format.empty()) {
    bool table = str::starts_with(format, "table");
    auto t = Template::parse(table ? std::string(str::trim(std::string_view(format).substr(5))) : format);
    if (!t) return ctx.fail(t.error().msg);
    for (const auto& r2 : rows) {
      auto s = t->execute(r2);
      if (!s) return ctx.fail(s.error().msg);
      ctx.out << *s << "\n";
    }
    return 0;
  }
  TabWriter tw(10, 3);
  tw.row({"NETWORK ID", "NAME", "DRIVER", "SCOPE"});
  for (const auto& r2 : rows) tw.row({r2["ID"], r2["Name"], r2["Driver"], r2["Scope"]});
  ctx.out << tw.str();
  return 0;
}

int net_inspect(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_string("format", 'f', "", "Format the output using the given Go template");
  if (auto rc = parse_flags(ctx, kInspect, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kInspect, "at least", 1);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  Json all = Json::array();
  int rc = 0;
  for (const auto& n : f.args()) {
    auto r = (*api)->request(client::Request::get("/networks/" + client::path_escape(n)));
    if (!r) {
      ctx.err << r.error().msg << "\n";
      rc = 1;
      continue;
    }
    auto j = r->json();
    if (j) all.push_back(*j);
  }
  const std::string& format = f.get_string("format");
  if (!format.empty()) {
    auto t = Template::parse(format);
    if (!t) return ctx.fail(t.error().msg);
    for (const auto& j : all) {
      auto s = t->execute(OrderedJson::parse(j.dump()));
      if (!s) return ctx.fail(s.error().msg);
      ctx.out << *s << "\n";
    }
  } else {
    ctx.out << all.dump(4) << "\n";
  }
  return rc;
}

int net_rm(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_bool("force", 'f', "Do not error if the network does not exist");
  if (auto rc = parse_flags(ctx, kRm, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kRm, "at least", 1);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  int rc = 0;
  for (const auto& n : f.args()) {
    auto r = (*api)->request(client::Request::del("/networks/" + client::path_escape(n)));
    if (!r) {
      if (f.get_bool("force") && r.error().kind == Errc::not_found) continue;
      ctx.err << r.error().msg << "\n";
      rc = 1;
      continue;
    }
    ctx.out << n << "\n";
  }
  return rc;
}

int net_prune(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_bool("force", 'f', "Do not prompt for confirmation");
  f.add_list("filter", 0, "Provide filter values (e.g. 'until=<timestamp>')", "filter");
  if (auto rc = parse_flags(ctx, kPrune, f, args)) return *rc;
  if (!f.get_bool("force")) return ctx.fail("berth network prune: confirmation prompts are not supported; use --force");
  auto filters = filters_of(f.get_list("filter"));
  if (!filters) return ctx.fail(filters.error().msg);
  api::Query q;
  if (!filters->empty()) q.emplace_back("filters", *filters);
  auto j = ctx.call_json(client::Request::post("/networks/prune", q));
  if (!j) return ctx.fail(j.error().msg);
  if (j->contains("NetworksDeleted") && (*j)["NetworksDeleted"].is_array() && !(*j)["NetworksDeleted"].empty()) {
    ctx.out << "Deleted Networks:\n";
    for (const auto& n : (*j)["NetworksDeleted"]) ctx.out << n.get<std::string>() << "\n";
  }
  return 0;
}

int net_connect(Context& ctx, const Args& args, bool connect) {
  FlagSet f;
  const CommandSpec& spec = connect ? kConnect : kDisconnect;
  if (connect) {
    f.add_list("alias", 0, "Add network-scoped alias for the container", "strings");
    f.add_string("ip", 0, "", "IPv4 address (e.g., \"172.30.100.104\")");
  } else {
    f.add_bool("force", 'f', "Force the container to disconnect from a network");
  }
  if (auto rc = parse_flags(ctx, spec, f, args)) return *rc;
  if (f.args().size() != 2) return ctx.args_error(spec, "exactly", 2);
  Json body{{"Container", f.args()[1]}};
  if (connect) {
    Json ep = Json::object();
    if (!f.get_list("alias").empty()) ep["Aliases"] = f.get_list("alias");
    if (!f.get_string("ip").empty()) ep["IPAMConfig"] = Json{{"IPv4Address", f.get_string("ip")}};
    body["EndpointConfig"] = ep;
  } else {
    body["Force"] = f.get_bool("force");
  }
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto r = (*api)->request(client::Request::post(
      "/networks/" + client::path_escape(f.args()[0]) + (connect ? "/connect" : "/disconnect"), {}, body.dump()));
  if (!r) return ctx.fail(r.error().msg);
  return 0;
}

}  // namespace

int cmd_network(Context& ctx, const Args& args) {
  if (args.empty() || args.front() == "--help") {
    ctx.out << "Usage:  " << ctx.prog << " network COMMAND\n\nManage networks\n\nCommands:\n"
            << "  connect     Connect a container to a network\n  create      Create a network\n"
            << "  disconnect  Disconnect a container from a network\n"
            << "  inspect     Display detailed information on one or more networks\n"
            << "  ls          List networks\n  prune       Remove all unused networks\n"
            << "  rm          Remove one or more networks\n";
    return 0;
  }
  std::string sub = args.front();
  Args rest(args.begin() + 1, args.end());
  if (sub == "create") return net_create(ctx, rest);
  if (sub == "ls" || sub == "list") return net_ls(ctx, rest);
  if (sub == "inspect") return net_inspect(ctx, rest);
  if (sub == "rm" || sub == "remove") return net_rm(ctx, rest);
  if (sub == "prune") return net_prune(ctx, rest);
  if (sub == "connect") return net_connect(ctx, rest, true);
  if (sub == "disconnect") return net_connect(ctx, rest, false);
  (void)kNetwork;
  return ctx.fail(ctx.prog + ": unknown command: " + ctx.prog + " network " + sub + "\n\nRun '" + ctx.prog +
                  " network --help' for more information");
}

}  // namespace berth::cli
