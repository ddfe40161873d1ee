// `berth commit`, `berth history` and `berth search`, printed as the docker
// CLI 28 prints them (same flags, tables, truncation and errors).
#include <algorithm>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/reference.h"
#include "cli/timestamp.h"
#include "common/strings.h"
#include "common/time.h"

namespace berth::cli {

namespace {

constexpr CommandSpec kCommit{"commit", "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
                              "Create a new image from a container's changes"};
constexpr CommandSpec kHistory{"history", "history [OPTIONS] IMAGE", "Show the history of an image"};
constexpr CommandSpec kSearch{"search", "search [OPTIONS] TERM", "Search Docker Hub for images"};


}  // namespace

int cmd_commit(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_string("author", 'a', "", "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")");
  flags.add_list("change", 'c', "Apply Dockerfile instruction to the created image");
  flags.add_string("message", 'm', "", "Commit message");
  flags.add_bool("pause", 'p', "Pause container during commit", true);
  if (auto rc = parse_flags(ctx, kCommit, flags, args)) return *rc;
  const auto& a = flags.args();
  if (a.empty() || a.size() > 2) {
    ctx.out.flush();
    ctx.err << ctx.prog << ": '" << ctx.prog << " commit' requires at least 1 and at most 2 arguments\n\nUsage:  "
            << ctx.prog << " " << kCommit.usage << "\n\nRun '" << ctx.prog << " commit --help' for more information\n";
    ctx.err.flush();
    return 1;
  }
  api::Query q;
  q.emplace_back("container", a[0]);
  std::string repo, tag;
  if (a.size() == 2) {
    auto r = parse_image_ref(a[1]);
    if (!r) return ctx.fail(r.error().msg);
    if (!r->digest.empty()) return ctx.fail("refusing to create a tag with a digest reference");
    ImageRef t = with_default_tag(*r);
    repo = t.familiar_name();
    tag = t.tag;
  }
  q.emplace_back("repo", repo);
  q.emplace_back("tag", tag);
  q.emplace_back("comment", flags.get_string("message"));
  q.emplace_back("author", flags.get_string("author"));
  for (const auto& c : flags.get_list("change")) q.emplace_back("changes", c);
  if (!flags.get_bool("pause")) q.emplace_back("pause", "0");
  auto j = ctx.call_json(client::Request::post("/commit", q));
  if (!j) return ctx.fail(j.error().msg);
  ctx.out << j->value("Id", std::string()) << "\n";
  return 0;
}

int cmd_history(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_string("format", 0, "", "Format output using a custom template");
  flags.add_bool("human", 'H', "Print sizes and dates in human readable format", true);
  flags.add_bool("no-trunc", 0, "Don't truncate output");
  flags.add_string("platform", 0, "", "Show history for the given platform. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")");
  flags.add_bool("quiet", 'q', "Only show image IDs");
  if (auto rc = parse_flags(ctx, kHistory, flags, args)) return *rc;
  if (flags.args().size() != 1) return ctx.args_error(kHistory, "exactly", 1);
  if (flags.changed("platform"))
    return ctx.fail("\"--platform\" requires API version 1.48, but the Docker daemon API version is 1.41");
  auto j = ctx.call_json(client::Request::get("/images/" + flags.args()[0] + "/history"));
  if (!j) return ctx.fail(j.error().msg);
  if (!j->is_array()) return ctx.fail("invalid JSON in the daemon's response");
  const bool human = flags.get_bool("human"), trunc = !flags.get_bool("no-trunc");
  const int64_t now = now_unix_nano();
  std::vector<OrderedJson> rows;
  for (const auto& h : *j) {
    std::string id = h.value("Id", std::string());
    int64_t created = h.value("Created", int64_t{0});
    int64_t size = h.value("Size", int64_t{0});
    std::string by = h.value("CreatedBy", std::string());
    std::replace(by.begin(), by.end(), '\t', ' ');
    std::string at = local_rfc3339(created * 1000000000LL, /*nanos=*/false);
    rows.push_back({{"Comment", h.value("Comment", std::string())},
                    {"CreatedAt", at},
                    {"CreatedBy", trunc ? ellipsis(by, 45) : by},
                    {"CreatedSince", human ? human_duration(now - created * 1000000000LL) + " ago" : at},
                    {"ID", trunc ? truncate_id(id) : id},
                    {"Size", human ? human_size(static_cast<double>(size)) : std::to_string(size)}});
  }
  std::string format = flags.get_string("format");
  if (flags.get_bool("quiet")) format = "{{.ID}}";
  else if (format.empty() || format == "table")
    format = human ? "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
                   : "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
  else if (format == "json")
    format = "{{json .}}";
  OrderedJson headers = {{"Comment", "COMMENT"},        {"CreatedAt", "CREATED AT"}, {"CreatedBy", "CREATED BY"},
                         {"CreatedSince", "CREATED"},   {"ID", "IMAGE"},             {"Size", "SIZE"}};
  return render_format(ctx, format, rows, headers);
}

int cmd_search(Context& ctx, const Args& args) {
  FlagSet flags;
  flags.add_list("filter", 'f', "Filter output based on conditions provided", "filter");
  flags.add_string("format", 0, "", "Pretty-print search using a Go template");
  flags.add_int("limit", 0, 0, "Max number of search results");
  flags.add_bool("no-trunc", 0, "Don't truncate output");
  if (auto rc = parse_flags(ctx, kSearch, flags, args)) return *rc;
  for (const auto& f : flags.get_list("filter"))
    if (f.find('=') == std::string::npos)
      return ctx.flag_error(kSearch, make_error(Errc::invalid, "invalid argument \"" + f +
                                                                   "\" for \"-f, --filter\" flag: bad format of "
                                                                   "filter (expected name=value)"));
  if (flags.args().size() != 1) return ctx.args_error(kSearch, "exactly", 1);
  auto filters = filters_json(flags.get_list("filter"));
  if (!filters) return ctx.fail(filters.error().msg);
  api::Query q;
  q.emplace_back("term", flags.args()[0]);
  if (flags.get_int("limit") != 0) q.emplace_back("limit", std::to_string(flags.get_int("limit")));
  if (!filters->empty()) q.emplace_back("filters", *filters);
  auto j = ctx.call_json(client::Request::get("/images/search", q));
  if (!j) return ctx.fail(j.error().msg);
  if (!j->is_array()) return ctx.fail("invalid JSON in the daemon's response");
  std::string format = flags.get_string("format");
  if (format.empty() || format == "table") format = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";
  else if (format == "json")
    format = "{{json .}}";
  // The docker CLI marshals a row with IsOfficial "true"/"false", while the
  // template field reads "[OK]" or ""; IsAutomated is gone from both.
  const bool json_rows = str::trim(format) == "{{json .}}";
  const bool trunc = !flags.get_bool("no-trunc");
  std::vector<OrderedJson> rows;
  for (const auto& r : *j) {
    std::string desc = r.value("description", std::string());
    std::replace(desc.begin(), desc.end(), '\n', ' ');
    std::replace(desc.begin(), desc.end(), '\r', ' ');
    bool official = r.value("is_official", false);
    rows.push_back({{"Description", trunc ? ellipsis(desc, 45) : desc},
                    {"IsOfficial", json_rows ? (official ? "true" : "false") : (official ? "[OK]" : "")},
                    {"Name", r.value("name", std::string())},
                    {"StarCount", std::to_string(r.value("star_count", int64_t{0}))}});
  }
  OrderedJson headers = {{"Description", "DESCRIPTION"}, {"IsOfficial", "OFFICIAL"}, {"Name", "NAME"},
                         {"StarCount", "STARS"}};
  return render_format(ctx, format, rows, headers);
}

}  // namespace berth::cli
