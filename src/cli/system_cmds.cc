// `berth events`, `berth system df` and `berth system prune`, printed as
// the docker CLI 28 prints them.
#include <unistd.h>

#include <algorithm>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/template.h"
#include "cli/timestamp.h"
#include "common/strings.h"
#include "common/time.h"

namespace berth::cli {

namespace {

constexpr CommandSpec kEvents{"events", "events [OPTIONS]", "Get real time events from the server"};
constexpr CommandSpec kDf{"system df", "system df [OPTIONS]", "Show docker disk usage"};
constexpr CommandSpec kPrune{"system prune", "system prune [OPTIONS]", "Remove unused data"};


// docker's prettyPrintEvent.
std::string pretty_event(const Json& e) {
  std::string s;
  int64_t tn = e.value("timeNano", int64_t{0}), t = e.value("time", int64_t{0});
  if (tn != 0) s = local_rfc3339(tn, /*nanos=*/true) + " ";
  else if (t != 0) s = local_rfc3339(t * 1000000000LL, /*nanos=*/true) + " ";
  const Json empty = Json::object();
  const Json& actor = e.contains("Actor") && e["Actor"].is_object() ? e["Actor"] : empty;
  s += e.value("Type", std::string()) + " " + e.value("Action", std::string()) + " " +
       actor.value("ID", std::string());
  if (actor.contains("Attributes") && actor["Attributes"].is_object() && !actor["Attributes"].empty()) {
    std::vector<std::string> kv;
    for (auto it = actor["Attributes"].begin(); it != actor["Attributes"].end(); ++it)
      kv.push_back(it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump()));
    std::sort(kv.begin(), kv.end());  // keys are unique, so this sorts by key
    std::string joined;
    for (const auto& x : kv) joined += (joined.empty() ? "" : ", ") + x;
    s += " (" + joined + ")";
  }
  return s + "\n";
}

bool confirm(Context& ctx, const std::string& msg) {
  ctx.out << msg << " [y/N] ";
  ctx.out.flush();
  std::string answer;
  char ch;
  while (::read(ctx.in_fd, &ch, 1) == 1 && ch != '\n') answer += ch;
  answer = str::to_lower(std::string(str::trim(answer)));
  return answer == "y" || answer == "yes";
}

// pflag's error for a --filter value without "=" (the docker CLI's
// FilterOpt rejects it while parsing flags: exit 125 with the usage).
std::optional<int> check_filters(Context& ctx, const CommandSpec& spec, const std::vector<std::string>& fl,
                                 const char* flag_name) {
  for (const auto& f : fl)
    if (f.find('=') == std::string::npos)
      return ctx.flag_error(spec, make_error(Errc::invalid, "invalid argument \"" + f + "\" for \"" + flag_name +
                                                                "\" flag: bad format of filter (expected name=value)"));
  return std::nullopt;
}

std::string percent(int64_t part, int64_t total) { return " (" + std::to_string(part * 100 / total) + "%)"; }

// docker system df -v: the per-object tables, as docker CLI 28 lays them out.
std::string df_verbose(const Json& du) {
  const int64_t now = now_unix_nano();
  const Json kEmpty = Json::array();
  auto arr = [&](const char* k) -> const Json& { return du.contains(k) && du[k].is_array() ? du[k] : kEmpty; };
  auto ago = [&](int64_t sec) { return human_duration(now - sec * 1000000000LL) + " ago"; };
  auto hs4 = [](int64_t v) { return human_size(static_cast<double>(v), 4); };
  std::string out = "Images space usage:\n\n";
  {
    TabWriter tw(10, 3);
    tw.row({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"});
    for (const auto& i : arr("Images")) {
      std::string repo = "<none>", tag = "<none>";
      if (i.contains("RepoTags") && i["RepoTags"].is_array() && !i["RepoTags"].empty() && i["RepoTags"][0].is_string()) {
        std::string t = i["RepoTags"][0].get<std::string>();
        auto c = t.rfind(':');
        if (t != "<none>:<none>" && c != std::string::npos && t.find('/', c) == std::string::npos) {
          repo = t.substr(0, c);
          tag = t.substr(c + 1);
        }
      }
      int64_t size = i.value("Size", int64_t{0}), shared = i.value("SharedSize", int64_t{-1}),
              ctrs = i.value("Containers", int64_t{-1});
      tw.row({repo, tag, truncate_id(i.value("Id", std::string())), ago(i.value("Created", int64_t{0})),
              human_size(static_cast<double>(size)), shared == -1 ? "N/A" : hs4(shared),
              shared == -1 ? "N/A" : hs4(size - shared), ctrs == -1 ? "N/A" : std::to_string(ctrs)});
    }
    out += tw.str();
  }
  out += "\nContainers space usage:\n\n";
  {
    TabWriter tw(10, 3);
    tw.row({"CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"});
    for (const auto& c : arr("Containers")) {
      std::string image = c.value("Image", std::string()), image_id = c.value("ImageID", std::string());
      if (image.empty()) image = "<no image>";
      else if (!image_id.empty() && truncate_id(image_id) == truncate_id(image)) image = truncate_id(image_id);
      else if (auto at = image.find('@'); at != std::string::npos) image = image.substr(0, at);
      int64_t vols = 0;
      if (c.contains("Mounts") && c["Mounts"].is_array())
        for (const auto& m : c["Mounts"])
          if (m.is_object() && m.value("Driver", std::string()) == "local") ++vols;
      std::string name;
      if (c.contains("Names") && c["Names"].is_array())
        for (const auto& n : c["Names"]) {
          std::string s = n.is_string() ? n.get<std::string>() : "";
          if (!s.empty() && s[0] == '/') s = s.substr(1);
          if (s.find('/') == std::string::npos) {
            name = s;
            break;
          }
        }
      tw.row({truncate_id(c.value("Id", std::string())), image,
              go_quote(ellipsis(c.value("Command", std::string()), 20)), std::to_string(vols),
              human_size(static_cast<double>(c.value("SizeRw", int64_t{0}))), ago(c.value("Created", int64_t{0})),
              c.value("Status", std::string()), name});
    }
    out += tw.str();
  }
  out += "\nLocal Volumes space usage:\n\n";
  {
    TabWriter tw(10, 3);
    tw.row({"VOLUME NAME", "LINKS", "SIZE"});
    for (const auto& v : arr("Volumes")) {
      const Json empty = Json::object();
      const Json& u = v.contains("UsageData") && v["UsageData"].is_object() ? v["UsageData"] : empty;
      int64_t refs = u.value("RefCount", int64_t{-1}), size = u.value("Size", int64_t{-1});
      tw.row({v.value("Name", std::string()), refs == -1 ? "N/A" : std::to_string(refs),
              size == -1 ? "N/A" : hs4(size)});
    }
    out += tw.str();
  }
  int64_t cache = 0;
  for (const auto& b : arr("BuildCache")) cache += b.value("Size", int64_t{0});
  out += "\nBuild cache usage: " + hs4(cache) + "\n\n";
  {
    TabWriter tw(10, 3);
    tw.row({"CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"});
    for (const auto& b : arr("BuildCache")) {
      auto since = [&](const char* k) {
        auto t = timeutil::parse_rfc3339(b.value(k, std::string()));
        return t ? human_duration(now - *t) + " ago" : std::string();
      };
      tw.row({b.value("ID", std::string()).substr(0, 12), b.value("Type", std::string()),
              hs4(b.value("Size", int64_t{0})), since("CreatedAt"), since("LastUsedAt"),
              std::to_string(b.value("UsageCount", int64_t{0})), b.value("Shared", false) ? "true" : "false"});
    }
    out += tw.str();
  }
  return out;
}

}  // namespace

int cmd_events(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_list("filter", 'f', "Filter output based on conditions provided", "filter");
  flags.add_string("format", 0, "", "Format output using a custom template");
  flags.add_string("since", 0, "", "Show all events created since timestamp");
  flags.add_string("until", 0, "", "Stream events until this timestamp");
  if (auto rc = parse_flags(ctx, kEvents, flags, args)) return *rc;
  if (auto rc = check_filters(ctx, kEvents, flags.get_list("filter"), "-f, --filter")) return *rc;
  if (!flags.args().empty()) return ctx.args_error(kEvents, "none", 0);
  std::string format = flags.get_string("format");
  if (format == "json") format = "{{json .}}";
  std::optional<Template> tmpl;
  if (!format.empty()) {
    auto t = Template::parse(format);
    if (!t) {
      std::string m = t.error().msg;
      constexpr std::string_view kPrefix = "template parsing error: ";
      if (str::starts_with(m, kPrefix)) m = m.substr(kPrefix.size());
      return ctx.fail("Error parsing format: " + m, 64);
    }
    tmpl = std::move(*t);
  }
  api::Query q;
  const int64_t now = now_unix_nano();
  for (const char* k : {"since", "until"}) {
    const std::string& v = flags.get_string(k);
    if (v.empty()) continue;
    auto ts = get_timestamp(v, now, local_utc_offset(now / 1000000000LL));
    if (!ts) return ctx.fail(ts.error().msg);
    q.emplace_back(k, *ts);
  }
  auto filters = filters_json(flags.get_list("filter"));
  if (!filters) return ctx.fail(filters.error().msg);
  if (!filters->empty()) q.emplace_back("filters", *filters);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto s = (*api)->stream(client::Request::get("/events", q));
  if (!s) return ctx.fail(s.error().msg);
  std::string line;
  for (;;) {
    auto more = s->next_json_line(&line);
    if (!more) return ctx.fail(more.error().msg);
    if (!str::trim(line).empty()) {
      if (tmpl) {
        OrderedJson oj = OrderedJson::parse(line, nullptr, false);
        if (oj.is_discarded()) return ctx.fail("invalid JSON in the daemon's event stream");
        auto out = tmpl->execute(oj);
        if (!out) return ctx.fail(out.error().msg);
        ctx.out << *out << "\n";
      } else {
        auto j = parse_json(line);
        if (!j || !j->is_object()) return ctx.fail("invalid JSON in the daemon's event stream");
        if (j->contains("error")) return ctx.fail((*j)["error"].is_string() ? (*j)["error"].get<std::string>() : j->dump());
        ctx.out << pretty_event(*j);
      }
      ctx.out.flush();
    }
    if (!*more) break;
  }
  return 0;
}

int cmd_system_df(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_string("format", 0, "", "Format output using a custom template");
  flags.add_bool("verbose", 'v', "Show detailed information on space usage");
  if (auto rc = parse_flags(ctx, kDf, flags, args)) return *rc;
  if (!flags.args().empty()) return ctx.args_error(kDf, "none", 0);
  if (flags.get_bool("verbose") && !flags.get_string("format").empty())
    return ctx.fail("berth: system df -v with --format is not implemented");
  auto j = ctx.call_json(client::Request::get("/system/df"));
  if (!j) return ctx.fail(j.error().msg);
  if (!j->is_object()) return ctx.fail("invalid JSON in the daemon's response");
  if (flags.get_bool("verbose")) {
    ctx.out << df_verbose(*j);
    return 0;
  }
  auto arr = [&](const char* k) -> const Json& {
    static const Json kEmpty = Json::array();
    return j->contains(k) && (*j)[k].is_array() ? (*j)[k] : kEmpty;
  };
  auto hs = [](int64_t v) { return human_size(static_cast<double>(v), 4); };
  auto row = [](const std::string& type, size_t total, int64_t active, const std::string& size,
                const std::string& reclaim) {
    return OrderedJson{{"Active", std::to_string(active)}, {"Reclaimable", reclaim}, {"Size", size},
                       {"TotalCount", std::to_string(total)}, {"Type", type}};
  };
  std::vector<OrderedJson> rows;
  {  // Images: the layers' total, minus what images in use hold exclusively.
    int64_t total = j->value("LayersSize", int64_t{0}), used = 0, active = 0;
    for (const auto& i : arr("Images")) {
      if (i.value("Containers", int64_t{0}) == 0) continue;
      ++active;
      int64_t size = i.value("Size", int64_t{-1}), shared = i.value("SharedSize", int64_t{-1});
      if (size == -1 || shared == -1) continue;
      used += size - shared;
    }
    int64_t rec = total - used;
    rows.push_back(row("Images", arr("Images").size(), active, hs(total), hs(rec) + (total > 0 ? percent(rec, total) : "")));
  }
  {
    int64_t total = 0, rec = 0, active = 0;
    for (const auto& c : arr("Containers")) {
      std::string st = c.value("State", std::string());
      bool on = st.find("running") != std::string::npos || st.find("paused") != std::string::npos ||
                st.find("restarting") != std::string::npos;
      int64_t rw = c.value("SizeRw", int64_t{0});
      if (on) ++active;
      else rec += rw;
      total += rw;
    }
    rows.push_back(row("Containers", arr("Containers").size(), active, hs(total), hs(rec) + (total > 0 ? percent(rec, total) : "")));
  }
  {
    int64_t total = 0, rec = 0, active = 0;
    for (const auto& v : arr("Volumes")) {
      const Json empty = Json::object();
      const Json& u = v.contains("UsageData") && v["UsageData"].is_object() ? v["UsageData"] : empty;
      int64_t size = u.value("Size", int64_t{-1}), refs = u.value("RefCount", int64_t{0});
      if (refs > 0) ++active;
      if (size == -1) continue;
      if (refs == 0) rec += size;
      total += size;
    }
    rows.push_back(row("Local Volumes", arr("Volumes").size(), active, hs(total), hs(rec) + (total > 0 ? percent(rec, total) : "")));
  }
  {
    int64_t total = 0, rec = 0, active = 0;
    for (const auto& b : arr("BuildCache")) {
      bool in_use = b.value("InUse", false), shared = b.value("Shared", false);
      int64_t size = b.value("Size", int64_t{0});
      if (in_use) ++active;
      if (!shared) total += size;
      if (!shared && !in_use) rec += size;
    }
    rows.push_back(row("Build Cache", arr("BuildCache").size(), active, hs(total), hs(rec)));
  }
  std::string format = flags.get_string("format");
  if (format.empty() || format == "table")
    format = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
  else if (format == "json")
    format = "{{json .}}";
  OrderedJson headers = {{"Active", "ACTIVE"}, {"Reclaimable", "RECLAIMABLE"}, {"Size", "SIZE"},
                         {"TotalCount", "TOTAL"}, {"Type", "TYPE"}};
  return render_format(ctx, format, rows, headers);
}

int cmd_system_prune(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_bool("all", 'a', "Remove all unused images not just dangling ones");
  flags.add_list("filter", 0, "Provide filter values (e.g. \"label=<key>=<value>\")", "filter");
  flags.add_bool("force", 'f', "Do not prompt for confirmation");
  flags.add_bool("volumes", 0, "Prune anonymous volumes");
  if (auto rc = parse_flags(ctx, kPrune, flags, args)) return *rc;
  if (auto rc = check_filters(ctx, kPrune, flags.get_list("filter"), "--filter")) return *rc;
  if (!flags.args().empty()) return ctx.args_error(kPrune, "none", 0);
  const bool all = flags.get_bool("all"), volumes = flags.get_bool("volumes");
  const auto& fl = flags.get_list("filter");
  if (volumes)
    for (const auto& f : fl)
      if (str::to_lower(std::string(str::trim(std::string_view(f).substr(0, f.find('='))))) == "until")
        return ctx.fail("ERROR: The \"until\" filter is not supported with \"--volumes\"");
  if (!flags.get_bool("force")) {
    std::string msg = "WARNING! This will remove:\n  - all stopped containers\n"
                      "  - all networks not used by at least one container\n";
    if (volumes) msg += "  - all anonymous volumes not used by at least one container\n";
    msg += all ? "  - all images without at least one container associated to them\n" : "  - all dangling images\n";
    msg += all ? "  - all build cache\n" : "  - unused build cache\n";
    if (!fl.empty()) {
      msg += "\n  Items to be pruned will be filtered with:\n";
      for (const auto& f : fl) msg += "  - " + f + "\n";
    }
    msg += "\nAre you sure you want to continue?";
    if (!confirm(ctx, msg)) return 0;
  }
  auto plain = filters_json(fl);
  if (!plain) return ctx.fail(plain.error().msg);
  auto query = [](const std::string& f) {
    api::Query q;
    if (!f.empty()) q.emplace_back("filters", f);
    return q;
  };
  int64_t reclaimed = 0;
  auto section = [&](const char* path, const api::Query& q, const char* key, const char* title,
                     auto&& item) -> std::optional<int> {
    auto j = ctx.call_json(client::Request::post(path, q));
    if (!j) return ctx.fail(j.error().msg);
    const Json& list = j->contains(key) ? (*j)[key] : Json();
    if (list.is_array() && !list.empty()) {
      reclaimed += j->value("SpaceReclaimed", int64_t{0});
      ctx.out << title << "\n";
      for (const auto& e : list) ctx.out << item(e) << "\n";
      ctx.out << "\n";
    }
    return std::nullopt;
  };
  auto str = [](const Json& e) { return e.is_string() ? e.get<std::string>() : e.dump(); };
  if (auto rc = section("/containers/prune", query(*plain), "ContainersDeleted", "Deleted Containers:", str)) return *rc;
  if (auto rc = section("/networks/prune", query(*plain), "NetworksDeleted", "Deleted Networks:", str)) return *rc;
  if (volumes)
    if (auto rc = section("/volumes/prune", query(*plain), "VolumesDeleted", "Deleted Volumes:", str)) return *rc;
  auto img_filters = filters_json(fl, {{"dangling", all ? "false" : "true"}});
  if (!img_filters) return ctx.fail(img_filters.error().msg);
  if (auto rc = section("/images/prune", query(*img_filters), "ImagesDeleted", "Deleted Images:", [](const Json& e) {
        if (!e.is_object()) return std::string();
        if (auto u = e.value("Untagged", std::string()); !u.empty()) return "untagged: " + u;
        return "deleted: " + e.value("Deleted", std::string());
      }))
    return *rc;
  api::Query bq = query(*plain);
  if (all) bq.emplace_back("all", "1");
  if (auto rc = section("/build/prune", bq, "CachesDeleted", "Deleted build cache objects:", str)) return *rc;
  ctx.out << "Total reclaimed space: " << human_size(static_cast<double>(reclaimed), 4) << "\n";
  return 0;
}

}  // namespace berth::cli
