#include "image/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "common/fs.h"
#include "common/strings.h"
#include "image/gzip_blob.h"
#include "image/reference.h"
#include "registry/client.h"
#include "snapshot/layer_apply.h"

namespace berth::image {

namespace {

struct ArchiveFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

// ---------------------------------------------------------------- tar out

void put_octal(char* field, size_t width, uint64_t v) {
  std::string s(width - 1, '0');
  for (size_t i = width - 1; i-- > 0 && v;) {
    s[i] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
  std::memcpy(field, s.data(), width - 1);
  field[width - 1] = 0;
}

Status tar_entry(const ByteSink& out, const std::string& name, int64_t size, char type, int mode,
                 const std::string& link = "") {
  if (name.size() > 100 || link.size() > 100) return make_error(Errc::internal, "tar name too long: " + name);
  char h[512] = {};
  std::memcpy(h, name.data(), name.size());
  put_octal(h + 100, 8, static_cast<uint64_t>(mode));
  put_octal(h + 108, 8, 0);
  put_octal(h + 116, 8, 0);
  if (size < 077777777777LL) {
    put_octal(h + 124, 12, static_cast<uint64_t>(size));
  } else {  // base-256 for sizes past 8 GiB
    h[124] = static_cast<char>(0x80);
    uint64_t v = static_cast<uint64_t>(size);
    for (int i = 11; i >= 1; --i, v >>= 8) h[124 + i] = static_cast<char>(v & 0xff);
  }
  put_octal(h + 136, 12, 0);
  std::memset(h + 148, ' ', 8);
  h[156] = type;
  std::memcpy(h + 157, link.data(), link.size());
  std::memcpy(h + 257, "ustar", 6);
  h[263] = '0';
  h[264] = '0';
  unsigned sum = 0;
  for (unsigned char c : std::string_view(h, 512)) sum += c;
  char ck[8];
  std::snprintf(ck, sizeof ck, "%06o", sum);
  std::memcpy(h + 148, ck, 6);
  h[154] = 0;
  h[155] = ' ';
  return out(std::string_view(h, 512));
}

Status tar_pad(const ByteSink& out, int64_t size) {
  static const char zeros[512] = {};
  int64_t pad = (512 - size % 512) % 512;
  if (pad) return out(std::string_view(zeros, static_cast<size_t>(pad)));
  return ok();
}

Status tar_file(const ByteSink& out, const std::string& name, std::string_view data) {
  BERTH_TRY_VOID(tar_entry(out, name, static_cast<int64_t>(data.size()), '0', 0644));
  BERTH_TRY_VOID(out(data));
  return tar_pad(out, static_cast<int64_t>(data.size()));
}

// Decompress a layer blob into fd (any filter libarchive knows), checking
// the result against the diff ID.
Status decompress_blob(const std::string& path, int out_fd, const std::string& diff_id) {
  std::unique_ptr<struct archive, ArchiveFree> a(archive_read_new());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_filter_bzip2(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK)
    return make_error(Errc::internal, "open layer blob " + path + ": " + archive_error_string(a.get()));
  struct archive_entry* e = nullptr;
  Sha256 h;
  if (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    std::vector<char> buf(1 << 20);
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n < 0) return make_error(Errc::internal, std::string("decompress layer: ") + archive_error_string(a.get()));
      if (n == 0) break;
      h.update(buf.data(), static_cast<size_t>(n));
      BERTH_TRY_VOID(fs::write_all(out_fd, std::string_view(buf.data(), static_cast<size_t>(n))));
    }
  }
  if ("sha256:" + h.hex() != diff_id)
    return make_error(Errc::internal, "stored layer blob does not match diff ID " + diff_id);
  return ok();
}

}  // namespace

Result<std::vector<Image>> resolve_for_save(ImageStore& store, const std::vector<std::string>& names) {
  std::vector<Image> out;
  for (const auto& n : names) out.push_back(BERTH_TRY(store.resolve(n)));
  return out;
}

Status save(ImageStore& store, const std::vector<std::string>& names, const ByteSink& out) {
  auto images = BERTH_TRY(resolve_for_save(store, names));
  // RepoTags per image: the tags named (a bare name means all its tags).
  std::map<std::string, std::vector<std::string>> tags;
  std::vector<std::string> order;
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& img = images[i];
    if (!tags.count(img.id)) order.push_back(img.id);
    auto& v = tags[img.id];
    auto norm = normalize_reference(names[i]);
    if (norm && std::find(img.repo_tags.begin(), img.repo_tags.end(), *norm) != img.repo_tags.end()) {
      if (std::find(v.begin(), v.end(), *norm) == v.end()) v.push_back(*norm);
    }
  }
  std::map<std::string, Image> by_id;
  for (auto& img : images) by_id[img.id] = img;

  Json manifest = Json::array();
  Json repositories = Json::object();
  Json oci_index = Json{{"schemaVersion", 2}, {"manifests", Json::array()}};
  std::set<std::string> written;
  std::map<std::string, int64_t> tar_sizes;  // diff ID → uncompressed tar size
  auto tmp = BERTH_TRY(store.make_tmp_layer());
  for (const auto& id : order) {
    const Image& img = by_id[id];
    auto cfg_digest = BERTH_TRY(Digest::parse(img.id));
    std::string cfg = BERTH_TRY(store.blobs().get(cfg_digest));
    const std::string hex(cfg_digest.hex());
    if (written.insert(hex + ".json").second) BERTH_TRY_VOID(tar_file(out, hex + ".json", cfg));
    if (written.insert("blobs/sha256/" + hex).second) BERTH_TRY_VOID(tar_file(out, "blobs/sha256/" + hex, cfg));
    Json layers = Json::array();
    Json oci_layers = Json::array();
    std::optional<Digest> parent;
    std::string last_layer_id;
    for (const auto& diff : ImageStore::diff_ids(img)) {
      auto dd = BERTH_TRY(Digest::parse(diff));
      Digest chain = snapshot::chain_id(parent ? &*parent : nullptr, dd);
      parent = chain;
      // Docker's v1-style layer directory name: derived from the chain.
      const std::string lid(Digest::of(chain.str() + " " + img.id).hex());
      const std::string lid_stable(chain.hex());
      last_layer_id = lid_stable;
      layers.push_back(lid_stable + "/layer.tar");
      const std::string dhex(dd.hex());
      if (written.insert(lid_stable + "/layer.tar").second) {
        auto blobs = store.layer_blobs(diff);
        if (blobs.empty())
          return make_error(Errc::not_found, "layer " + diff + " has no stored blob to save");
        auto bd = BERTH_TRY(Digest::parse(blobs.front().digest));
        std::string fname = "layer-" + random_hex_id(6);
        UniqueFd f(::openat(tmp.diff_fd(), fname.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!f) return sys_error("create temp layer file");
        ::unlinkat(tmp.diff_fd(), fname.c_str(), 0);
        BERTH_TRY_VOID(decompress_blob(store.blobs().path(bd), f.get(), diff));
        struct stat st {};
        ::fstat(f.get(), &st);
        BERTH_TRY_VOID(tar_entry(out, lid_stable + "/", 0, '5', 0755));
        BERTH_TRY_VOID(tar_file(out, lid_stable + "/VERSION", "1.0"));
        BERTH_TRY_VOID(tar_file(out, lid_stable + "/json", Json{{"id", lid_stable}}.dump()));
        BERTH_TRY_VOID(tar_entry(out, lid_stable + "/layer.tar", st.st_size, '0', 0644));
        std::vector<char> buf(1 << 20);
        off_t pos = 0;
        while (pos < st.st_size) {
          ssize_t n = ::pread(f.get(), buf.data(), buf.size(), pos);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) return sys_error("read temp layer file");
          BERTH_TRY_VOID(out(std::string_view(buf.data(), static_cast<size_t>(n))));
          pos += n;
        }
        BERTH_TRY_VOID(tar_pad(out, st.st_size));
        // OCI layout: the same uncompressed tar by its digest (a hard
        // link entry: no second copy of the bytes).
        if (written.insert("blobs/sha256/" + dhex).second)
          BERTH_TRY_VOID(tar_entry(out, "blobs/sha256/" + dhex, 0, '1', 0644, lid_stable + "/layer.tar"));
        oci_layers.push_back(Json{{"mediaType", registry::kOciLayer}, {"digest", diff}, {"size", st.st_size}});
        tar_sizes[diff] = st.st_size;
      } else {
        oci_layers.push_back(Json{{"mediaType", registry::kOciLayer}, {"digest", diff}, {"size", tar_sizes[diff]}});
      }
      (void)lid;
    }
    Json repo_tags = Json::array();
    for (const auto& t : tags[id]) {
      repo_tags.push_back(t);
      auto c = t.rfind(':');
      repositories[t.substr(0, c)][t.substr(c + 1)] = last_layer_id;
    }
    manifest.push_back(Json{{"Config", hex + ".json"}, {"RepoTags", tags[id].empty() ? Json(nullptr) : repo_tags},
                            {"Layers", layers}});
    Json oman = {{"schemaVersion", 2},
                 {"mediaType", registry::kOciManifest},
                 {"config", Json{{"mediaType", registry::kOciConfig}, {"digest", img.id},
                                 {"size", static_cast<int64_t>(cfg.size())}}},
                 {"layers", oci_layers}};
    std::string ob = oman.dump();
    Digest od = Digest::of(ob);
    if (written.insert("blobs/sha256/" + std::string(od.hex())).second)
      BERTH_TRY_VOID(tar_file(out, "blobs/sha256/" + std::string(od.hex()), ob));
    if (tags[id].empty()) {
      oci_index["manifests"].push_back(
          Json{{"mediaType", registry::kOciManifest}, {"digest", od.str()}, {"size", static_cast<int64_t>(ob.size())}});
    }
    for (const auto& t : tags[id]) {
      auto ref = parse_reference(t);
      oci_index["manifests"].push_back(Json{
          {"mediaType", registry::kOciManifest},
          {"digest", od.str()},
          {"size", static_cast<int64_t>(ob.size())},
          {"annotations", Json{{"io.containerd.image.name", ref ? ref->full_name() + ":" + ref->tag : t},
                               {"org.opencontainers.image.ref.name", ref ? ref->tag : t}}}});
    }
  }
  BERTH_TRY_VOID(tar_file(out, "manifest.json", manifest.dump()));
  if (!repositories.empty()) BERTH_TRY_VOID(tar_file(out, "repositories", repositories.dump()));
  BERTH_TRY_VOID(tar_file(out, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  BERTH_TRY_VOID(tar_file(out, "index.json", oci_index.dump()));
  static const char zeros[1024] = {};
  return out(std::string_view(zeros, sizeof zeros));
}

// ---------------------------------------------------------------- load

namespace {

// Clean an archive member name; "" when it escapes or is empty.
std::string clean_name(std::string_view n) {
  std::vector<std::string> parts;
  for (auto& c : str::split(n, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (parts.empty()) return "";
      parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

struct Spool {
  TmpLayer dir;
  std::map<std::string, std::string> files;  // archive name → spool file name
  std::map<std::string, std::string> links;  // archive name → archive name (symlink/hardlink)

  Result<std::string> find(std::string name) const {
    for (int hops = 0; hops < 16; ++hops) {
      if (auto it = files.find(name); it != files.end()) return it->second;
      auto l = links.find(name);
      if (l == links.end()) break;
      name = l->second;
    }
    return make_error(Errc::invalid, "invalid archive: missing entry \"" + name + "\"");
  }
  Result<std::string> read(const std::string& name, int64_t limit) const {
    auto f = BERTH_TRY(find(name));
    UniqueFd fd(::openat(dir.diff_fd(), f.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return sys_error("open spooled " + name);
    struct stat st {};
    ::fstat(fd.get(), &st);
    if (st.st_size > limit)
      return make_error(Errc::invalid, "invalid archive: \"" + name + "\" is larger than " + std::to_string(limit) +
                                           " bytes");
    std::string s(static_cast<size_t>(st.st_size), '\0');
    if (::pread(fd.get(), s.data(), s.size(), 0) != st.st_size) return sys_error("read spooled " + name);
    return s;
  }
  Result<UniqueFd> open(const std::string& name) const {
    auto f = BERTH_TRY(find(name));
    UniqueFd fd(::openat(dir.diff_fd(), f.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return sys_error("open spooled " + name);
    return fd;
  }
};

Result<Spool> spool_archive(ImageStore& store, int in_fd) {
  Spool sp;
  sp.dir = BERTH_TRY(store.make_tmp_layer());
  std::unique_ptr<struct archive, ArchiveFree> a(archive_read_new());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_bzip2(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_fd(a.get(), in_fd, 1 << 20) != ARCHIVE_OK)
    return make_error(Errc::invalid, std::string("invalid archive: ") + (archive_error_string(a.get()) ?: "unreadable"));
  int n = 0;
  std::vector<char> buf(1 << 20);
  for (;;) {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN)
      return make_error(Errc::invalid, std::string("invalid archive: ") + (archive_error_string(a.get()) ?: "bad header"));
    const char* raw = archive_entry_pathname(e);
    std::string name = clean_name(raw ? raw : "");
    if (name.empty()) continue;
    if (const char* hl = archive_entry_hardlink(e)) {
      std::string t = clean_name(hl);
      if (t.empty()) return make_error(Errc::invalid, "invalid archive: link \"" + name + "\" escapes the archive");
      sp.links[name] = t;
      continue;
    }
    auto type = archive_entry_filetype(e);
    if (type == AE_IFLNK) {
      const char* tgt = archive_entry_symlink(e);
      std::string base = name.find('/') == std::string::npos ? "" : name.substr(0, name.rfind('/'));
      std::string t = tgt && tgt[0] == '/' ? clean_name(tgt) : clean_name(base + "/" + (tgt ? tgt : ""));
      if (t.empty()) return make_error(Errc::invalid, "invalid archive: symlink \"" + name + "\" escapes the archive");
      sp.links[name] = t;
      continue;
    }
    if (type != AE_IFREG) continue;
    std::string f = "e" + std::to_string(n++);
    UniqueFd fd(::openat(sp.dir.diff_fd(), f.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return sys_error("spool archive entry");
    for (;;) {
      la_ssize_t k = archive_read_data(a.get(), buf.data(), buf.size());
      if (k < 0)
        return make_error(Errc::invalid, std::string("invalid archive: ") + (archive_error_string(a.get()) ?: "read error"));
      if (k == 0) break;
      BERTH_TRY_VOID(fs::write_all(fd.get(), std::string_view(buf.data(), static_cast<size_t>(k))));
    }
    sp.files[name] = f;
  }
  return sp;
}

struct LoadItem {
  std::string config_name;            // archive name of the config
  std::vector<std::string> layers;    // archive names of the layer tars
  std::vector<std::string> tags;      // familiar refs
};

Result<std::vector<LoadItem>> plan_docker(const Spool& sp) {
  auto text = BERTH_TRY(sp.read("manifest.json", registry::kMaxManifestBytes));
  auto j = parse_json(text);
  if (!j || !j->is_array()) return make_error(Errc::invalid, "invalid archive: manifest.json is not a JSON array");
  std::vector<LoadItem> out;
  for (const auto& m : *j) {
    if (!m.is_object() || !m.contains("Config") || !m["Config"].is_string())
      return make_error(Errc::invalid, "invalid archive: manifest.json entry without Config");
    LoadItem it;
    it.config_name = clean_name(m["Config"].get<std::string>());
    if (m.contains("Layers") && m["Layers"].is_array())
      for (const auto& l : m["Layers"]) {
        if (!l.is_string()) return make_error(Errc::invalid, "invalid archive: bad layer name");
        it.layers.push_back(clean_name(l.get<std::string>()));
      }
    if (m.contains("RepoTags") && m["RepoTags"].is_array())
      for (const auto& t : m["RepoTags"])
        if (t.is_string()) it.tags.push_back(BERTH_TRY(normalize_reference(t.get<std::string>())));
    out.push_back(std::move(it));
  }
  return out;
}

std::string blob_name(const std::string& digest) {
  auto c = digest.find(':');
  return "blobs/" + digest.substr(0, c) + "/" + digest.substr(c + 1);
}

Result<std::vector<LoadItem>> plan_oci(const Spool& sp) {
  auto text = BERTH_TRY(sp.read("index.json", registry::kMaxManifestBytes));
  auto j = parse_json(text);
  if (!j || !j->is_object() || !j->contains("manifests") || !(*j)["manifests"].is_array())
    return make_error(Errc::invalid, "invalid archive: bad index.json");
  std::vector<LoadItem> out;
  for (const auto& d : (*j)["manifests"]) {
    auto dg = Digest::parse(d.value("digest", std::string()));
    if (!dg) return make_error(Errc::invalid, "invalid archive: bad digest in index.json");
    auto mt = BERTH_TRY(sp.read(blob_name(dg->str()), registry::kMaxManifestBytes));
    if (Digest::of(mt) != *dg) return make_error(Errc::invalid, "invalid archive: manifest digest mismatch");
    auto m = parse_json(mt);
    if (!m || !m->is_object() || !m->contains("config"))
      return make_error(Errc::invalid, "invalid archive: manifest " + dg->str() + " is not an image manifest");
    LoadItem it;
    it.config_name = blob_name((*m)["config"].value("digest", std::string()));
    if (m->contains("layers") && (*m)["layers"].is_array())
      for (const auto& l : (*m)["layers"]) it.layers.push_back(blob_name(l.value("digest", std::string())));
    if (d.contains("annotations") && d["annotations"].is_object()) {
      std::string name = d["annotations"].value("io.containerd.image.name", std::string());
      if (name.empty()) name = d["annotations"].value("org.opencontainers.image.ref.name", std::string());
      if (!name.empty())
        if (auto n = normalize_reference(name)) it.tags.push_back(*n);
    }
    out.push_back(std::move(it));
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> load(ImageStore& store, int in_fd, const ProgressFn& progress) {
  auto sp = BERTH_TRY(spool_archive(store, in_fd));
  std::vector<LoadItem> items;
  if (sp.files.count("manifest.json")) items = BERTH_TRY(plan_docker(sp));
  else if (sp.files.count("index.json")) items = BERTH_TRY(plan_oci(sp));
  else return make_error(Errc::invalid, "invalid archive: neither manifest.json nor index.json found");
  std::vector<std::string> lines;
  for (auto& it : items) {
    std::string cfg = BERTH_TRY(sp.read(it.config_name, registry::kMaxManifestBytes));
    auto cj = parse_json(cfg);
    if (!cj || !cj->is_object()) return make_error(Errc::invalid, "invalid archive: bad image config");
    Image probe;
    probe.config = *cj;
    auto diffs = ImageStore::diff_ids(probe);
    if (diffs.size() != it.layers.size())
      return make_error(Errc::invalid, "invalid archive: config has " + std::to_string(diffs.size()) +
                                           " diff IDs for " + std::to_string(it.layers.size()) + " layers");
    std::vector<std::unique_ptr<TmpLayer>> tmps;
    NewImage n;
    n.config_bytes = cfg;
    std::optional<Digest> parent;
    for (size_t i = 0; i < diffs.size(); ++i) {
      auto dd = BERTH_TRY(Digest::parse(diffs[i]));
      NewImage::Layer l;
      l.diff_id = dd;
      l.chain = snapshot::chain_id(parent ? &*parent : nullptr, dd);
      parent = l.chain;
      if (store.has_layer(l.chain)) {
        l.size = store.layer_size(l.chain);
      } else {
        auto fd = BERTH_TRY(sp.open(it.layers[i]));
        tmps.push_back(std::make_unique<TmpLayer>(BERTH_TRY(store.make_tmp_layer())));
        auto gz = BERTH_TRY(GzipBlob::open(store.blobs()));
        auto applied = BERTH_TRY(snapshot::apply_tar(fd.get(), tmps.back()->diff_fd(),
                                                     [&](std::string_view d) { return gz->write(d); }));
        if (applied.diff_id != dd)
          return make_error(Errc::invalid, "invalid archive: layer " + it.layers[i] + " has diff ID " +
                                               applied.diff_id.str() + ", its config states " + dd.str());
        auto gd = BERTH_TRY(gz->finish());
        n.blobs.push_back(LayerBlob{dd.str(), gd.str(), std::string(registry::kDockerLayerGzip), gz->size()});
        l.size = applied.size;
        l.tmp = tmps.back().get();
        progress(progress_msg(std::string(dd.hex().substr(0, 12)), "Loading layer", applied.size, applied.size));
      }
      n.layers.push_back(l);
    }
    n.tags = it.tags;
    auto img = BERTH_TRY(store.commit_image(n));
    if (it.tags.empty()) {
      lines.push_back("Loaded image ID: " + img.id);
    } else {
      for (const auto& t : it.tags) lines.push_back("Loaded image: " + t);
    }
  }
  return lines;
}

}  // namespace berth::image
