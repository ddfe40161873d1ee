// `berth ps` and `berth images`: docker's table layouts, -q, --no-trunc,
// filters and --format.
#include <algorithm>
#include <array>
#include <map>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/template.h"
#include "common/json_members.h"
#include "common/strings.h"

namespace berth::cli {

namespace {

constexpr CommandSpec kPs{"ps", "ps [OPTIONS]", "List containers"};
constexpr CommandSpec kImages{"images", "images [OPTIONS] [REPOSITORY[:TAG]]", "List images"};

}  // namespace

// -f key=value... → the filters JSON the docker CLI sends:
// {"key":{"value":true}}.
Result<std::string> filters_json(const std::vector<std::string>& flags,
                                 const std::vector<std::pair<std::string, std::string>>& extra) {
  std::map<std::string, std::map<std::string, bool>> m;
  for (const auto& f : flags) {
    size_t eq = f.find('=');
    if (eq == std::string::npos) return make_error(Errc::invalid, "bad format of filter (expected name=value)");
    std::string k = str::to_lower(str::trim(std::string_view(f).substr(0, eq)));
    m[k][std::string(str::trim(std::string_view(f).substr(eq + 1)))] = true;
  }
  for (const auto& [k, v] : extra) m[k][v] = true;
  if (m.empty()) return std::string();
  Json j = Json::object();
  for (const auto& [k, vals] : m)
    for (const auto& [v, b] : vals) j[k][v] = b;
  return j.dump();
}

// Renders --format: "table ..." prints a header row and aligns with
// docker's tabwriter (minwidth 10, padding 3); otherwise one line per row.
int render_format(Context& ctx, std::string format, const std::vector<OrderedJson>& rows,
                  const OrderedJson& headers) {
  bool table = str::starts_with(format, "table");
  if (table) format = std::string(str::trim(std::string_view(format).substr(5)));
  // Go's text/template turns "\t" typed on a shell line into a tab only when
  // the CLI unescapes it; docker does this for table formats.
  std::string unescaped;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '\\' && i + 1 < format.size() && (format[i + 1] == 't' || format[i + 1] == 'n')) {
      unescaped += format[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      unescaped += format[i];
    }
  }
  auto t = Template::parse(unescaped);
  if (!t) return ctx.fail(t.error().msg);
  std::string text;
  if (table) {
    auto h = t->execute(headers);
    if (!h) return ctx.fail(h.error().msg);
    text += *h + "\n";
  }
  for (const auto& r : rows) {
    auto s = t->execute(r);
    if (!s) return ctx.fail(s.error().msg);
    text += *s + "\n";
  }
  if (!table) {
    ctx.out << text;
    return 0;
  }
  TabWriter tw(10, 3);
  auto lines = str::split(text, '\n');
  lines.pop_back();  // text ends with a newline
  for (const auto& line : lines) tw.row(str::split(line, '\t'));
  ctx.out << tw.str();
  return 0;
}

namespace {

std::string labels_string(const Json& labels) {
  std::string s;
  if (!labels.is_object()) return s;
  std::vector<std::string> kv;
  for (auto it = labels.begin(); it != labels.end(); ++it)
    kv.push_back(it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump()));
  std::sort(kv.begin(), kv.end());
  for (const auto& e : kv) s += (s.empty() ? "" : ",") + e;
  return s;
}

std::string ago(int64_t created_sec, int64_t now_ns) {
  return human_duration(now_ns - created_sec * 1000000000LL) + " ago";
}

// The IMAGE column: a 12-character ID when the container was created from
// an ID, otherwise the reference without a digest.
std::string container_image(const Json& c, bool trunc) {
  std::string image = c.value("Image", "");
  if (image.empty()) return "<no image>";
  if (!trunc) return image;
  std::string image_id = c.value("ImageID", "");
  if (!image_id.empty() && truncate_id(image_id) == truncate_id(image)) return truncate_id(image_id);
  if (size_t at = image.find('@'); at != std::string::npos) return image.substr(0, at);
  return image;
}

std::string container_names(const Json& c, bool trunc) {
  std::vector<std::string> names;
  if (c.contains("Names") && c["Names"].is_array())
    for (const auto& n : c["Names"])
      if (n.is_string()) {
        std::string s = n.get<std::string>();
        names.push_back(!s.empty() && s[0] == '/' ? s.substr(1) : s);
      }
  if (trunc) {
    for (const auto& n : names)
      if (n.find('/') == std::string::npos) return n;
  }
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

}  // namespace

int cmd_ps(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_bool("all", 'a', "Show all containers (default shows just running)");
  flags.add_list("filter", 'f', "Filter output based on conditions provided", "filter");
  flags.add_string("format", 0, "", "Format output using a custom template");
  flags.add_int("last", 'n', -1, "Show n last created containers (includes all states)");
  flags.add_bool("latest", 'l', "Show the latest created container (includes all states)");
  flags.add_bool("no-trunc", 0, "Don't truncate output");
  flags.add_bool("quiet", 'q', "Only display container IDs");
  flags.add_bool("size", 's', "Display total file sizes");
  if (auto rc = parse_flags(ctx, kPs, flags, args)) return *rc;
  if (!flags.args().empty()) return ctx.args_error(kPs, "none", 0);

  auto filters = filters_json(flags.get_list("filter"));
  if (!filters) return ctx.fail(filters.error().msg);
  api::Query q;
  if (flags.get_bool("all")) q.emplace_back("all", "1");
  int64_t last = flags.get_int("last");
  if (flags.get_bool("latest") && last == -1) last = 1;
  if (last > 0) q.emplace_back("limit", std::to_string(last));
  const std::string& format = flags.get_string("format");
  bool size = flags.get_bool("size") ||
              (!format.empty() && format.find(".Size") != std::string::npos);
  if (size) q.emplace_back("size", "1");
  if (!filters->empty()) q.emplace_back("filters", *filters);

  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto r = (*api)->request(client::Request::get("/containers/json", q));
  if (!r) return ctx.fail(r.error().msg);
  // Only the members a row shows are decoded (HostConfig, NetworkSettings,
  // Mounts are most of each entry): DESIGN.md §6, ps with 1,000 running.
  auto list = parse_json_array_members(r->body, {"Id", "Names", "Image", "ImageID", "Command", "Created", "Ports",
                                                 "Labels", "State", "Status", "SizeRw", "SizeRootFs"});
  if (!list || !list->is_array()) return ctx.fail("invalid JSON in the daemon's response");

  bool trunc = !flags.get_bool("no-trunc");
  if (flags.get_bool("quiet") && format.empty()) {
    for (const auto& c : *list) ctx.out << (trunc ? truncate_id(c.value("Id", "")) : c.value("Id", "")) << "\n";
    return 0;
  }
  int64_t now = now_unix_nano();
  // The columns of a row, in the order --format's fields are listed; the
  // table reads them directly, a template through one OrderedJson each.
  enum Col { kId, kImage, kCommand, kCreatedAt, kRunningFor, kPorts, kState, kStatus, kSize, kNames, kLabels, kCols };
  static constexpr const char* kField[kCols] = {"ID",    "Image",  "Command", "CreatedAt", "RunningFor", "Ports",
                                                "State", "Status", "Size",    "Names",     "Labels"};
  std::vector<std::array<std::string, kCols>> rows;
  rows.reserve(list->size());
  for (const auto& c : *list) {
    std::string cmd = c.value("Command", "");
    if (trunc) cmd = ellipsis(cmd, 20);
    std::string size_str;
    if (size) {
      double srw = c.value("SizeRw", 0.0), sv = c.value("SizeRootFs", 0.0);
      size_str = human_size(srw);
      if (sv > 0) size_str += " (virtual " + human_size(sv) + ")";
    }
    int64_t created = c.value("Created", int64_t{0});
    auto& row = rows.emplace_back();
    row[kId] = trunc ? truncate_id(c.value("Id", "")) : c.value("Id", "");
    row[kImage] = container_image(c, trunc);
    row[kCommand] = go_quote(cmd);
    row[kCreatedAt] = std::to_string(created);
    row[kRunningFor] = ago(created, now);
    row[kPorts] = displayable_ports(c.contains("Ports") ? c["Ports"] : Json());
    row[kState] = c.value("State", "");
    row[kStatus] = c.value("Status", "");
    row[kSize] = std::move(size_str);
    row[kNames] = container_names(c, trunc);
    row[kLabels] = labels_string(c.contains("Labels") ? c["Labels"] : Json());
  }
  if (!format.empty()) {
    std::vector<OrderedJson> objs;
    objs.reserve(rows.size());
    for (auto& row : rows) {
      OrderedJson o = OrderedJson::object();
      for (int i = 0; i < kCols; ++i) o[kField[i]] = std::move(row[i]);
      objs.push_back(std::move(o));
    }
    OrderedJson headers = {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"},    {"Command", "COMMAND"},
                           {"CreatedAt", "CREATED AT"}, {"RunningFor", "CREATED"}, {"Ports", "PORTS"},
                           {"State", "STATE"},      {"Status", "STATUS"}, {"Size", "SIZE"},
                           {"Names", "NAMES"},      {"Labels", "LABELS"}};
    return render_format(ctx, format, objs, headers);
  }
  TabWriter tw(10, 3);
  std::vector<std::string> header = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"};
  if (size) header.push_back("SIZE");
  tw.row(header);
  for (auto& row : rows) {
    std::vector<std::string> cells = {std::move(row[kId]),         std::move(row[kImage]),  std::move(row[kCommand]),
                                      std::move(row[kRunningFor]), std::move(row[kStatus]), std::move(row[kPorts]),
                                      std::move(row[kNames])};
    if (size) cells.push_back(std::move(row[kSize]));
    tw.row(std::move(cells));
  }
  ctx.out << tw.str();
  return 0;
}

int cmd_images(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_bool("all", 'a', "Show all images (default hides intermediate images)");
  flags.add_bool("digests", 0, "Show digests");
  flags.add_list("filter", 'f', "Filter output based on conditions provided", "filter");
  flags.add_string("format", 0, "", "Format output using a custom template");
  flags.add_bool("no-trunc", 0, "Don't truncate output");
  flags.add_bool("quiet", 'q', "Only show image IDs");
  if (auto rc = parse_flags(ctx, kImages, flags, args)) return *rc;
  if (flags.args().size() > 1) return ctx.args_error(kImages, "at most", 1);

  std::vector<std::pair<std::string, std::string>> extra;
  if (!flags.args().empty()) extra.emplace_back("reference", flags.args().front());
  auto filters = filters_json(flags.get_list("filter"), extra);
  if (!filters) return ctx.fail(filters.error().msg);
  api::Query q;
  if (flags.get_bool("all")) q.emplace_back("all", "1");
  if (!filters->empty()) q.emplace_back("filters", *filters);
  auto api = ctx.api();
  if (!api) return ctx.fail(api.error().msg);
  auto r = (*api)->request(client::Request::get("/images/json", q));
  if (!r) return ctx.fail(r.error().msg);
  auto list = r->json();
  if (!list || !list->is_array()) return ctx.fail("invalid JSON in the daemon's response");

  bool trunc = !flags.get_bool("no-trunc");
  bool digests = flags.get_bool("digests");
  int64_t now = now_unix_nano();
  std::vector<OrderedJson> rows;
  for (const auto& img : *list) {
    std::string id = img.value("Id", "");
    std::string shown_id = trunc ? truncate_id(id) : id;
    int64_t created = img.value("Created", int64_t{0});
    std::string created_since = created > 0 ? ago(created, now) : "N/A";
    double size = img.value("Size", 0.0);
    auto add = [&](std::string repo, std::string tag, std::string digest) {
      rows.push_back({{"Repository", repo},          {"Tag", tag},
                      {"Digest", digest},            {"ID", shown_id},
                      {"CreatedSince", created_since}, {"CreatedAt", std::to_string(created)},
                      {"Size", human_size(size)}});
    };
    std::vector<std::string> tags, dgsts;
    if (img.contains("RepoTags") && img["RepoTags"].is_array())
      for (const auto& t : img["RepoTags"])
        if (t.is_string() && t.get<std::string>() != "<none>:<none>") tags.push_back(t.get<std::string>());
    if (img.contains("RepoDigests") && img["RepoDigests"].is_array())
      for (const auto& d : img["RepoDigests"])
        if (d.is_string() && d.get<std::string>() != "<none>@<none>") dgsts.push_back(d.get<std::string>());
    if (tags.empty() && dgsts.empty()) {
      add("<none>", "<none>", "<none>");
      continue;
    }
    // repo → tags and repo → digests, in first-seen order.
    std::vector<std::pair<std::string, std::vector<std::string>>> repo_tags, repo_digests;
    auto slot = [](auto& v, const std::string& k) -> std::vector<std::string>& {
      for (auto& [name, vals] : v)
        if (name == k) return vals;
      v.emplace_back(k, std::vector<std::string>{});
      return v.back().second;
    };
    for (const auto& t : tags) {
      size_t colon = t.rfind(':');
      if (colon == std::string::npos || t.find('/', colon) != std::string::npos) continue;
      slot(repo_tags, t.substr(0, colon)).push_back(t.substr(colon + 1));
    }
    for (const auto& d : dgsts) {
      size_t at = d.find('@');
      if (at == std::string::npos) continue;
      slot(repo_digests, d.substr(0, at)).push_back(d.substr(at + 1));
    }
    for (const auto& [repo, ts] : repo_tags) {
      std::vector<std::string> ds;
      for (auto it = repo_digests.begin(); it != repo_digests.end(); ++it)
        if (it->first == repo) {
          ds = it->second;
          repo_digests.erase(it);
          break;
        }
      if (!digests) ds.clear();
      for (const auto& t : ts) {
        if (ds.empty()) {
          add(repo, t, "<none>");
          continue;
        }
        for (const auto& d : ds) add(repo, t, d);
      }
    }
    for (const auto& [repo, ds] : repo_digests) {
      if (digests) {
        for (const auto& d : ds) add(repo, "<none>", d);
      } else {
        add(repo, "<none>", "");
      }
    }
  }
  const std::string& format = flags.get_string("format");
  if (flags.get_bool("quiet") && format.empty()) {
    for (const auto& r : rows) ctx.out << r["ID"].get<std::string>() << "\n";
    return 0;
  }
  if (!format.empty()) {
    OrderedJson headers = {{"Repository", "REPOSITORY"}, {"Tag", "TAG"},         {"Digest", "DIGEST"},
                           {"ID", "IMAGE ID"},          {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"},
                           {"Size", "SIZE"}};
    return render_format(ctx, format, rows, headers);
  }
  TabWriter tw(10, 3);
  if (digests)
    tw.row({"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"});
  else
    tw.row({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
  for (const auto& r : rows) {
    std::vector<std::string> cells = {r["Repository"], r["Tag"]};
    if (digests) cells.push_back(r["Digest"]);
    cells.insert(cells.end(), {r["ID"], r["CreatedSince"], r["Size"]});
    tw.row(std::move(cells));
  }
  ctx.out << tw.str();
  return 0;
}

}  // namespace berth::cli
