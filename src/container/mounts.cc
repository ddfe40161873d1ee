#include "container/mounts.h"

#include <sys/stat.h>

#include <set>

#include "common/fs.h"
#include "common/strings.h"

namespace berth::container {

namespace {

Error invalid(std::string m) { return make_error(Errc::invalid, std::move(m)); }

std::string jstr(const Json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_prop(const std::string& o) {
  return o == "private" || o == "rprivate" || o == "slave" || o == "rslave" || o == "shared" || o == "rshared";
}

std::string clean_dest(const std::string& d) {
  std::string out = d;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

Result<Json> resolve_mounts(const Json& config, const Json& hc, volume::VolumeService* vols,
                            const MountsOf& volumes_from) {
  Json out = Json::array();
  std::set<std::string> dests;
  auto add = [&](Json m) -> Status {
    std::string d = clean_dest(jstr(m, "Destination"));
    if (d.empty() || d[0] != '/') return invalid("invalid mount config: mount path must be absolute: " + d);
    if (d == "/") return invalid("invalid specification: destination can't be '/'");
    if (dests.count(d)) return invalid("Duplicate mount point: " + d);
    dests.insert(d);
    m["Destination"] = d;
    out.push_back(std::move(m));
    return ok();
  };
  auto need_vols = [&]() -> Status {
    if (!vols) return invalid("volumes are not available");
    return ok();
  };
  auto make_volume = [&](const std::string& name, const Json& opts, const Json& labels) -> Result<volume::Volume> {
    BERTH_TRY_VOID(need_vols());
    return vols->create(name, "local", opts, labels, name.empty());
  };

  // -v / Binds.
  if (auto it = hc.find("Binds"); it != hc.end() && it->is_array()) {
    for (const auto& b : *it) {
      std::string spec = b.get<std::string>();
      auto parts = str::split(spec, ':');
      if (parts.size() < 2 || parts.size() > 3 || parts[1].empty() || parts[1][0] != '/' || parts[0].empty())
        return invalid("invalid volume specification: '" + spec + "'");
      bool rw = true, nocopy = false;
      std::string prop, mode = parts.size() == 3 ? parts[2] : "";
      if (parts.size() == 3)
        for (const auto& o : str::split(parts[2], ',')) {
          if (o == "ro") rw = false;
          else if (o == "rw" || o == "z" || o == "Z") continue;
          else if (is_prop(o)) prop = o;
          else if (o == "nocopy") nocopy = true;
          else return invalid("invalid mode: " + o);
        }
      Json m{{"Destination", parts[1]}, {"RW", rw}, {"Mode", mode}};
      if (parts[0][0] == '/') {
        if (nocopy) return invalid("invalid mode: nocopy");
        // Docker creates a missing bind source for -v (not for --mount).
        if (!fs::exists(parts[0])) BERTH_TRY_VOID(fs::mkdir_p(parts[0], 0755));
        m["Type"] = "bind";
        m["Source"] = parts[0];
        m["Propagation"] = prop.empty() ? "rprivate" : prop;
      } else {
        BERTH_TRY_VOID(volume::validate_name(parts[0]));
        if (!prop.empty()) return invalid("invalid mode: " + prop);
        auto v = BERTH_TRY(make_volume(parts[0], Json::object(), Json::object()));
        m["Type"] = "volume";
        m["Name"] = v.name;
        m["Source"] = vols->mountpoint(v.name);
        m["Driver"] = "local";
        m["Mode"] = mode.empty() ? "z" : mode;
        m["Propagation"] = "";
        m["NoCopy"] = nocopy;
      }
      BERTH_TRY_VOID(add(m));
    }
  }

  // --mount / Mounts.
  if (auto it = hc.find("Mounts"); it != hc.end() && it->is_array()) {
    for (const auto& mt : *it) {
      if (!mt.is_object()) return invalid("invalid mount config");
      std::string type = jstr(mt, "Type"), src = jstr(mt, "Source"), dst = jstr(mt, "Target");
      bool ro = mt.value("ReadOnly", false);
      if (dst.empty()) return invalid("invalid mount config for type \"" + type + "\": field Target must not be empty");
      Json m{{"Destination", dst}, {"RW", !ro}, {"Mode", ""}, {"Propagation", ""}};
      if (type == "bind") {
        if (src.empty()) return invalid("invalid mount config for type \"bind\": field Source must not be empty");
        if (src[0] != '/') return invalid("invalid mount config for type \"bind\": invalid mount path: '" + src + "' mount path must be absolute");
        if (mt.contains("VolumeOptions") && !mt["VolumeOptions"].is_null())
          return invalid("invalid mount config for type \"bind\": field VolumeOptions must not be specified");
        if (!fs::exists(src))
          return invalid("invalid mount config for type \"bind\": bind source path does not exist: " + src);
        std::string prop = "rprivate";
        if (auto bo = mt.find("BindOptions"); bo != mt.end() && bo->is_object()) {
          std::string p = jstr(*bo, "Propagation");
          if (!p.empty()) {
            if (!is_prop(p)) return invalid("invalid propagation mode: " + p);
            prop = p;
          }
        }
        m["Type"] = "bind";
        m["Source"] = src;
        m["Propagation"] = prop;
      } else if (type == "volume") {
        Json vo = mt.value("VolumeOptions", Json::object());
        if (!vo.is_object()) vo = Json::object();
        if (mt.contains("BindOptions") && !mt["BindOptions"].is_null())
          return invalid("invalid mount config for type \"volume\": field BindOptions must not be specified");
        Json drv = vo.value("DriverConfig", Json::object());
        if (!drv.is_object()) drv = Json::object();
        if (!jstr(drv, "Name").empty() && jstr(drv, "Name") != "local")
          return make_error(Errc::not_found, "error looking up volume plugin " + jstr(drv, "Name") + ": plugin \"" +
                                                 jstr(drv, "Name") + "\" not found");
        if (!src.empty()) BERTH_TRY_VOID(volume::validate_name(src));
        auto v = BERTH_TRY(make_volume(src, drv.value("Options", Json::object()), vo.value("Labels", Json::object())));
        m["Type"] = "volume";
        m["Name"] = v.name;
        m["Source"] = vols->mountpoint(v.name);
        m["Driver"] = "local";
        m["Mode"] = "z";
        m["NoCopy"] = vo.value("NoCopy", false);
      } else if (type == "tmpfs") {
        if (!src.empty()) return invalid("invalid mount config for type \"tmpfs\": field Source must not be specified");
        std::vector<std::string> opts;
        if (auto to = mt.find("TmpfsOptions"); to != mt.end() && to->is_object()) {
          if (auto sz = to->find("SizeBytes"); sz != to->end() && sz->is_number() && sz->get<int64_t>() > 0)
            opts.push_back("size=" + std::to_string(sz->get<int64_t>()));
          if (auto md = to->find("Mode"); md != to->end() && md->is_number() && md->get<int64_t>() > 0) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "mode=%o", static_cast<unsigned>(md->get<int64_t>()));
            opts.push_back(buf);
          }
        }
        m["Type"] = "tmpfs";
        m["Source"] = "";
        m["TmpfsOptions"] = opts;
      } else {
        return invalid("invalid mount config: mount type unknown: \"" + type + "\"");
      }
      BERTH_TRY_VOID(add(m));
    }
  }

  // --volumes-from: the other container's mount points, same mode unless :ro/:rw.
  if (auto it = hc.find("VolumesFrom"); it != hc.end() && it->is_array()) {
    for (const auto& vf : *it) {
      std::string spec = vf.get<std::string>();
      auto colon = spec.find(':');
      std::string ref = spec.substr(0, colon), mode = colon == std::string::npos ? "" : spec.substr(colon + 1);
      if (!mode.empty() && mode != "ro" && mode != "rw") return invalid("invalid mode: " + mode);
      Json theirs = BERTH_TRY(volumes_from(ref));
      if (!theirs.is_array()) continue;
      for (auto m : theirs) {
        if (m.value("Type", "") == "tmpfs") continue;
        if (dests.count(m.value("Destination", ""))) continue;
        if (!mode.empty()) m["RW"] = mode == "rw";
        m["Anonymous"] = false;  // owned by the container that made it
        BERTH_TRY_VOID(add(m));
      }
    }
  }

  // Config.Volumes: the image's VOLUMEs and -v /path.
  if (auto it = config.find("Volumes"); it != config.end() && it->is_object()) {
    for (const auto& [dst, v] : it->items()) {
      if (dst.find(':') != std::string::npos) {
        // The docker CLI leaves a second -v for an already used
        // destination here, as the whole spec.
        auto parts = str::split(dst, ':');
        if (parts.size() >= 2 && dests.count(clean_dest(parts[1])))
          return invalid("Duplicate mount point: " + clean_dest(parts[1]));
        return invalid("invalid volume specification: '" + dst + "'");
      }
      if (dests.count(clean_dest(dst))) continue;
      auto vol = BERTH_TRY(make_volume("", Json::object(), Json::object()));
      Json m{{"Type", "volume"}, {"Name", vol.name},  {"Source", vols->mountpoint(vol.name)},
             {"Destination", dst}, {"Driver", "local"}, {"Mode", ""},
             {"RW", true},       {"Propagation", ""}, {"Anonymous", true}};
      BERTH_TRY_VOID(add(m));
    }
  }
  return out;
}

std::vector<std::string> anonymous_volumes(const Json& mounts) {
  std::vector<std::string> out;
  if (mounts.is_array())
    for (const auto& m : mounts)
      if (m.value("Type", "") == "volume" && m.value("Anonymous", false)) out.push_back(m.value("Name", ""));
  return out;
}

bool uses_volume(const Json& mounts, const std::string& name) {
  if (mounts.is_array())
    for (const auto& m : mounts)
      if (m.value("Type", "") == "volume" && m.value("Name", "") == name) return true;
  return false;
}

Result<Json> oci_mounts(const Json& mounts, volume::VolumeService* vols, const std::string& rootfs) {
  Json out = Json::array();
  if (!mounts.is_array()) return out;
  for (const auto& m : mounts) {
    std::string type = m.value("Type", ""), dst = m.value("Destination", "");
    bool rw = m.value("RW", true);
    if (type == "tmpfs") {
      std::vector<std::string> opts = {"nosuid", "nodev", "noexec"};
      for (const auto& o : m.value("TmpfsOptions", std::vector<std::string>{})) opts.push_back(o);
      if (!rw) opts.push_back("ro");
      out.push_back(Json{{"destination", dst}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", opts}});
      continue;
    }
    std::string src = m.value("Source", "");
    if (type == "volume") {
      if (!vols) return invalid("volumes are not available");
      src = BERTH_TRY(vols->mountpoint_for_use(m.value("Name", "")));
      if (!m.value("NoCopy", false) && fs::list_dir(src).empty()) {
        // Copy-up: a new (empty) volume takes the image's content at its path.
        std::string img = rootfs + dst;
        struct stat st {};
        bool safe = true;
        std::string walk = rootfs;
        for (const auto& part : str::split(dst, '/')) {
          if (part.empty()) continue;
          walk += "/" + part;
          if (::lstat(walk.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) {
            safe = false;
            break;
          }
        }
        if (safe && S_ISDIR(st.st_mode)) {
          BERTH_TRY_VOID(volume::copy_tree(img, src));
          (void)::chown(src.c_str(), st.st_uid, st.st_gid);
          (void)::chmod(src.c_str(), st.st_mode & 07777);
        }
      }
    }
    std::string prop = m.value("Propagation", "");
    if (prop.empty()) prop = "rprivate";
    out.push_back(Json{{"destination", dst},
                       {"type", "bind"},
                       {"source", src},
                       {"options", {"rbind", rw ? "rw" : "ro", prop}}});
  }
  return out;
}

}  // namespace berth::container
