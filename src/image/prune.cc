#include "image/prune.h"

#include <map>

#include "common/fs.h"

namespace berth::image {

namespace {

bool label_match(const Json& labels, const std::string& f) {
  auto eq = f.find('=');
  std::string key = f.substr(0, eq);
  if (!labels.is_object() || !labels.contains(key)) return false;
  if (eq == std::string::npos) return true;
  const Json& v = labels[key];
  return v.is_string() && v.get<std::string>() == f.substr(eq + 1);
}

}  // namespace

Status parse_prune_filters(const std::vector<std::pair<std::string, std::vector<std::string>>>& filters,
                           PruneOptions& out) {
  for (const auto& [k, vals] : filters) {
    if (k == "dangling") {
      for (const auto& v : vals) {
        if (v == "true" || v == "1") out.dangling_only = true;
        else if (v == "false" || v == "0") out.dangling_only = false;
        else return make_error(Errc::invalid, "Invalid filter 'dangling=[" + v + "]'");
      }
    } else if (k == "label" || k == "label!") {
      for (const auto& v : vals) out.labels.emplace_back(v, k == "label!");
    } else if (k != "until") {
      return make_error(Errc::invalid, "invalid filter '" + k + "'");
    }
  }
  return ok();
}

Result<Json> prune(ImageStore& store, const PruneOptions& opts) {
  Json deleted = Json::array();
  int64_t reclaimed = 0;
  for (const auto& img : store.list()) {
    if (opts.in_use.count(img.id)) continue;
    const bool dangling = img.repo_tags.empty() && img.repo_digests.empty();
    if (opts.dangling_only && !dangling) continue;
    if (opts.until_unix_nano && img.created_unix_nano >= opts.until_unix_nano) continue;
    Json labels = img.config.contains("config") && img.config["config"].is_object()
                      ? img.config["config"].value("Labels", Json::object())
                      : Json::object();
    bool keep = false;
    for (const auto& [l, neg] : opts.labels) keep |= label_match(labels, l) == neg;
    if (keep) continue;
    // Sizes of its layers before they go: what a deleted layer frees.
    std::map<std::string, int64_t> sizes;
    for (size_t i = 0; i < img.layer_dirs.size(); ++i) {
      sizes["sha256:" + fs::basename(fs::dirname(img.layer_dirs[i]))] = i < img.layer_sizes.size() ? img.layer_sizes[i] : 0;
    }
    auto r = store.remove(img.id, /*force=*/true);
    if (!r) {
      if (r.error().kind == Errc::not_found) continue;  // went meanwhile
      return std::move(r).error();
    }
    for (const auto& e : *r) {
      deleted.push_back(e);
      if (e.contains("Deleted")) {
        auto it = sizes.find(e["Deleted"].get<std::string>());
        if (it != sizes.end()) reclaimed += it->second;
      }
    }
  }
  return Json{{"ImagesDeleted", deleted.empty() ? Json(nullptr) : deleted}, {"SpaceReclaimed", reclaimed}};
}

}  // namespace berth::image
