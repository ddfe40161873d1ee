#include "image/image_store.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "common/fs.h"
#include "common/id.h"
#include "common/time.h"
#include "image/changes.h"
#include "image/gzip_blob.h"
#include "snapshot/extract.h"
#include "snapshot/layer_apply.h"

namespace berth::image {

namespace {

constexpr std::string_view kTmpPrefix = ".tmp-layer-";
constexpr const char* kLayerMarker = "layer";

const std::vector<std::string> kMigrations = {
    "CREATE TABLE images(id TEXT PRIMARY KEY, config TEXT NOT NULL, size INTEGER NOT NULL,"
    " created INTEGER NOT NULL, last_tag_time INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE layers(chain_id TEXT PRIMARY KEY, diff_id TEXT NOT NULL, parent TEXT NOT NULL,"
    " size INTEGER NOT NULL);"
    "CREATE TABLE image_layers(image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL, chain_id TEXT NOT NULL REFERENCES layers(chain_id),"
    " PRIMARY KEY(image_id, idx));"
    "CREATE INDEX image_layers_chain ON image_layers(chain_id);"
    "CREATE TABLE image_tags(ref TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES images(id)"
    " ON DELETE CASCADE, created INTEGER NOT NULL);",
    "CREATE TABLE layer_blobs(diff_id TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL,"
    " size INTEGER NOT NULL, added INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(diff_id, digest));",
    "CREATE TABLE blob_sources(digest TEXT NOT NULL, registry TEXT NOT NULL, repo TEXT NOT NULL,"
    " PRIMARY KEY(digest, registry, repo));",
};

std::string go_arch() {
  struct utsname u {};
  if (::uname(&u) != 0) return "amd64";
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64" || m == "arm64") return "arm64";
  if (m.rfind("armv", 0) == 0) return "arm";
  if (m == "i386" || m == "i686") return "386";
  return m;  // ppc64le, s390x, riscv64, mips64 name themselves as Go does
}

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// "name:tag" / "name@sha256:…" → "name".
std::string repo_of(const std::string& ref) {
  auto at = ref.find('@');
  if (at != std::string::npos) return ref.substr(0, at);
  auto c = ref.rfind(':');
  if (c != std::string::npos && ref.find('/', c) == std::string::npos) return ref.substr(0, c);
  return ref;
}

Error no_such_image(std::string_view ref) {
  return make_error(Errc::not_found, "No such image: " + std::string(ref));
}

Status fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sys_error("open " + dir);
  if (::fsync(fd.get()) != 0) return sys_error("fsync " + dir);
  return ok();
}

int64_t created_of(const Json& cfg) {
  if (!cfg.is_object() || !cfg.contains("created") || !cfg["created"].is_string()) return 0;
  auto t = timeutil::parse_rfc3339(cfg["created"].get<std::string>());
  return t ? *t : 0;
}

// The container config with every field Docker always prints filled in,
// keeping whatever else the image carries (Healthcheck, StopSignal, ...).
Json full_container_config(const Json& c) {
  Json out = empty_container_config();
  if (c.is_object())
    for (auto it = c.begin(); it != c.end(); ++it) out[it.key()] = it.value();
  return out;
}

std::string str_field(const Json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return "";
}

Status check_tag_name(const Reference& ref) {
  if (ref.full_name() == "docker.io/library/sha256")
    return make_error(Errc::invalid, "refusing to create an ambiguous tag using digest algorithm as name");
  return ok();
}

// Resolve the import target before reading any input: repo may carry a
// tag ("name:tag"); a separate tag overrides it.
Result<std::string> import_target(const ImportOptions& o) {
  if (o.repo.empty()) {
    if (!o.tag.empty()) return make_error(Errc::invalid, "tag given without a repository");
    return std::string();
  }
  auto ref = BERTH_TRY(parse_reference(o.repo));
  if (!ref.digest.empty()) return make_error(Errc::invalid, "cannot import digest reference");
  if (!o.tag.empty()) {
    if (!is_valid_tag(o.tag)) return make_error(Errc::invalid, "invalid tag format");
    ref.tag = o.tag;
  }
  BERTH_TRY_VOID(check_tag_name(ref));
  return ref.familiar_string();
}

}  // namespace

Result<std::unique_ptr<ImageStore>> ImageStore::open(store::Db& db, const std::string& data_root) {
  std::unique_ptr<ImageStore> s(new ImageStore(db, data_root));
  BERTH_TRY_VOID(fs::mkdir_p(data_root + "/overlay", 0710));
  s->blobs_ = BERTH_TRY(content::BlobStore::open(data_root + "/content"));
  BERTH_TRY_VOID(db.migrate("image", kMigrations));
  BERTH_TRY_VOID(s->sweep());
  BERTH_TRY_VOID(s->load());
  return s;
}

// Remove what a crash can leave behind: extraction temp dirs, and layer
// dirs (ours: they carry the marker) that never got their row.
Status ImageStore::sweep() {
  std::set<std::string> known;
  {
    auto q = BERTH_TRY(db_.prepare("SELECT chain_id FROM layers"));
    while (BERTH_TRY(q.step())) known.insert(q.text(0));
  }
  const std::string overlay = root_ + "/overlay";
  UniqueFd dfd(::open(overlay.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return sys_error("open " + overlay);
  for (const auto& name : fs::list_dir(overlay)) {
    if (name.rfind(kTmpPrefix, 0) == 0) {
      BERTH_TRY_VOID(snapshot::remove_tree_at(dfd.get(), name));
      continue;
    }
    if (!is_hex64(name) || known.count("sha256:" + name)) continue;
    struct stat st {};
    std::string marker = name + "/" + kLayerMarker;
    if (::fstatat(dfd.get(), marker.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // not a layer
    // Rename first so a crash mid-removal leaves a temp dir, not a half layer.
    std::string tmp = std::string(kTmpPrefix) + random_hex_id(8);
    if (::renameat(dfd.get(), name.c_str(), dfd.get(), tmp.c_str()) != 0) return sys_error("rename " + name);
    BERTH_TRY_VOID(snapshot::remove_tree_at(dfd.get(), tmp));
  }
  return ok();
}

Status ImageStore::load() {
  std::lock_guard g(mu_);
  images_.clear();
  tags_.clear();
  layer_refs_.clear();
  {
    auto q = BERTH_TRY(db_.prepare("SELECT id, config, size, last_tag_time FROM images"));
    while (BERTH_TRY(q.step())) {
      Image img;
      img.id = q.text(0);
      auto cfg = parse_json(q.text(1));
      if (!cfg) return make_error(Errc::internal, "image " + img.id + ": corrupt config in database");
      img.config = std::move(*cfg);
      img.size = q.int64(2);
      img.last_tag_unix_nano = q.int64(3);
      img.created_unix_nano = created_of(img.config);
      images_[img.id] = std::move(img);
    }
  }
  {
    auto q = BERTH_TRY(db_.prepare(
        "SELECT il.image_id, il.chain_id, l.size FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id"
        " ORDER BY il.image_id, il.idx"));
    while (BERTH_TRY(q.step())) {
      auto it = images_.find(q.text(0));
      if (it == images_.end()) continue;
      std::string chain = q.text(1);
      it->second.layer_dirs.push_back(layer_dir(std::string_view(chain).substr(7)) + "/diff");
      it->second.layer_sizes.push_back(q.int64(2));
      ++layer_refs_[chain];
    }
  }
  {
    auto q = BERTH_TRY(db_.prepare("SELECT ref, image_id FROM image_tags ORDER BY ref"));
    while (BERTH_TRY(q.step())) {
      std::string ref = q.text(0), id = q.text(1);
      auto it = images_.find(id);
      if (it == images_.end()) continue;
      tags_[ref] = id;
      if (ref.find('@') != std::string::npos) it->second.repo_digests.push_back(ref);
      else it->second.repo_tags.push_back(ref);
    }
  }
  return ok();
}

Result<std::string> ImageStore::find_id_locked(std::string_view ref) const {
  std::string_view hex = ref;
  bool id_form = false;
  if (hex.rfind("sha256:", 0) == 0) {
    hex.remove_prefix(7);
    id_form = true;
  }
  if (hex.size() == 64 && is_hex(hex)) {
    std::string id = "sha256:" + std::string(hex);
    if (images_.count(id)) return id;
    return no_such_image(ref);
  }
  if (!id_form) {
    auto norm = normalize_reference(ref);
    if (norm) {
      auto it = tags_.find(*norm);
      if (it != tags_.end()) return it->second;
    }
  }
  // A unique ID prefix (Docker: an ambiguous prefix is "not found").
  if (!hex.empty() && is_hex(hex)) {
    std::string prefix = "sha256:" + std::string(hex);
    auto it = images_.lower_bound(prefix);
    if (it != images_.end() && it->first.rfind(prefix, 0) == 0) {
      auto next = std::next(it);
      if (next == images_.end() || next->first.rfind(prefix, 0) != 0) return it->first;
    }
  }
  return no_such_image(ref);
}

Result<Image> ImageStore::resolve(std::string_view ref) const {
  std::lock_guard g(mu_);
  auto id = BERTH_TRY(find_id_locked(ref));
  return images_.at(id);
}

std::vector<Image> ImageStore::list() const {
  std::vector<Image> out;
  {
    std::lock_guard g(mu_);
    out.reserve(images_.size());
    for (const auto& [id, img] : images_) out.push_back(img);
  }
  std::stable_sort(out.begin(), out.end(), [](const Image& a, const Image& b) {
    return a.created_unix_nano > b.created_unix_nano;
  });
  return out;
}

namespace {

Result<std::vector<std::string>> filter_values(const Json& v, const std::string& key) {
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const auto& e : v) {
      if (!e.is_string()) return make_error(Errc::invalid, "invalid filter '" + key + "'");
      out.push_back(e.get<std::string>());
    }
  } else if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it)
      if (!it.value().is_boolean() || it.value().get<bool>()) out.push_back(it.key());
  } else {
    return make_error(Errc::invalid, "invalid filter '" + key + "'");
  }
  return out;
}

bool glob(const std::string& pattern, const std::string& s) {
  return ::fnmatch(pattern.c_str(), s.c_str(), FNM_PATHNAME) == 0;
}

}  // namespace

Result<std::vector<Image>> ImageStore::list(const Json& filters) const {
  if (!filters.is_null() && !filters.is_object()) return make_error(Errc::invalid, "invalid filters");
  std::optional<bool> dangling;
  std::vector<std::string> labels, refs;
  std::optional<int64_t> before, since;
  if (filters.is_object()) {
    for (auto it = filters.begin(); it != filters.end(); ++it) {
      const std::string& key = it.key();
      auto vals = BERTH_TRY(filter_values(it.value(), key));
      if (key == "dangling") {
        for (const auto& v : vals) {
          std::string l = v;
          for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          if (l == "true" || l == "1") dangling = true;
          else if (l == "false" || l == "0") dangling = false;
          else return make_error(Errc::invalid, "Invalid filter 'dangling=" + v + "'");
        }
      } else if (key == "label") {
        labels.insert(labels.end(), vals.begin(), vals.end());
      } else if (key == "reference") {
        refs.insert(refs.end(), vals.begin(), vals.end());
      } else if (key == "before" || key == "since") {
        for (const auto& v : vals) {
          auto img = BERTH_TRY(resolve(v));
          (key == "before" ? before : since) = img.created_unix_nano;
        }
      } else {
        return make_error(Errc::invalid, "invalid filter '" + key + "'");
      }
    }
  }
  std::vector<Image> out;
  for (auto& img : list()) {
    if (dangling && (*dangling != (img.repo_tags.empty() && img.repo_digests.empty()))) continue;
    if (before && img.created_unix_nano >= *before) continue;
    if (since && img.created_unix_nano <= *since) continue;
    bool ok_labels = true;
    for (const auto& l : labels) {
      const Json* lab = nullptr;
      if (img.config.contains("config") && img.config["config"].is_object() &&
          img.config["config"].contains("Labels") && img.config["config"]["Labels"].is_object())
        lab = &img.config["config"]["Labels"];
      auto eq = l.find('=');
      std::string k = l.substr(0, eq);
      if (!lab || !lab->contains(k)) {
        ok_labels = false;
        break;
      }
      if (eq != std::string::npos && (*lab)[k] != l.substr(eq + 1)) {
        ok_labels = false;
        break;
      }
    }
    if (!ok_labels) continue;
    if (!refs.empty()) {
      bool any = false;
      for (const auto& pattern : refs) {
        for (const auto& t : img.repo_tags) {
          std::string name = t.substr(0, t.rfind(':'));
          if (glob(pattern, t) || glob(pattern, name)) any = true;
        }
      }
      if (!any) continue;
    }
    out.push_back(std::move(img));
  }
  return out;
}

void ImageStore::set_tag_locked(const std::string& ref, const std::string& id, int64_t when) {
  auto old = tags_.find(ref);
  if (old != tags_.end() && old->second != id) {
    auto it = images_.find(old->second);
    if (it != images_.end()) {
      auto& v = it->second.repo_tags;
      v.erase(std::remove(v.begin(), v.end(), ref), v.end());
    }
  }
  tags_[ref] = id;
  auto& img = images_.at(id);
  if (std::find(img.repo_tags.begin(), img.repo_tags.end(), ref) == img.repo_tags.end()) {
    img.repo_tags.push_back(ref);
    std::sort(img.repo_tags.begin(), img.repo_tags.end());
  }
  img.last_tag_unix_nano = when;
}

Result<Image> ImageStore::import(int fd, const ImportOptions& opts) {
  // Everything that can be checked without the input is checked first.
  const std::string target = BERTH_TRY(import_target(opts));
  Json ccfg = empty_container_config();
  BERTH_TRY_VOID(apply_changes(opts.changes, ccfg));

  // 1. Extract into a temp dir next to the final place.
  const std::string overlay = root_ + "/overlay";
  UniqueFd odfd(::open(overlay.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!odfd) return sys_error("open " + overlay);
  const std::string tmp_name = std::string(kTmpPrefix) + random_hex_id(8);
  if (::mkdirat(odfd.get(), tmp_name.c_str(), 0700) != 0) return sys_error("mkdir " + tmp_name);
  bool tmp_exists = true;
  ScopeExit rm_tmp([&] {
    if (tmp_exists) (void)snapshot::remove_tree_at(odfd.get(), tmp_name);
  });
  const std::string tmp_path = overlay + "/" + tmp_name;
  if (::mkdir((tmp_path + "/diff").c_str(), 0755) != 0) return sys_error("mkdir " + tmp_path + "/diff");
  UniqueFd diff_fd(::open((tmp_path + "/diff").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!diff_fd) return sys_error("open " + tmp_path + "/diff");
  // Keep a gzip copy of the layer stream: it is what push uploads.
  auto gz = BERTH_TRY(GzipBlob::open(*blobs_));
  snapshot::ExtractOptions xo;
  xo.require_end_marker = true;  // no digest to check the stream against: a cut tar must not pass
  auto applied = BERTH_TRY(
      snapshot::apply_tar(fd, diff_fd.get(), [&](std::string_view d) { return gz->write(d); }, xo));
  const Digest gz_digest = BERTH_TRY(gz->finish());
  const LayerBlob gz_blob{applied.diff_id.str(), gz_digest.str(), "application/vnd.docker.image.rootfs.diff.tar.gzip",
                          gz->size()};
  const Digest chain = snapshot::chain_id(nullptr, applied.diff_id);
  Json marker = {{"chain_id", chain.str()}, {"diff_id", applied.diff_id.str()}, {"parent", ""},
                 {"size", applied.size}};
  BERTH_TRY_VOID(fs::write_file_atomic(tmp_path + "/" + kLayerMarker, marker.dump(), fs::Durability::none));
  // The layer's files must be durable before a row can point at them.
  if (::syncfs(diff_fd.get()) != 0) return sys_error("syncfs " + tmp_path);
  diff_fd.reset();

  // 2. The image config; its digest is the image ID.
  const int64_t now = timeutil::now_unix_nano();
  const std::string created = timeutil::rfc3339_nano(now);
  const std::string comment = opts.message.empty() ? "Imported from " + opts.source : opts.message;
  Json cfg = Json::object();
  cfg["architecture"] = opts.architecture.empty() ? go_arch() : opts.architecture;
  cfg["comment"] = comment;
  cfg["config"] = ccfg;
  cfg["container_config"] = empty_container_config();
  cfg["created"] = created;
  cfg["history"] = Json::array({Json{{"created", created}, {"comment", comment}}});
  cfg["os"] = opts.os.empty() ? "linux" : opts.os;
  if (!opts.variant.empty()) cfg["variant"] = opts.variant;
  cfg["rootfs"] = Json{{"type", "layers"}, {"diff_ids", Json::array({applied.diff_id.str()})}};
  const std::string cfg_bytes = cfg.dump();
  const Digest id = Digest::of(cfg_bytes);

  std::lock_guard g(mu_);
  const bool image_existed = images_.count(id.str()) > 0;
  // 3. Config blob: ingest → fsync → rename → fsync dir.
  const bool blob_existed = blobs_->has(id);
  auto blob = BERTH_TRY(blobs_->put(cfg_bytes));
  if (blob != id) return make_error(Errc::internal, "config digest mismatch");
  bool drop_blob = !blob_existed && !image_existed;
  ScopeExit rm_blob([&] {
    if (drop_blob) (void)blobs_->remove(id);
  });

  // 4. Layer into place (or reuse the identical layer already there).
  const std::string final_name(chain.hex());
  bool new_layer = false;
  if (::renameat(odfd.get(), tmp_name.c_str(), odfd.get(), final_name.c_str()) == 0) {
    tmp_exists = false;
    new_layer = true;
    BERTH_TRY_VOID(fsync_dir(overlay));
  } else if (errno != EEXIST && errno != ENOTEMPTY) {
    return sys_error("rename layer into place");
  }
  ScopeExit rm_layer([&] {
    if (new_layer) {
      std::string t = std::string(kTmpPrefix) + random_hex_id(8);
      if (::renameat(odfd.get(), final_name.c_str(), odfd.get(), t.c_str()) == 0)
        (void)snapshot::remove_tree_at(odfd.get(), t);
    }
  });

  // 5. All rows in one transaction, after the files are in place.
  BERTH_TRY_VOID(db_.transaction([&]() -> Status {
    auto l = BERTH_TRY(db_.prepare(
        "INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, size) VALUES(?1, ?2, '', ?3)"));
    l.bind(1, chain.str()).bind(2, applied.diff_id.str()).bind(3, applied.size);
    BERTH_TRY_VOID(l.run());
    BERTH_TRY_VOID(add_layer_blob(gz_blob));
    if (!image_existed) {
      auto i = BERTH_TRY(db_.prepare(
          "INSERT INTO images(id, config, size, created, last_tag_time) VALUES(?1, ?2, ?3, ?4, ?5)"));
      i.bind(1, id.str()).bind(2, cfg_bytes).bind(3, applied.size).bind(4, now).bind(5, target.empty() ? 0 : now);
      BERTH_TRY_VOID(i.run());
      auto il = BERTH_TRY(db_.prepare("INSERT INTO image_layers(image_id, idx, chain_id) VALUES(?1, 0, ?2)"));
      il.bind(1, id.str()).bind(2, chain.str());
      BERTH_TRY_VOID(il.run());
    }
    if (!target.empty()) {
      auto t = BERTH_TRY(db_.prepare(
          "INSERT OR REPLACE INTO image_tags(ref, image_id, created) VALUES(?1, ?2, ?3)"));
      t.bind(1, target).bind(2, id.str()).bind(3, now);
      BERTH_TRY_VOID(t.run());
      auto u = BERTH_TRY(db_.prepare("UPDATE images SET last_tag_time=?2 WHERE id=?1"));
      u.bind(1, id.str()).bind(2, now);
      BERTH_TRY_VOID(u.run());
    }
    return ok();
  }));
  drop_blob = false;
  new_layer = false;

  // 6. Publish in memory.
  if (!image_existed) {
    Image img;
    img.id = id.str();
    img.config = std::move(cfg);
    img.created_unix_nano = now;
    img.size = applied.size;
    img.layer_dirs.push_back(layer_dir(chain.hex()) + "/diff");
    img.layer_sizes.push_back(applied.size);
    images_[img.id] = std::move(img);
    ++layer_refs_[chain.str()];
  }
  if (!target.empty()) set_tag_locked(target, id.str(), now);
  return images_.at(id.str());
}

Status ImageStore::tag(const Image& img, std::string_view ref) {
  auto parsed = BERTH_TRY(parse_reference(ref));
  if (!parsed.digest.empty())
    return make_error(Errc::invalid, "refusing to create a tag with a digest reference");
  BERTH_TRY_VOID(check_tag_name(parsed));
  const std::string norm = parsed.familiar_string();
  const int64_t now = timeutil::now_unix_nano();
  std::lock_guard g(mu_);
  if (!images_.count(img.id)) return no_such_image(img.id);
  BERTH_TRY_VOID(db_.transaction([&]() -> Status {
    auto t = BERTH_TRY(db_.prepare("INSERT OR REPLACE INTO image_tags(ref, image_id, created) VALUES(?1, ?2, ?3)"));
    t.bind(1, norm).bind(2, img.id).bind(3, now);
    BERTH_TRY_VOID(t.run());
    auto u = BERTH_TRY(db_.prepare("UPDATE images SET last_tag_time=?2 WHERE id=?1"));
    u.bind(1, img.id).bind(2, now);
    return u.run();
  }));
  set_tag_locked(norm, img.id, now);
  return ok();
}

Status ImageStore::tag(const Image& img, std::string_view repo, std::string_view tag_name) {
  auto parsed = BERTH_TRY(parse_reference(repo));
  if (!parsed.digest.empty() || (!parsed.tag.empty() && !tag_name.empty()))
    return make_error(Errc::invalid, "invalid reference format");
  if (!tag_name.empty()) {
    if (!is_valid_tag(tag_name)) return make_error(Errc::invalid, "invalid tag format");
    parsed.tag = tag_name;
  }
  return tag(img, parsed.familiar_string());
}

Result<std::string> ImageStore::untag(std::string_view ref) {
  std::lock_guard g(mu_);
  return untag_locked(ref);
}

Result<std::string> ImageStore::untag_locked(std::string_view ref) {
  auto norm = normalize_reference(ref);
  if (!norm) return no_such_image(ref);
  auto it = tags_.find(*norm);
  if (it == tags_.end()) return no_such_image(ref);
  auto del = BERTH_TRY(db_.prepare("DELETE FROM image_tags WHERE ref=?1"));
  del.bind(1, *norm);
  BERTH_TRY_VOID(del.run());
  auto& img = images_.at(it->second);
  auto& v = it->first.find('@') == std::string::npos ? img.repo_tags : img.repo_digests;
  v.erase(std::remove(v.begin(), v.end(), *norm), v.end());
  tags_.erase(it);
  return *norm;
}

Result<Json> ImageStore::remove(std::string_view ref, bool force) {
  Json out = Json::array();
  std::lock_guard g(mu_);
  const std::string id = BERTH_TRY(find_id_locked(ref));
  Image& img = images_.at(id);
  // By name: drop that tag; the image goes only with its last reference.
  auto norm = normalize_reference(ref);
  const bool by_name = norm && tags_.count(*norm) && tags_.at(*norm) == id &&
                       std::string_view(ref).rfind("sha256:", 0) != 0;
  std::vector<std::string> drop_refs;
  if (by_name) {
    drop_refs.push_back(*norm);
    // Docker: untagging the last tag of a repository also drops that
    // repository's digest references.
    if (norm->find('@') == std::string::npos) {
      const std::string repo = repo_of(*norm);
      bool other_tag = false;
      for (const auto& t : img.repo_tags) other_tag |= t != *norm && repo_of(t) == repo;
      if (!other_tag)
        for (const auto& d : img.repo_digests)
          if (repo_of(d) == repo) drop_refs.push_back(d);
    }
    if (img.repo_tags.size() + img.repo_digests.size() > drop_refs.size()) {
      Json untagged = Json::array();
      for (const auto& r0 : drop_refs) {
        auto r = BERTH_TRY(untag_locked(r0));
        untagged.push_back(Json{{"Untagged", r}});
      }
      return untagged;
    }
    for (const auto& r0 : drop_refs) BERTH_TRY(untag_locked(r0));
  } else {
    if (img.repo_tags.size() > 1 && !force)
      return make_error(Errc::conflict, "conflict: unable to delete " + id.substr(7, 12) +
                                            " (must be forced) - image is referenced in multiple repositories");
    for (const auto& t : img.repo_tags) drop_refs.push_back(t);
    for (const auto& d : img.repo_digests) drop_refs.push_back(d);
  }
  // Delete the image and the layers nobody else uses, rows first; files after.
  std::vector<std::string> chains;
  for (const auto& dir : img.layer_dirs) chains.push_back("sha256:" + fs::basename(fs::dirname(dir)));
  std::vector<std::string> dead_layers, dead_blobs;
  for (auto it = chains.rbegin(); it != chains.rend(); ++it)
    if (layer_refs_[*it] <= 1) dead_layers.push_back(*it);
  BERTH_TRY_VOID(db_.transaction([&]() -> Status {
    auto d = BERTH_TRY(db_.prepare("DELETE FROM images WHERE id=?1"));  // cascades tags and image_layers
    d.bind(1, id);
    BERTH_TRY_VOID(d.run());
    for (const auto& c : dead_layers) {
      auto dl = BERTH_TRY(db_.prepare("DELETE FROM layers WHERE chain_id=?1"));
      dl.bind(1, c);
      BERTH_TRY_VOID(dl.run());
    }
    // Compressed blobs of diffs no remaining layer has are garbage.
    auto gone = BERTH_TRY(db_.prepare(
        "SELECT DISTINCT lb.digest FROM layer_blobs lb WHERE NOT EXISTS"
        " (SELECT 1 FROM layers l WHERE l.diff_id = lb.diff_id)"));
    while (BERTH_TRY(gone.step())) dead_blobs.push_back(gone.text(0));
    BERTH_TRY_VOID(db_.exec("DELETE FROM layer_blobs WHERE NOT EXISTS"
                            " (SELECT 1 FROM layers l WHERE l.diff_id = layer_blobs.diff_id)"));
    return ok();
  }));
  for (const auto& b : dead_blobs)
    if (auto d = Digest::parse(b)) (void)blobs_->remove(*d);
  for (const auto& r : drop_refs) {
    out.push_back(Json{{"Untagged", r}});
    tags_.erase(r);
  }
  out.push_back(Json{{"Deleted", id}});
  for (const auto& c : chains)
    if (--layer_refs_[c] <= 0) layer_refs_.erase(c);
  images_.erase(id);
  // Files: a crash here leaves only row-less files, which open() sweeps.
  if (auto d = Digest::parse(id)) (void)blobs_->remove(*d);
  UniqueFd odfd(::open((root_ + "/overlay").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (const auto& c : dead_layers) {
    out.push_back(Json{{"Deleted", c}});
    if (!odfd) continue;
    std::string t = std::string(kTmpPrefix) + random_hex_id(8);
    std::string name = c.substr(7);
    if (::renameat(odfd.get(), name.c_str(), odfd.get(), t.c_str()) == 0)
      (void)snapshot::remove_tree_at(odfd.get(), t);
  }
  return out;
}

Json ImageStore::to_history_json(const Image& img) const {
  Json out = Json::array();
  const Json empty = Json::array();
  const Json& hist = img.config.is_object() && img.config.contains("history") && img.config["history"].is_array()
                         ? img.config["history"]
                         : empty;
  size_t layer = 0;
  for (const auto& h : hist) {
    Json e = Json::object();
    int64_t created = 0;
    if (h.contains("created") && h["created"].is_string())
      created = timeutil::parse_rfc3339(h["created"].get<std::string>()).value_or(0);
    e["Comment"] = str_field(h, "comment");
    e["Created"] = created / 1000000000;
    e["CreatedBy"] = str_field(h, "created_by");
    e["Id"] = "<missing>";
    int64_t size = 0;
    bool empty_layer = h.contains("empty_layer") && h["empty_layer"].is_boolean() && h["empty_layer"].get<bool>();
    if (!empty_layer) {
      if (layer < img.layer_sizes.size()) size = img.layer_sizes[layer];
      ++layer;
    }
    e["Size"] = size;
    e["Tags"] = nullptr;
    out.push_back(std::move(e));
  }
  std::reverse(out.begin(), out.end());
  if (!out.empty()) {
    out[0]["Id"] = img.id;
    out[0]["Tags"] = img.repo_tags.empty() ? Json(nullptr) : Json(img.repo_tags);
  }
  return out;
}

Json ImageStore::to_list_json(const Image& img) const {
  Json j = Json::object();
  j["Containers"] = -1;
  j["Created"] = img.created_unix_nano / 1000000000;
  j["Id"] = img.id;
  Json labels = nullptr;
  if (img.config.contains("config") && img.config["config"].is_object()) {
    const Json& c = img.config["config"];
    if (c.contains("Labels") && c["Labels"].is_object() && !c["Labels"].empty()) labels = c["Labels"];
  }
  j["Labels"] = labels;
  j["ParentId"] = "";
  // Docker 20.10: an image with neither tags nor digests shows <none>
  // placeholders; with tags but no digests RepoDigests is null.
  if (img.repo_tags.empty() && img.repo_digests.empty()) {
    j["RepoTags"] = Json::array({"<none>:<none>"});
    j["RepoDigests"] = Json::array({"<none>@<none>"});
  } else {
    j["RepoTags"] = img.repo_tags.empty() ? Json(nullptr) : Json(img.repo_tags);
    j["RepoDigests"] = img.repo_digests.empty() ? Json(nullptr) : Json(img.repo_digests);
  }
  j["SharedSize"] = -1;
  j["Size"] = img.size;
  j["VirtualSize"] = img.size;
  return j;
}

Json ImageStore::to_inspect_json(const Image& img) const {
  const Json& cfg = img.config;
  Json j = Json::object();
  j["Id"] = img.id;
  j["RepoTags"] = Json(img.repo_tags);
  j["RepoDigests"] = Json(img.repo_digests);
  j["Parent"] = "";
  j["Comment"] = str_field(cfg, "comment");
  j["Created"] = timeutil::rfc3339_nano(img.created_unix_nano);
  j["Container"] = str_field(cfg, "container");
  j["ContainerConfig"] =
      full_container_config(cfg.is_object() && cfg.contains("container_config") ? cfg["container_config"] : Json());
  j["DockerVersion"] = str_field(cfg, "docker_version");
  j["Author"] = str_field(cfg, "author");
  j["Config"] = full_container_config(cfg.is_object() && cfg.contains("config") ? cfg["config"] : Json());
  j["Architecture"] = str_field(cfg, "architecture");
  if (auto v = str_field(cfg, "variant"); !v.empty()) j["Variant"] = v;
  j["Os"] = str_field(cfg, "os");
  if (auto v = str_field(cfg, "os.version"); !v.empty()) j["OsVersion"] = v;
  j["Size"] = img.size;
  j["VirtualSize"] = img.size;
  Json data = Json::object();
  if (!img.layer_dirs.empty()) {
    const std::string top = fs::dirname(img.layer_dirs.back());
    data["MergedDir"] = top + "/merged";
    data["UpperDir"] = img.layer_dirs.back();
    data["WorkDir"] = top + "/work";
    if (img.layer_dirs.size() > 1) {
      std::string lower;
      for (size_t i = img.layer_dirs.size() - 1; i-- > 0;) {
        if (!lower.empty()) lower += ':';
        lower += img.layer_dirs[i];
      }
      data["LowerDir"] = lower;
    }
  }
  j["GraphDriver"] = Json{{"Data", data}, {"Name", "overlay2"}};
  Json layers = Json::array();
  if (cfg.is_object() && cfg.contains("rootfs") && cfg["rootfs"].is_object() &&
      cfg["rootfs"].contains("diff_ids") && cfg["rootfs"]["diff_ids"].is_array())
    layers = cfg["rootfs"]["diff_ids"];
  j["RootFS"] = Json{{"Type", "layers"}, {"Layers", layers}};
  j["Metadata"] = Json{{"LastTagTime", img.last_tag_unix_nano ? timeutil::rfc3339_nano(img.last_tag_unix_nano)
                                                                : std::string(timeutil::kZeroTime)}};
  return j;
}


TmpLayer::~TmpLayer() {
  diff_fd_.reset();
  if (overlay_fd_ && *overlay_fd_ && !name_.empty()) (void)snapshot::remove_tree_at(overlay_fd_->get(), name_);
}

bool ImageStore::has_layer(const Digest& chain) const {
  std::lock_guard g(mu_);
  if (layer_refs_.count(chain.str())) return true;
  auto q = db_.prepare("SELECT 1 FROM layers WHERE chain_id=?1");
  if (!q) return false;
  q->bind(1, chain.str());
  auto r = q->step();
  return r && *r;
}

int64_t ImageStore::layer_size(const Digest& chain) const {
  auto q = db_.prepare("SELECT size FROM layers WHERE chain_id=?1");
  if (!q) return 0;
  q->bind(1, chain.str());
  auto r = q->step();
  return r && *r ? q->int64(0) : 0;
}

Result<TmpLayer> ImageStore::make_tmp_layer() {
  TmpLayer t;
  const std::string overlay = root_ + "/overlay";
  t.overlay_fd_ = std::make_shared<UniqueFd>(::open(overlay.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!*t.overlay_fd_) return sys_error("open " + overlay);
  std::string name = std::string(kTmpPrefix) + random_hex_id(8);
  if (::mkdirat(t.overlay_fd_->get(), name.c_str(), 0700) != 0) return sys_error("mkdir " + name);
  t.name_ = name;
  std::string diff = name + "/diff";
  if (::mkdirat(t.overlay_fd_->get(), diff.c_str(), 0755) != 0) return sys_error("mkdir " + diff);
  t.diff_fd_.reset(::openat(t.overlay_fd_->get(), diff.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!t.diff_fd_) return sys_error("open " + diff);
  return t;
}

std::vector<std::string> ImageStore::diff_ids(const Image& img) {
  std::vector<std::string> out;
  const Json& c = img.config;
  if (c.is_object() && c.contains("rootfs") && c["rootfs"].is_object() && c["rootfs"].contains("diff_ids") &&
      c["rootfs"]["diff_ids"].is_array())
    for (const auto& d : c["rootfs"]["diff_ids"])
      if (d.is_string()) out.push_back(d.get<std::string>());
  return out;
}

std::vector<LayerBlob> ImageStore::layer_blobs(const std::string& diff_id) const {
  std::vector<LayerBlob> out;
  auto q = db_.prepare("SELECT digest, media_type, size FROM layer_blobs WHERE diff_id=?1 ORDER BY added DESC");
  if (!q) return out;
  q->bind(1, diff_id);
  while (true) {
    auto r = q->step();
    if (!r || !*r) break;
    LayerBlob b{diff_id, q->text(0), q->text(1), q->int64(2)};
    if (auto d = Digest::parse(b.digest); d && blobs_->has(*d)) out.push_back(std::move(b));
  }
  return out;
}

Status ImageStore::add_layer_blob(const LayerBlob& b) {
  auto q = BERTH_TRY(db_.prepare(
      "INSERT OR REPLACE INTO layer_blobs(diff_id, digest, media_type, size, added) VALUES(?1, ?2, ?3, ?4, ?5)"));
  q.bind(1, b.diff_id).bind(2, b.digest).bind(3, b.media_type).bind(4, b.size).bind(5, timeutil::now_unix_nano());
  return q.run();
}

Status ImageStore::add_blob_source(const std::string& digest, const std::string& registry, const std::string& repo) {
  auto q = BERTH_TRY(db_.prepare("INSERT OR IGNORE INTO blob_sources(digest, registry, repo) VALUES(?1, ?2, ?3)"));
  q.bind(1, digest).bind(2, registry).bind(3, repo);
  return q.run();
}

std::vector<std::pair<std::string, std::string>> ImageStore::blob_sources(const std::string& digest) const {
  std::vector<std::pair<std::string, std::string>> out;
  auto q = db_.prepare("SELECT registry, repo FROM blob_sources WHERE digest=?1");
  if (!q) return out;
  q->bind(1, digest);
  for (;;) {
    auto r = q->step();
    if (!r || !*r) break;
    out.emplace_back(q->text(0), q->text(1));
  }
  return out;
}

Status ImageStore::add_repo_digest(const std::string& image_id, const std::string& ref) {
  std::lock_guard g(mu_);
  if (!images_.count(image_id)) return no_such_image(image_id);
  auto t = BERTH_TRY(db_.prepare("INSERT OR REPLACE INTO image_tags(ref, image_id, created) VALUES(?1, ?2, ?3)"));
  t.bind(1, ref).bind(2, image_id).bind(3, timeutil::now_unix_nano());
  BERTH_TRY_VOID(t.run());
  auto old = tags_.find(ref);
  if (old != tags_.end() && old->second != image_id) {
    auto it = images_.find(old->second);
    if (it != images_.end()) {
      auto& v = it->second.repo_digests;
      v.erase(std::remove(v.begin(), v.end(), ref), v.end());
    }
  }
  tags_[ref] = image_id;
  auto& v = images_.at(image_id).repo_digests;
  if (std::find(v.begin(), v.end(), ref) == v.end()) v.push_back(ref);
  return ok();
}

Result<Image> ImageStore::commit_image(NewImage& n) {
  auto cfg_json = parse_json(n.config_bytes);
  if (!cfg_json || !cfg_json->is_object()) return make_error(Errc::invalid, "invalid image config JSON");
  const Digest id = Digest::of(n.config_bytes);
  const int64_t now = timeutil::now_unix_nano();
  const std::string overlay = root_ + "/overlay";
  UniqueFd odfd(::open(overlay.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!odfd) return sys_error("open " + overlay);

  // New layers' files must be durable before rows point at them.
  for (auto& l : n.layers)
    if (l.tmp && l.tmp->diff_fd() >= 0 && ::syncfs(l.tmp->diff_fd()) != 0) return sys_error("syncfs layer");

  std::lock_guard g(mu_);
  const bool image_existed = images_.count(id.str()) > 0;
  const bool blob_existed = blobs_->has(id);
  auto blob = BERTH_TRY(blobs_->put(n.config_bytes));
  if (blob != id) return make_error(Errc::internal, "config digest mismatch");
  bool drop_blob = !blob_existed && !image_existed;
  ScopeExit rm_blob([&] {
    if (drop_blob) (void)blobs_->remove(id);
  });
  std::vector<std::string> placed;  // layer dirs this commit moved into place
  ScopeExit rm_layers([&] {
    for (const auto& name : placed) {
      std::string t = std::string(kTmpPrefix) + random_hex_id(8);
      if (::renameat(odfd.get(), name.c_str(), odfd.get(), t.c_str()) == 0)
        (void)snapshot::remove_tree_at(odfd.get(), t);
    }
  });
  int64_t total = 0;
  std::string parent;
  for (auto& l : n.layers) {
    total += l.size;
    if (!l.tmp) continue;
    Json marker = {{"chain_id", l.chain.str()}, {"diff_id", l.diff_id.str()}, {"size", l.size}};
    BERTH_TRY_VOID(fs::write_file_atomic(overlay + "/" + l.tmp->name() + "/" + kLayerMarker, marker.dump(),
                                         fs::Durability::none));
    const std::string final_name(l.chain.hex());
    if (::renameat(odfd.get(), l.tmp->name().c_str(), odfd.get(), final_name.c_str()) == 0) {
      l.tmp->name_.clear();
      l.tmp->diff_fd_.reset();
      placed.push_back(final_name);
    } else if (errno != EEXIST && errno != ENOTEMPTY) {
      return sys_error("rename layer into place");
    }
  }
  if (!placed.empty()) BERTH_TRY_VOID(fsync_dir(overlay));

  BERTH_TRY_VOID(db_.transaction([&]() -> Status {
    std::string par;
    for (const auto& l : n.layers) {
      auto q = BERTH_TRY(db_.prepare(
          "INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, size) VALUES(?1, ?2, ?3, ?4)"));
      q.bind(1, l.chain.str()).bind(2, l.diff_id.str()).bind(3, par).bind(4, l.size);
      BERTH_TRY_VOID(q.run());
      par = l.chain.str();
    }
    if (!image_existed) {
      auto i = BERTH_TRY(db_.prepare(
          "INSERT INTO images(id, config, size, created, last_tag_time) VALUES(?1, ?2, ?3, ?4, ?5)"));
      i.bind(1, id.str()).bind(2, n.config_bytes).bind(3, total).bind(4, now).bind(5, n.tags.empty() ? 0 : now);
      BERTH_TRY_VOID(i.run());
      for (size_t k = 0; k < n.layers.size(); ++k) {
        auto il = BERTH_TRY(db_.prepare("INSERT INTO image_layers(image_id, idx, chain_id) VALUES(?1, ?2, ?3)"));
        il.bind(1, id.str()).bind(2, static_cast<int64_t>(k)).bind(3, n.layers[k].chain.str());
        BERTH_TRY_VOID(il.run());
      }
    }
    std::vector<std::string> refs = n.tags;
    refs.insert(refs.end(), n.digests.begin(), n.digests.end());
    for (const auto& r : refs) {
      auto t = BERTH_TRY(db_.prepare("INSERT OR REPLACE INTO image_tags(ref, image_id, created) VALUES(?1, ?2, ?3)"));
      t.bind(1, r).bind(2, id.str()).bind(3, now);
      BERTH_TRY_VOID(t.run());
    }
    if (!n.tags.empty()) {
      auto u = BERTH_TRY(db_.prepare("UPDATE images SET last_tag_time=?2 WHERE id=?1"));
      u.bind(1, id.str()).bind(2, now);
      BERTH_TRY_VOID(u.run());
    }
    for (const auto& b : n.blobs) BERTH_TRY_VOID(add_layer_blob(b));
    return ok();
  }));
  drop_blob = false;
  placed.clear();

  if (!image_existed) {
    Image img;
    img.id = id.str();
    img.config = std::move(*cfg_json);
    img.created_unix_nano = created_of(img.config);
    img.size = total;
    for (const auto& l : n.layers) {
      img.layer_dirs.push_back(layer_dir(l.chain.hex()) + "/diff");
      img.layer_sizes.push_back(l.size);
      ++layer_refs_[l.chain.str()];
    }
    images_[img.id] = std::move(img);
  }
  for (const auto& t : n.tags) set_tag_locked(t, id.str(), now);
  for (const auto& d : n.digests) {
    auto old = tags_.find(d);
    if (old != tags_.end() && old->second != id.str()) {
      auto it = images_.find(old->second);
      if (it != images_.end()) {
        auto& v = it->second.repo_digests;
        v.erase(std::remove(v.begin(), v.end(), d), v.end());
      }
    }
    tags_[d] = id.str();
    auto& v = images_.at(id.str()).repo_digests;
    if (std::find(v.begin(), v.end(), d) == v.end()) v.push_back(d);
  }
  return images_.at(id.str());
}

Result<std::vector<std::string>> ImageStore::check(bool repair) {
  std::vector<std::string> out;
  const std::string dir = blobs_->root() + "/blobs/sha256";
  for (const auto& name : fs::list_dir(dir)) {
    auto d = Digest::from_hex(name);
    if (!d) {
      out.push_back("stray file in blob store: " + name);
      if (repair) ::unlink((dir + "/" + name).c_str());
      continue;
    }
    UniqueFd fd(::open((dir + "/" + name).c_str(), O_RDONLY | O_CLOEXEC));
    Sha256 h;
    std::vector<char> buf(1 << 20);
    for (ssize_t n; fd && (n = ::read(fd.get(), buf.data(), buf.size())) > 0;) h.update(buf.data(), static_cast<size_t>(n));
    if (h.hex() != name) {
      out.push_back("corrupt blob (digest mismatch): sha256:" + name);
      if (repair) (void)blobs_->remove(*d);
    }
  }
  std::vector<std::string> broken;
  {
    std::lock_guard g(mu_);
    for (const auto& [id, img] : images_) {
      auto d = Digest::parse(id);
      if (d && !blobs_->has(*d)) {
        out.push_back("image " + id + ": config blob missing");
        if (repair) {
          auto q = db_.prepare("SELECT config FROM images WHERE id=?1");
          if (q) {
            q->bind(1, id);
            if (auto r = q->step(); r && *r && Digest::of(q->text(0)) == *d) (void)blobs_->put(q->text(0));
          }
        }
      }
      for (const auto& ld : img.layer_dirs) {
        struct stat st {};
        if (::stat(ld.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
          out.push_back("image " + id + ": layer directory missing: " + ld);
          broken.push_back(id);
          break;
        }
      }
    }
  }
  if (repair)
    for (const auto& id : broken) {
      auto r = remove(id, true);
      if (!r) out.push_back("could not remove broken image " + id + ": " + r.error().msg);
    }
  // Layer blob rows pointing at missing blobs.
  std::vector<std::string> missing;
  {
    auto q = BERTH_TRY(db_.prepare("SELECT DISTINCT digest FROM layer_blobs"));
    while (BERTH_TRY(q.step()))
      if (auto d = Digest::parse(q.text(0)); !d || !blobs_->has(*d)) missing.push_back(q.text(0));
  }
  for (const auto& m : missing) {
    out.push_back("layer blob missing: " + m);
    if (repair) {
      auto q = BERTH_TRY(db_.prepare("DELETE FROM layer_blobs WHERE digest=?1"));
      q.bind(1, m);
      BERTH_TRY_VOID(q.run());
    }
  }
  return out;
}

}  // namespace berth::image
