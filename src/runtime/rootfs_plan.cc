#include "runtime/rootfs_plan.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/strings.h"
#include "runtime/mount_options.h"

namespace berth::runtime {

std::string clean_path(const std::string& p) {
  std::vector<std::string> parts;
  for (const auto& s : str::split(p, '/')) {
    if (s.empty() || s == ".") continue;
    if (s == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(s);
  }
  std::string out;
  for (const auto& s : parts) out += "/" + s;
  return out.empty() ? "/" : out;
}

namespace {

struct DefaultDev {
  const char* path;
  unsigned major, minor;
};
constexpr DefaultDev kDefaultDevices[] = {
    {"/dev/null", 1, 3},    {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8},  {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

Error mount_error(size_t i, const std::string& field, const std::string& why) {
  return make_error(Errc::invalid, "mounts[" + std::to_string(i) + "]." + field + ": " + why);
}

void add_flag_steps(std::vector<MountStep>& steps, const MountStep& base, const MountOptions& o) {
  for (unsigned long p : o.propagation) {
    MountStep s = base;
    s.kind = StepKind::propagate;
    s.source.clear();
    s.fstype.clear();
    s.data.clear();
    s.flags = p;
    steps.push_back(std::move(s));
  }
}

}  // namespace

Result<RootfsPlan> plan_rootfs(const oci::Spec& spec, const PlanInputs& in) {
  RootfsPlan plan;
  plan.rootfs = in.rootfs;
  const auto& lx = *spec.linux_spec;
  unsigned long rp = propagation_flags(lx.rootfs_propagation);
  bool keep_slave = rp & (MS_SHARED | MS_SLAVE);
  plan.root_propagation = MS_REC | (keep_slave ? MS_SLAVE : MS_PRIVATE);
  plan.rootfs_propagation = rp;
  plan.readonly_root = spec.root.readonly;
  plan.masked_paths = lx.masked_paths;
  plan.readonly_paths = lx.readonly_paths;
  plan.console = spec.process && spec.process->terminal;

  bool dev_is_bind = false;
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const auto& m = spec.mounts[i];
    auto opts = parse_mount_options(m.options);
    if (!opts) return mount_error(i, "options", opts.error().msg);
    MountStep base;
    base.target = clean_path(m.destination);
    base.spec_index = static_cast<long>(i);
    bool is_bind = opts->bind || m.type == "bind";
    if (is_bind) {
      if (m.source.empty()) return mount_error(i, "source", "required for a bind mount");
      std::string src = m.source[0] == '/' ? m.source : in.bundle + "/" + m.source;
      auto dir = in.source_is_dir(src);
      if (!dir) return mount_error(i, "source", dir.error().msg);
      if (base.target == "/dev") dev_is_bind = true;
      MountStep b = base;
      b.kind = StepKind::bind;
      b.source = src;
      b.target_is_dir = *dir;
      b.flags = MS_BIND | (opts->recursive ? MS_REC : 0);
      plan.steps.push_back(b);
      if (opts->flags & ~(MS_REMOUNT)) {
        MountStep r = base;
        r.kind = StepKind::remount;
        r.target_is_dir = *dir;
        r.flags = MS_BIND | MS_REMOUNT | (opts->flags & ~MS_REMOUNT);
        plan.steps.push_back(r);
      }
      add_flag_steps(plan.steps, b, *opts);
      continue;
    }
    if (m.type.empty()) return mount_error(i, "type", "required for a non-bind mount");
    if (m.type == "cgroup" || m.type == "cgroup2") {
      // The container sees its own cgroup: bind each hierarchy's directory
      // of this container, read-only as the options say.
      if (!in.cgroups) return mount_error(i, "type", "no cgroup hierarchy on this host");
      const auto& cg = *in.cgroups;
      unsigned long fl = opts->flags & ~MS_REMOUNT;
      if (cg.mode == CgroupMode::v2) {
        MountStep b = base;
        b.kind = StepKind::bind;
        b.source = cg.unified + in.cgroup_path;
        b.flags = MS_BIND | MS_REC;
        plan.steps.push_back(b);
        MountStep r = base;
        r.kind = StepKind::remount;
        r.flags = MS_BIND | MS_REMOUNT | fl;
        plan.steps.push_back(r);
        continue;
      }
      MountStep t = base;
      t.kind = StepKind::mount;
      t.source = "tmpfs";
      t.fstype = "tmpfs";
      t.flags = (fl & ~MS_RDONLY);
      t.data = "mode=755";
      plan.steps.push_back(t);
      std::vector<std::pair<std::string, std::string>> subs;  // name, host dir
      for (const auto& h : cg.v1) subs.emplace_back(str::split(h.mount_point, '/').back(), h.mount_point);
      if (!cg.unified.empty()) subs.emplace_back(str::split(cg.unified, '/').back(), cg.unified);
      for (const auto& [name, host] : subs) {
        MountStep b = base;
        b.kind = StepKind::bind;
        b.target = base.target + "/" + name;
        b.source = host + in.cgroup_path;
        b.flags = MS_BIND | MS_REC;
        plan.steps.push_back(b);
        MountStep r = b;
        r.kind = StepKind::remount;
        r.source.clear();
        r.flags = MS_BIND | MS_REMOUNT | fl;
        plan.steps.push_back(r);
      }
      if (fl & MS_RDONLY) {
        MountStep r = base;
        r.kind = StepKind::remount;
        r.fstype = "tmpfs";
        r.flags = MS_REMOUNT | fl;
        r.data = "mode=755";
        plan.steps.push_back(r);
      }
      continue;
    }
    if (m.type == "sysfs" && !in.new_netns) {
      // sysfs cannot be mounted without an own network namespace: bind the host's.
      MountStep b = base;
      b.kind = StepKind::bind;
      b.source = "/sys";
      b.flags = MS_BIND | MS_REC;
      plan.steps.push_back(b);
      MountStep r = base;
      r.kind = StepKind::remount;
      r.flags = MS_BIND | MS_REMOUNT | (opts->flags & ~MS_REMOUNT);
      plan.steps.push_back(r);
      continue;
    }
    MountStep s = base;
    s.kind = StepKind::mount;
    s.source = m.source.empty() ? m.type : m.source;
    s.fstype = m.type;
    s.flags = opts->flags;
    s.data = opts->data;
    plan.steps.push_back(s);
    add_flag_steps(plan.steps, s, *opts);
  }

  if (!dev_is_bind) {
    std::vector<MountStep> devs;
    auto add_dev = [&](const std::string& path, char type, unsigned major, unsigned minor,
                       mode_t perm, uid_t uid, gid_t gid) {
      MountStep d;
      d.target = clean_path(path);
      d.target_is_dir = false;
      if (in.can_mknod) {
        d.kind = StepKind::mknod;
        mode_t t = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
        d.mode = t | (perm & 07777);
        d.dev = makedev(major, minor);
        d.uid = uid;
        d.gid = gid;
      } else {
        d.kind = StepKind::bind_device;
        d.source = path;
        d.flags = MS_BIND;
      }
      for (auto& e : devs)
        if (e.target == d.target) {
          e = d;
          return;
        }
      devs.push_back(d);
    };
    for (const auto& d : kDefaultDevices) add_dev(d.path, 'c', d.major, d.minor, 0666, 0, 0);
    for (const auto& d : lx.devices) {
      char t = d.type == "b" ? 'b' : d.type == "p" ? 'p' : 'c';
      add_dev(d.path, t, static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor),
              d.file_mode.value_or(0666), d.uid.value_or(0), d.gid.value_or(0));
    }
    for (auto& d : devs) plan.steps.push_back(std::move(d));
    const std::pair<const char*, const char*> links[] = {
        {"/proc/self/fd", "/dev/fd"},     {"/proc/self/fd/0", "/dev/stdin"},
        {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
        {"/proc/kcore", "/dev/core"},     {"pts/ptmx", "/dev/ptmx"},
    };
    for (const auto& [from, to] : links) {
      MountStep l;
      l.kind = StepKind::symlink;
      l.source = from;
      l.target = to;
      l.target_is_dir = false;
      plan.steps.push_back(std::move(l));
    }
  }
  return plan;
}

}  // namespace berth::runtime
