#include "volume/service.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include <regex>

#include "common/fs.h"
#include "common/id.h"
#include "common/strings.h"
#include "common/time.h"

namespace berth::volume {

namespace {
Error invalid(std::string m) { return make_error(Errc::invalid, std::move(m)); }
}  // namespace

Status validate_name(const std::string& name) {
  static const std::regex re("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$");
  if (!std::regex_match(name, re))
    return invalid("\"" + name +
                   "\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
                   "allowed. If you intended to pass a host directory, use absolute path");
  return ok();
}

Result<MountCall> plan_mount(const Json& options) {
  MountCall m;
  for (const auto& [k, v] : options.items())
    if (k != "type" && k != "device" && k != "o" && k != "size")
      return invalid("invalid option: \"" + k + "\"");
  auto get = [&](const char* k) {
    auto it = options.find(k);
    return it != options.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string type = get("type"), device = get("device"), o = get("o");
  if (type.empty() && device.empty() && o.empty()) return m;
  if (!get("size").empty()) return invalid("berth's local driver does not support the \"size\" option");
  m.fstype = type;
  m.source = device;
  std::vector<std::string> data;
  for (const auto& opt : str::split(o, ',')) {
    if (opt.empty()) continue;
    if (opt == "bind") m.flags |= MS_BIND;
    else if (opt == "rbind") m.flags |= MS_BIND | MS_REC;
    else if (opt == "ro") m.flags |= MS_RDONLY;
    else if (opt == "rw") continue;
    else if (opt == "nosuid") m.flags |= MS_NOSUID;
    else if (opt == "nodev") m.flags |= MS_NODEV;
    else if (opt == "noexec") m.flags |= MS_NOEXEC;
    else if (opt == "noatime") m.flags |= MS_NOATIME;
    else if (type == "nfs" && str::starts_with(opt, "addr=")) data.push_back(opt);  // nfs wants the address as given
    else data.push_back(opt);
  }
  for (size_t i = 0; i < data.size(); ++i) m.data += (i ? "," : "") + data[i];
  if (m.flags & MS_BIND) m.fstype.clear();
  if (m.source.empty()) return invalid("missing device in volume options");
  if (m.fstype.empty() && !(m.flags & MS_BIND)) return invalid("missing type in volume options");
  return m;
}

Status copy_tree(const std::string& from, const std::string& to) {
  for (const auto& name : fs::list_dir(from)) {
    std::string s = from + "/" + name, d = to + "/" + name;
    struct stat st {};
    if (::lstat(s.c_str(), &st) != 0) return sys_error("lstat " + s);
    if (S_ISDIR(st.st_mode)) {
      if (::mkdir(d.c_str(), st.st_mode & 07777) != 0 && errno != EEXIST) return sys_error("mkdir " + d);
      BERTH_TRY_VOID(copy_tree(s, d));
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd in(::open(s.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      if (!in) return sys_error("open " + s);
      UniqueFd out(::open(d.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, st.st_mode & 07777));
      if (!out) return sys_error("create " + d);
      char buf[65536];
      for (;;) {
        ssize_t n = ::read(in.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("read " + s);
        if (n == 0) break;
        BERTH_TRY_VOID(fs::write_all(out.get(), std::string_view(buf, static_cast<size_t>(n))));
      }
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = ::readlink(s.c_str(), target, sizeof target - 1);
      if (n < 0) return sys_error("readlink " + s);
      target[n] = 0;
      if (::symlink(target, d.c_str()) != 0) return sys_error("symlink " + d);
    } else {
      if (::mknod(d.c_str(), st.st_mode, st.st_rdev) != 0) return sys_error("mknod " + d);
    }
    (void)::lchown(d.c_str(), st.st_uid, st.st_gid);
    if (!S_ISLNK(st.st_mode)) (void)::chmod(d.c_str(), st.st_mode & 07777);
    timespec ts[2] = {st.st_atim, st.st_mtim};
    (void)::utimensat(AT_FDCWD, d.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  }
  return ok();
}

Result<std::unique_ptr<VolumeService>> VolumeService::open(store::Db& db, std::string data_root, log::Logger& log) {
  BERTH_TRY_VOID(db.migrate("volume", {"CREATE TABLE volumes (name TEXT PRIMARY KEY, data TEXT NOT NULL)"}));
  std::string root = data_root + "/volumes";
  BERTH_TRY_VOID(fs::mkdir_p(root, 0701));
  std::unique_ptr<VolumeService> s(new VolumeService(db, root, log));
  auto st = BERTH_TRY(db.prepare("SELECT name, data FROM volumes"));
  while (BERTH_TRY(st.step())) {
    Json j = BERTH_TRY(parse_json(st.text(1)));
    Volume v;
    v.name = st.text(0);
    v.driver = j.value("driver", "local");
    v.labels = j.value("labels", Json::object());
    v.options = j.value("options", Json::object());
    v.created_ns = j.value("created_ns", int64_t{0});
    v.anonymous = j.value("anonymous", false);
    // A mount left by a previous daemon is taken down; next use mounts again.
    if (!v.options.empty()) (void)::umount2(s->mountpoint(v.name).c_str(), MNT_DETACH);
    s->vols_[v.name] = v;
  }
  return s;
}

Status VolumeService::save(const Volume& v) {
  auto st = BERTH_TRY(db_.prepare("INSERT OR REPLACE INTO volumes (name, data) VALUES (?, ?)"));
  Json j{{"driver", v.driver}, {"labels", v.labels}, {"options", v.options}, {"created_ns", v.created_ns},
         {"anonymous", v.anonymous}};
  st.bind(1, v.name).bind(2, j.dump());
  return st.run();
}

Result<Volume> VolumeService::create(const std::string& name_in, const std::string& driver, const Json& options,
                                     const Json& labels, bool anonymous) {
  std::string name = name_in.empty() ? random_hex_id() : name_in;
  BERTH_TRY_VOID(validate_name(name));
  std::string drv = driver.empty() ? "local" : driver;
  if (drv != "local") return make_error(Errc::not_found, "error looking up volume plugin " + drv + ": plugin \"" + drv + "\" not found");
  Json opts = options.is_object() ? options : Json::object();
  for (const auto& [k, v] : opts.items())
    if (!v.is_string()) return invalid("volume option " + k + " must be a string");
  BERTH_TRY_VOID(plan_mount(opts));
  std::lock_guard g(mu_);
  if (auto it = vols_.find(name); it != vols_.end()) {
    if (!opts.empty() && opts != it->second.options)
      return make_error(Errc::conflict, "volume " + name + " already exists with different options");
    return it->second;
  }
  Volume v;
  v.name = name;
  v.driver = drv;
  v.labels = labels.is_object() ? labels : Json::object();
  v.options = opts;
  v.created_ns = timeutil::now_unix_nano();
  v.anonymous = anonymous || name_in.empty();
  BERTH_TRY_VOID(fs::mkdir_p(mountpoint(name), 0755));
  if (auto st = save(v); !st) {
    (void)fs::remove_all(root_ + "/" + name);
    return std::move(st).error();
  }
  vols_[name] = v;
  BERTH_LOG(log_, debug, "volume created", {"name", name});
  return v;
}

Result<Volume> VolumeService::get(const std::string& name) {
  std::lock_guard g(mu_);
  auto it = vols_.find(name);
  if (it == vols_.end()) return make_error(Errc::not_found, "get " + name + ": no such volume");
  return it->second;
}

std::vector<Volume> VolumeService::all() {
  std::lock_guard g(mu_);
  std::vector<Volume> out;
  for (const auto& [n, v] : vols_) out.push_back(v);
  return out;
}

Json VolumeService::to_json(const Volume& v) const {
  std::string created = timeutil::rfc3339_nano(v.created_ns / 1000000000 * 1000000000);
  return Json{{"CreatedAt", created},
              {"Driver", v.driver},
              {"Labels", v.anonymous && v.labels.empty() ? Json(nullptr) : v.labels},
              {"Mountpoint", mountpoint(v.name)},
              {"Name", v.name},
              {"Options", v.options.empty() ? Json(nullptr) : v.options},
              {"Scope", "local"}};
}

Status VolumeService::remove(const std::string& name) {
  std::lock_guard g(mu_);
  auto it = vols_.find(name);
  if (it == vols_.end()) return make_error(Errc::not_found, "get " + name + ": no such volume");
  if (mounted_.count(name) || !it->second.options.empty()) {
    if (::umount2(mountpoint(name).c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
      return sys_error("remove " + name + ": unmount");
    mounted_.erase(name);
  }
  auto st = BERTH_TRY(db_.prepare("DELETE FROM volumes WHERE name = ?"));
  BERTH_TRY_VOID(st.bind(1, name).run());
  vols_.erase(it);
  BERTH_TRY_VOID(fs::remove_all(root_ + "/" + name));
  return ok();
}

Result<std::string> VolumeService::mountpoint_for_use(const std::string& name) {
  std::lock_guard g(mu_);
  auto it = vols_.find(name);
  if (it == vols_.end()) return make_error(Errc::not_found, "get " + name + ": no such volume");
  std::string mp = mountpoint(name);
  if (it->second.options.empty() || mounted_.count(name)) return mp;
  MountCall m = BERTH_TRY(plan_mount(it->second.options));
  if (::mount(m.source.c_str(), mp.c_str(), m.fstype.empty() ? nullptr : m.fstype.c_str(), m.flags,
              m.data.empty() ? nullptr : m.data.c_str()) != 0) {
    int e = errno;
    return Error{Errc::internal, e,
                 "error while mounting volume '" + mp + "': failed to mount local volume: mount " + m.source + ":" +
                     mp + (m.data.empty() ? "" : ", data: " + m.data) + ": " + std::strerror(e) +
                     (e == ENODEV && m.fstype == "nfs" ? " (this kernel has no NFS client)" : "")};
  }
  mounted_.insert(name);
  return mp;
}

}  // namespace berth::volume
