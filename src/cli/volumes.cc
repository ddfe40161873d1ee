// berth volume create/ls/inspect/rm/prune.
#include <map>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/format.h"
#include "cli/template.h"
#include "client/client.h"
#include "common/strings.h"

namespace berth::cli {

namespace {

constexpr CommandSpec kCreate{"volume create", "volume create [OPTIONS] [VOLUME]", "Create a volume"};
constexpr CommandSpec kLs{"volume ls", "volume ls [OPTIONS]", "List volumes"};
constexpr CommandSpec kInspect{"volume inspect", "volume inspect [OPTIONS] VOLUME [VOLUME...]",
                               "Display detailed information on one or more volumes"};
constexpr CommandSpec kRm{"volume rm", "volume rm [OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes",
                          "Remove one or more volumes. You cannot remove a volume that is in use by a container."};
constexpr CommandSpec kPrune{"volume prune", "volume prune [OPTIONS]", "Remove all unused local volumes"};

Json kv(const std::vector<std::string>& list) {
  Json m = Json::object();
  for (const auto& s : list) {
    auto eq = s.find('=');
    m[s.substr(0, eq)] = eq == std::string::npos ? "" : s.substr(eq + 1);
  }
  return m;
}

std::string filters_of(const std::vector<std::string>& fs) {
  if (fs.empty()) return {};
  Json j = Json::object();
  for (const auto& f : fs) {
    auto eq = f.find('=');
    j[str::to_lower(f.substr(0, eq))][eq == std::string::npos ? "" : f.substr(eq + 1)] = true;
  }
  return j.dump();
}

int vol_create(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_string("driver", 'd', "local", "Specify volume driver name");
  f.add_list("label", 0, "Set metadata for a volume");
  f.add_list("opt", 'o', "Set driver specific options", "map");
  f.add_string("name", 0, "", "Specify volume name");
  if (auto rc = parse_flags(ctx, kCreate, f, args)) return *rc;
  if (f.args().size() > 1) return ctx.args_error(kCreate, "at most", 1);
  std::string name = f.args().empty() ? f.get_string("name") : f.args().front();
  Json body{{"Name", name}, {"Driver", f.get_string("driver")}, {"DriverOpts", kv(f.get_list("opt"))},
            {"Labels", kv(f.get_list("label"))}};
  auto j = ctx.call_json(client::Request::post("/volumes/create", {}, body.dump()));
  if (!j) return ctx.fail(j.error().msg);
  ctx.out << j->value("Name", "") << "\n";
  return 0;
}

int vol_ls(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_list("filter", 'f', "Provide filter values (e.g. 'dangling=true')", "filter");
  f.add_string("format", 0, "", "Pretty-print volumes using a Go template");
  f.add_bool("quiet", 'q', "Only display volume names");
  if (auto rc = parse_flags(ctx, kLs, f, args)) return *rc;
  api::Query q;
  if (auto fl = filters_of(f.get_list("filter")); !fl.empty()) q.emplace_back("filters", fl);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto r = (*api)->request(client::Request::get("/volumes", q));
  if (!r) return ctx.fail(r.error().msg);
  auto j = r->json();
  if (!j || !j->is_object()) return ctx.fail("invalid JSON in the daemon's response");
  std::vector<Json> vols;
  if ((*j)["Volumes"].is_array()) vols.assign((*j)["Volumes"].begin(), (*j)["Volumes"].end());
  std::sort(vols.begin(), vols.end(), [](const Json& a, const Json& b) { return a.value("Name", "") < b.value("Name", ""); });
  const std::string& format = f.get_string("format");
  if (f.get_bool("quiet") && format.empty()) {
    for (const auto& v : vols) ctx.out << v.value("Name", "") << "\n";
    return 0;
  }
  if (!format.empty()) {
    auto t = Template::parse(format);
    if (!t) return ctx.fail(t.error().msg);
    for (const auto& v : vols) {
      OrderedJson row = {{"Name", v.value("Name", "")}, {"Driver", v.value("Driver", "")},
                         {"Scope", v.value("Scope", "")}, {"Mountpoint", v.value("Mountpoint", "")}};
      auto s = t->execute(row);
      if (!s) return ctx.fail(s.error().msg);
      ctx.out << *s << "\n";
    }
    return 0;
  }
  TabWriter tw(10, 3);
  tw.row({"DRIVER", "VOLUME NAME"});
  for (const auto& v : vols) tw.row({v.value("Driver", ""), v.value("Name", "")});
  ctx.out << tw.str();
  return 0;
}

int vol_inspect(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_string("format", 'f', "", "Format the output using the given Go template");
  if (auto rc = parse_flags(ctx, kInspect, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kInspect, "at least", 1);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  Json all = Json::array();
  int rc = 0;
  for (const auto& n : f.args()) {
    auto r = (*api)->request(client::Request::get("/volumes/" + client::path_escape(n)));
    if (!r) {
      ctx.err << r.error().msg << "\n";
      rc = 1;
      continue;
    }
    if (auto j = r->json()) all.push_back(*j);
  }
  if (!f.get_string("format").empty()) {
    auto t = Template::parse(f.get_string("format"));
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

int vol_rm(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_bool("force", 'f', "Force the removal of one or more volumes");
  if (auto rc = parse_flags(ctx, kRm, f, args)) return *rc;
  if (f.args().empty()) return ctx.args_error(kRm, "at least", 1);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  int rc = 0;
  api::Query q;
  if (f.get_bool("force")) q.emplace_back("force", "1");
  for (const auto& n : f.args()) {
    auto r = (*api)->request(client::Request::del("/volumes/" + client::path_escape(n), q));
    if (!r) {
      ctx.err << r.error().msg << "\n";
      rc = 1;
      continue;
    }
    ctx.out << n << "\n";
  }
  return rc;
}

int vol_prune(Context& ctx, const Args& args) {
  FlagSet f;
  f.add_bool("force", 'f', "Do not prompt for confirmation");
  f.add_list("filter", 0, "Provide filter values (e.g. 'label=<label>')", "filter");
  if (auto rc = parse_flags(ctx, kPrune, f, args)) return *rc;
  if (!f.get_bool("force")) return ctx.fail("berth volume prune: confirmation prompts are not supported; use --force");
  api::Query q;
  if (auto fl = filters_of(f.get_list("filter")); !fl.empty()) q.emplace_back("filters", fl);
  auto j = ctx.call_json(client::Request::post("/volumes/prune", q));
  if (!j) return ctx.fail(j.error().msg);
  if ((*j)["VolumesDeleted"].is_array() && !(*j)["VolumesDeleted"].empty()) {
    ctx.out << "Deleted Volumes:\n";
    for (const auto& n : (*j)["VolumesDeleted"]) ctx.out << n.get<std::string>() << "\n";
  }
  ctx.out << "\nTotal reclaimed space: 0B\n";
  return 0;
}

}  // namespace

int cmd_volume(Context& ctx, const Args& args) {
  if (args.empty() || args.front() == "--help") {
    ctx.out << "Usage:  " << ctx.prog << " volume COMMAND\n\nManage volumes\n\nCommands:\n"
            << "  create      Create a volume\n  inspect     Display detailed information on one or more volumes\n"
            << "  ls          List volumes\n  prune       Remove all unused local volumes\n"
            << "  rm          Remove one or more volumes\n";
    return 0;
  }
  std::string sub = args.front();
  Args rest(args.begin() + 1, args.end());
  if (sub == "create") return vol_create(ctx, rest);
  if (sub == "ls" || sub == "list") return vol_ls(ctx, rest);
  if (sub == "inspect") return vol_inspect(ctx, rest);
  if (sub == "rm" || sub == "remove") return vol_rm(ctx, rest);
  if (sub == "prune") return vol_prune(ctx, rest);
  return ctx.fail(ctx.prog + ": unknown command: " + ctx.prog + " volume " + sub + "\n\nRun '" + ctx.prog +
                  " volume --help' for more information");
}

}  // namespace berth::cli
