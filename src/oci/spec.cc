#include "oci/spec.h"

#include "common/strings.h"

#include <limits>
#include <set>

namespace berth::oci {

namespace {

Error bad(const std::string& path, std::string_view what) {
  return make_error(Errc::invalid, path + ": " + std::string(what));
}

std::string sub(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string idx(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// Field of an object, or nullptr when absent or JSON null.
const Json* field(const Json& o, const char* k) {
  auto it = o.find(k);
  if (it == o.end() || it->is_null()) return nullptr;
  return &*it;
}

Status want_object(const Json& j, const std::string& path) {
  if (!j.is_object()) return bad(path, "expected object");
  return ok();
}

Status get(const Json& o, const char* k, const std::string& path, std::string* out) {
  const Json* v = field(o, k);
  if (!v) return ok();
  if (!v->is_string()) return bad(sub(path, k), "expected string");
  *out = v->get<std::string>();
  return ok();
}

Status get(const Json& o, const char* k, const std::string& path, bool* out) {
  const Json* v = field(o, k);
  if (!v) return ok();
  if (!v->is_boolean()) return bad(sub(path, k), "expected boolean");
  *out = v->get<bool>();
  return ok();
}

template <class I>
Status to_int(const Json& v, const std::string& p, I* out) {
  if (!v.is_number_integer()) return bad(p, "expected integer");
  if constexpr (std::is_unsigned_v<I>) {
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > std::numeric_limits<I>::max()) return bad(p, "value out of range");
      *out = static_cast<I>(u);
      return ok();
    }
    int64_t s = v.get<int64_t>();
    if (s < 0 || static_cast<uint64_t>(s) > std::numeric_limits<I>::max())
      return bad(p, "value out of range");
    *out = static_cast<I>(s);
  } else {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<I>::max()))
      return bad(p, "value out of range");
    int64_t s = v.get<int64_t>();
    if (s < std::numeric_limits<I>::min() || s > std::numeric_limits<I>::max())
      return bad(p, "value out of range");
    *out = static_cast<I>(s);
  }
  return ok();
}

template <class I>
Status get(const Json& o, const char* k, const std::string& path, I* out) {
  const Json* v = field(o, k);
  if (!v) return ok();
  return to_int(*v, sub(path, k), out);
}

template <class I>
Status get(const Json& o, const char* k, const std::string& path, std::optional<I>* out) {
  const Json* v = field(o, k);
  if (!v) return ok();
  if constexpr (std::is_same_v<I, bool>) {
    if (!v->is_boolean()) return bad(sub(path, k), "expected boolean");
    *out = v->get<bool>();
    return ok();
  } else if constexpr (std::is_same_v<I, std::string>) {
    if (!v->is_string()) return bad(sub(path, k), "expected string");
    *out = v->get<std::string>();
    return ok();
  } else {
    I x{};
    BERTH_TRY_VOID(to_int(*v, sub(path, k), &x));
    *out = x;
    return ok();
  }
}

Status get(const Json& o, const char* k, const std::string& path, std::vector<std::string>* out) {
  const Json* v = field(o, k);
  if (!v) return ok();
  std::string p = sub(path, k);
  if (!v->is_array()) return bad(p, "expected array of strings");
  out->clear();
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) return bad(idx(p, i), "expected string");
    out->push_back((*v)[i].get<std::string>());
  }
  return ok();
}

Status get(const Json& o, const char* k, const std::string& path,
           std::map<std::string, std::string>* out) {
  const Json* v = field(o, k);
  if (!v) return ok();
  std::string p = sub(path, k);
  if (!v->is_object()) return bad(p, "expected object of strings");
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it->is_string()) return bad(sub(p, it.key()), "expected string");
    (*out)[it.key()] = it->get<std::string>();
  }
  return ok();
}

// Iterate an array field of objects.
template <class F>
Status each_object(const Json& o, const char* k, const std::string& path, F&& f) {
  const Json* v = field(o, k);
  if (!v) return ok();
  std::string p = sub(path, k);
  if (!v->is_array()) return bad(p, "expected array");
  for (size_t i = 0; i < v->size(); ++i) {
    std::string ip = idx(p, i);
    BERTH_TRY_VOID(want_object((*v)[i], ip));
    BERTH_TRY_VOID(f((*v)[i], ip));
  }
  return ok();
}

// Records `path.k` as unsupported when it holds a non-empty value.
void note_unsupported(const Json& o, const char* k, const std::string& path,
                      std::vector<std::string>* out) {
  const Json* v = field(o, k);
  if (!v) return;
  bool empty = (v->is_string() && v->get<std::string>().empty()) ||
               ((v->is_array() || v->is_object()) && v->empty()) ||
               (v->is_number() && v->get<double>() == 0) || (v->is_boolean() && !v->get<bool>());
  if (!empty) out->push_back(sub(path, k));
}

Status parse_user(const Json& j, const std::string& p, User* u) {
  BERTH_TRY_VOID(want_object(j, p));
  BERTH_TRY_VOID(get(j, "uid", p, &u->uid));
  BERTH_TRY_VOID(get(j, "gid", p, &u->gid));
  BERTH_TRY_VOID(get(j, "umask", p, &u->umask));
  if (const Json* g = field(j, "additionalGids")) {
    std::string gp = sub(p, "additionalGids");
    if (!g->is_array()) return bad(gp, "expected array of integers");
    for (size_t i = 0; i < g->size(); ++i) {
      uint32_t x = 0;
      BERTH_TRY_VOID(to_int((*g)[i], idx(gp, i), &x));
      u->additional_gids.push_back(x);
    }
  }
  if (field(j, "username") && field(j, "username")->is_string() &&
      !field(j, "username")->get<std::string>().empty())
    return bad(sub(p, "username"), "only supported on Windows");
  return ok();
}

Status parse_process(const Json& j, const std::string& p, Process* pr,
                     std::vector<std::string>* unsupported) {
  BERTH_TRY_VOID(want_object(j, p));
  BERTH_TRY_VOID(get(j, "terminal", p, &pr->terminal));
  if (const Json* cs = field(j, "consoleSize")) {
    std::string cp = sub(p, "consoleSize");
    BERTH_TRY_VOID(want_object(*cs, cp));
    ConsoleSize c;
    BERTH_TRY_VOID(get(*cs, "height", cp, &c.height));
    BERTH_TRY_VOID(get(*cs, "width", cp, &c.width));
    pr->console_size = c;
  }
  if (const Json* u = field(j, "user")) BERTH_TRY_VOID(parse_user(*u, sub(p, "user"), &pr->user));
  BERTH_TRY_VOID(get(j, "args", p, &pr->args));
  BERTH_TRY_VOID(get(j, "env", p, &pr->env));
  BERTH_TRY_VOID(get(j, "cwd", p, &pr->cwd));
  if (const Json* c = field(j, "capabilities")) {
    std::string cp = sub(p, "capabilities");
    BERTH_TRY_VOID(want_object(*c, cp));
    Capabilities caps;
    BERTH_TRY_VOID(get(*c, "bounding", cp, &caps.bounding));
    BERTH_TRY_VOID(get(*c, "effective", cp, &caps.effective));
    BERTH_TRY_VOID(get(*c, "inheritable", cp, &caps.inheritable));
    BERTH_TRY_VOID(get(*c, "permitted", cp, &caps.permitted));
    BERTH_TRY_VOID(get(*c, "ambient", cp, &caps.ambient));
    pr->capabilities = std::move(caps);
  }
  BERTH_TRY_VOID(each_object(j, "rlimits", p, [&](const Json& r, const std::string& rp) -> Status {
    Rlimit rl;
    if (!field(r, "type")) return bad(sub(rp, "type"), "required");
    BERTH_TRY_VOID(get(r, "type", rp, &rl.type));
    BERTH_TRY_VOID(get(r, "hard", rp, &rl.hard));
    BERTH_TRY_VOID(get(r, "soft", rp, &rl.soft));
    pr->rlimits.push_back(std::move(rl));
    return ok();
  }));
  BERTH_TRY_VOID(get(j, "noNewPrivileges", p, &pr->no_new_privileges));
  BERTH_TRY_VOID(get(j, "oomScoreAdj", p, &pr->oom_score_adj));
  if (const Json* io = field(j, "ioPriority")) {
    std::string ip = sub(p, "ioPriority");
    BERTH_TRY_VOID(want_object(*io, ip));
    std::string cls;
    BERTH_TRY_VOID(get(*io, "class", ip, &cls));
    Process::IoPriority v;
    if (cls == "IOPRIO_CLASS_RT") v.io_class = 1;
    else if (cls == "IOPRIO_CLASS_BE") v.io_class = 2;
    else if (cls == "IOPRIO_CLASS_IDLE") v.io_class = 3;
    else return bad(sub(ip, "class"), "unknown class \"" + cls + "\"");
    BERTH_TRY_VOID(get(*io, "priority", ip, &v.priority));
    if (v.priority < 0 || v.priority > 7) return bad(sub(ip, "priority"), "must be between 0 and 7");
    pr->io_priority = v;
  }
  if (const Json* sc = field(j, "scheduler")) {
    std::string sp = sub(p, "scheduler");
    BERTH_TRY_VOID(want_object(*sc, sp));
    Process::Scheduler v;
    if (!field(*sc, "policy")) return bad(sub(sp, "policy"), "required");
    BERTH_TRY_VOID(get(*sc, "policy", sp, &v.policy));
    BERTH_TRY_VOID(get(*sc, "nice", sp, &v.nice));
    BERTH_TRY_VOID(get(*sc, "priority", sp, &v.priority));
    BERTH_TRY_VOID(get(*sc, "flags", sp, &v.flags));
    BERTH_TRY_VOID(get(*sc, "runtime", sp, &v.runtime));
    BERTH_TRY_VOID(get(*sc, "deadline", sp, &v.deadline));
    BERTH_TRY_VOID(get(*sc, "period", sp, &v.period));
    if (v.nice < -20 || v.nice > 19) return bad(sub(sp, "nice"), "must be between -20 and 19");
    pr->scheduler = std::move(v);
  }
  if (const Json* a = field(j, "execCPUAffinity")) {
    std::string ap = sub(p, "execCPUAffinity");
    BERTH_TRY_VOID(want_object(*a, ap));
    Process::ExecCpuAffinity v;
    BERTH_TRY_VOID(get(*a, "initial", ap, &v.initial));
    BERTH_TRY_VOID(get(*a, "final", ap, &v.final_cpus));
    pr->exec_cpu_affinity = std::move(v);
  }
  for (const char* k : {"apparmorProfile", "selinuxLabel"}) note_unsupported(j, k, p, unsupported);
  return ok();
}

Status parse_resources(const Json& j, const std::string& p, Resources* r,
                       std::vector<std::string>* unsupported) {
  BERTH_TRY_VOID(want_object(j, p));
  if (const Json* m = field(j, "memory")) {
    std::string mp = sub(p, "memory");
    BERTH_TRY_VOID(want_object(*m, mp));
    MemoryResources mr;
    BERTH_TRY_VOID(get(*m, "limit", mp, &mr.limit));
    BERTH_TRY_VOID(get(*m, "reservation", mp, &mr.reservation));
    BERTH_TRY_VOID(get(*m, "swap", mp, &mr.swap));
    // Docker sends -1 (or its uint64 wrap-around) for "unset".
    if (const Json* sw = field(*m, "swappiness");
        sw && !((sw->is_number_integer() && !sw->is_number_unsigned() && sw->get<int64_t>() == -1) ||
                (sw->is_number_unsigned() && sw->get<uint64_t>() == UINT64_MAX)))
      BERTH_TRY_VOID(get(*m, "swappiness", mp, &mr.swappiness));
    BERTH_TRY_VOID(get(*m, "disableOOMKiller", mp, &mr.disable_oom_killer));
    for (const char* k : {"kernel", "kernelTCP", "useHierarchy", "checkBeforeUpdate"})
      note_unsupported(*m, k, mp, unsupported);
    r->memory = mr;
  }
  if (const Json* c = field(j, "cpu")) {
    std::string cp = sub(p, "cpu");
    BERTH_TRY_VOID(want_object(*c, cp));
    CpuResources cr;
    BERTH_TRY_VOID(get(*c, "shares", cp, &cr.shares));
    BERTH_TRY_VOID(get(*c, "quota", cp, &cr.quota));
    BERTH_TRY_VOID(get(*c, "period", cp, &cr.period));
    BERTH_TRY_VOID(get(*c, "cpus", cp, &cr.cpus));
    BERTH_TRY_VOID(get(*c, "mems", cp, &cr.mems));
    for (const char* k : {"realtimeRuntime", "realtimePeriod", "idle", "burst"})
      note_unsupported(*c, k, cp, unsupported);
    r->cpu = cr;
  }
  if (const Json* pi = field(j, "pids")) {
    std::string pp = sub(p, "pids");
    BERTH_TRY_VOID(want_object(*pi, pp));
    BERTH_TRY_VOID(get(*pi, "limit", pp, &r->pids_limit));
  }
  if (const Json* b = field(j, "blockIO")) {
    std::string bp = sub(p, "blockIO");
    BERTH_TRY_VOID(want_object(*b, bp));
    BERTH_TRY_VOID(get(*b, "weight", bp, &r->blkio_weight));
    note_unsupported(*b, "leafWeight", bp, unsupported);
    auto devs = [&](const char* k, std::vector<BlockIODevice>* out, bool weight) -> Status {
      return each_object(*b, k, bp, [&](const Json& d, const std::string& dp) -> Status {
        BlockIODevice dev;
        if (!field(d, "major") || !field(d, "minor")) return bad(dp, "major and minor are required");
        BERTH_TRY_VOID(get(d, "major", dp, &dev.major));
        BERTH_TRY_VOID(get(d, "minor", dp, &dev.minor));
        if (weight) {
          BERTH_TRY_VOID(get(d, "weight", dp, &dev.weight));
          note_unsupported(d, "leafWeight", dp, unsupported);
        } else {
          if (!field(d, "rate")) return bad(sub(dp, "rate"), "required");
          BERTH_TRY_VOID(get(d, "rate", dp, &dev.rate));
        }
        out->push_back(dev);
        return ok();
      });
    };
    BERTH_TRY_VOID(devs("weightDevice", &r->weight_devices, true));
    BERTH_TRY_VOID(devs("throttleReadBpsDevice", &r->throttle_read_bps, false));
    BERTH_TRY_VOID(devs("throttleWriteBpsDevice", &r->throttle_write_bps, false));
    BERTH_TRY_VOID(devs("throttleReadIOPSDevice", &r->throttle_read_iops, false));
    BERTH_TRY_VOID(devs("throttleWriteIOPSDevice", &r->throttle_write_iops, false));
  }
  BERTH_TRY_VOID(each_object(j, "hugepageLimits", p, [&](const Json& h, const std::string& hp) -> Status {
    HugepageLimit l;
    if (!field(h, "pageSize")) return bad(sub(hp, "pageSize"), "required");
    BERTH_TRY_VOID(get(h, "pageSize", hp, &l.page_size));
    BERTH_TRY_VOID(get(h, "limit", hp, &l.limit));
    if (l.page_size.empty() || l.page_size.find('/') != std::string::npos || l.page_size.find('.') != std::string::npos)
      return bad(sub(hp, "pageSize"), "invalid page size \"" + l.page_size + "\"");
    r->hugepage_limits.push_back(l);
    return ok();
  }));
  BERTH_TRY_VOID(each_object(j, "devices", p, [&](const Json& d, const std::string& dp) -> Status {
    DeviceCgroupRule rule;
    BERTH_TRY_VOID(get(d, "allow", dp, &rule.allow));
    BERTH_TRY_VOID(get(d, "type", dp, &rule.type));
    BERTH_TRY_VOID(get(d, "major", dp, &rule.major));
    BERTH_TRY_VOID(get(d, "minor", dp, &rule.minor));
    BERTH_TRY_VOID(get(d, "access", dp, &rule.access));
    if (!rule.type.empty() && rule.type != "a" && rule.type != "c" && rule.type != "b")
      return bad(sub(dp, "type"), "unknown device type \"" + rule.type + "\"");
    for (char ch : rule.access)
      if (ch != 'r' && ch != 'w' && ch != 'm')
        return bad(sub(dp, "access"), "invalid access \"" + rule.access + "\"");
    r->devices.push_back(std::move(rule));
    return ok();
  }));
  BERTH_TRY_VOID(get(j, "unified", p, &r->unified));
  for (const char* k : {"network", "rdma"}) note_unsupported(j, k, p, unsupported);
  return ok();
}

Status parse_seccomp(const Json& j, const std::string& p, Seccomp* s) {
  BERTH_TRY_VOID(want_object(j, p));
  if (!field(j, "defaultAction")) return bad(sub(p, "defaultAction"), "required");
  BERTH_TRY_VOID(get(j, "defaultAction", p, &s->default_action));
  BERTH_TRY_VOID(get(j, "defaultErrnoRet", p, &s->default_errno_ret));
  BERTH_TRY_VOID(get(j, "architectures", p, &s->architectures));
  BERTH_TRY_VOID(get(j, "flags", p, &s->flags));
  BERTH_TRY_VOID(get(j, "listenerPath", p, &s->listener_path));
  BERTH_TRY_VOID(get(j, "listenerMetadata", p, &s->listener_metadata));
  if (!s->listener_path.empty() && s->listener_path[0] != '/')
    return bad(sub(p, "listenerPath"), "must be an absolute path");
  return each_object(j, "syscalls", p, [&](const Json& sc, const std::string& sp) -> Status {
    SeccompSyscall sys;
    BERTH_TRY_VOID(get(sc, "names", sp, &sys.names));
    if (!field(sc, "action")) return bad(sub(sp, "action"), "required");
    BERTH_TRY_VOID(get(sc, "action", sp, &sys.action));
    BERTH_TRY_VOID(get(sc, "errnoRet", sp, &sys.errno_ret));
    BERTH_TRY_VOID(each_object(sc, "args", sp, [&](const Json& a, const std::string& ap) -> Status {
      SeccompArg arg;
      BERTH_TRY_VOID(get(a, "index", ap, &arg.index));
      BERTH_TRY_VOID(get(a, "value", ap, &arg.value));
      BERTH_TRY_VOID(get(a, "valueTwo", ap, &arg.value_two));
      if (!field(a, "op")) return bad(sub(ap, "op"), "required");
      BERTH_TRY_VOID(get(a, "op", ap, &arg.op));
      sys.args.push_back(arg);
      return ok();
    }));
    s->syscalls.push_back(std::move(sys));
    return ok();
  });
}

Status parse_linux(const Json& j, const std::string& p, Linux* l,
                   std::vector<std::string>* unsupported) {
  BERTH_TRY_VOID(want_object(j, p));
  BERTH_TRY_VOID(each_object(j, "namespaces", p, [&](const Json& n, const std::string& np) -> Status {
    std::string type;
    if (!field(n, "type")) return bad(sub(np, "type"), "required");
    BERTH_TRY_VOID(get(n, "type", np, &type));
    auto t = parse_ns_type(type);
    if (!t) return bad(sub(np, "type"), "unknown namespace \"" + type + "\"");
    Namespace ns{*t, {}};
    BERTH_TRY_VOID(get(n, "path", np, &ns.path));
    l->namespaces.push_back(std::move(ns));
    return ok();
  }));
  auto maps = [&](const char* k, std::vector<IdMapping>* out) {
    return each_object(j, k, p, [&](const Json& m, const std::string& mp) -> Status {
      IdMapping im;
      BERTH_TRY_VOID(get(m, "containerID", mp, &im.container_id));
      BERTH_TRY_VOID(get(m, "hostID", mp, &im.host_id));
      BERTH_TRY_VOID(get(m, "size", mp, &im.size));
      if (im.size == 0) return bad(sub(mp, "size"), "must be positive");
      out->push_back(im);
      return ok();
    });
  };
  BERTH_TRY_VOID(maps("uidMappings", &l->uid_mappings));
  BERTH_TRY_VOID(maps("gidMappings", &l->gid_mappings));
  BERTH_TRY_VOID(each_object(j, "devices", p, [&](const Json& d, const std::string& dp) -> Status {
    Device dev;
    if (!field(d, "path")) return bad(sub(dp, "path"), "required");
    BERTH_TRY_VOID(get(d, "path", dp, &dev.path));
    if (!field(d, "type")) return bad(sub(dp, "type"), "required");
    BERTH_TRY_VOID(get(d, "type", dp, &dev.type));
    if (dev.type != "c" && dev.type != "b" && dev.type != "u" && dev.type != "p")
      return bad(sub(dp, "type"), "unknown device type \"" + dev.type + "\"");
    BERTH_TRY_VOID(get(d, "major", dp, &dev.major));
    BERTH_TRY_VOID(get(d, "minor", dp, &dev.minor));
    BERTH_TRY_VOID(get(d, "fileMode", dp, &dev.file_mode));
    BERTH_TRY_VOID(get(d, "uid", dp, &dev.uid));
    BERTH_TRY_VOID(get(d, "gid", dp, &dev.gid));
    if (dev.path.empty() || dev.path[0] != '/')
      return bad(sub(dp, "path"), "must be absolute");
    l->devices.push_back(std::move(dev));
    return ok();
  }));
  if (const Json* cp = field(j, "cgroupsPath")) {
    if (!cp->is_string()) return bad(sub(p, "cgroupsPath"), "expected string");
    l->cgroups_path = cp->get<std::string>();
  }
  if (const Json* r = field(j, "resources")) {
    Resources res;
    BERTH_TRY_VOID(parse_resources(*r, sub(p, "resources"), &res, unsupported));
    l->resources = std::move(res);
  }
  BERTH_TRY_VOID(get(j, "sysctl", p, &l->sysctl));
  BERTH_TRY_VOID(get(j, "maskedPaths", p, &l->masked_paths));
  BERTH_TRY_VOID(get(j, "readonlyPaths", p, &l->readonly_paths));
  BERTH_TRY_VOID(get(j, "rootfsPropagation", p, &l->rootfs_propagation));
  if (const Json* s = field(j, "seccomp")) {
    Seccomp sc;
    BERTH_TRY_VOID(parse_seccomp(*s, sub(p, "seccomp"), &sc));
    l->seccomp = std::move(sc);
  }
  if (const Json* pe = field(j, "personality")) {
    std::string pp = sub(p, "personality");
    BERTH_TRY_VOID(want_object(*pe, pp));
    std::string domain;
    BERTH_TRY_VOID(get(*pe, "domain", pp, &domain));
    if (domain == "LINUX") l->personality = 0x0000;         // PER_LINUX
    else if (domain == "LINUX32") l->personality = 0x0008;  // PER_LINUX32
    else return bad(sub(pp, "domain"), "unknown domain \"" + domain + "\"");
    std::vector<std::string> flags;
    BERTH_TRY_VOID(get(*pe, "flags", pp, &flags));
    if (!flags.empty())
      return bad(sub(pp, "flags"), "unknown flag \"" + flags.front() + "\" (the OCI spec defines no personality flags)");
  }
  if (const Json* to = field(j, "timeOffsets")) {
    std::string tp = sub(p, "timeOffsets");
    BERTH_TRY_VOID(want_object(*to, tp));
    for (const auto& [clock, v] : to->items()) {
      std::string cp = sub(tp, clock.c_str());
      if (clock != "monotonic" && clock != "boottime") return bad(cp, "unknown clock (monotonic or boottime)");
      BERTH_TRY_VOID(want_object(v, cp));
      Linux::TimeOffset off;
      BERTH_TRY_VOID(get(v, "secs", cp, &off.secs));
      BERTH_TRY_VOID(get(v, "nanosecs", cp, &off.nanosecs));
      if (off.nanosecs >= 1000000000U) return bad(sub(cp, "nanosecs"), "must be below 1000000000");
      l->time_offsets[clock] = off;
    }
  }
  if (const Json* mp = field(j, "memoryPolicy")) {
    std::string pp = sub(p, "memoryPolicy");
    BERTH_TRY_VOID(want_object(*mp, pp));
    Linux::MemoryPolicy m;
    if (!field(*mp, "mode")) return bad(sub(pp, "mode"), "required");
    BERTH_TRY_VOID(get(*mp, "mode", pp, &m.mode));
    BERTH_TRY_VOID(get(*mp, "nodes", pp, &m.nodes));
    BERTH_TRY_VOID(get(*mp, "flags", pp, &m.flags));
    l->memory_policy = std::move(m);
  }
  for (const char* k : {"intelRdt", "mountLabel", "netDevices"})
    note_unsupported(j, k, p, unsupported);
  return ok();
}

Status parse_hooks(const Json& j, const std::string& p, Hooks* h) {
  BERTH_TRY_VOID(want_object(j, p));
  auto list = [&](const char* k, std::vector<Hook>* out) {
    return each_object(j, k, p, [&](const Json& o, const std::string& hp) -> Status {
      Hook hk;
      if (!field(o, "path")) return bad(sub(hp, "path"), "required");
      BERTH_TRY_VOID(get(o, "path", hp, &hk.path));
      if (hk.path.empty() || hk.path[0] != '/') return bad(sub(hp, "path"), "must be absolute");
      BERTH_TRY_VOID(get(o, "args", hp, &hk.args));
      BERTH_TRY_VOID(get(o, "env", hp, &hk.env));
      BERTH_TRY_VOID(get(o, "timeout", hp, &hk.timeout));
      if (hk.timeout && *hk.timeout <= 0) return bad(sub(hp, "timeout"), "must be positive");
      out->push_back(std::move(hk));
      return ok();
    });
  };
  BERTH_TRY_VOID(list("prestart", &h->prestart));
  BERTH_TRY_VOID(list("createRuntime", &h->create_runtime));
  BERTH_TRY_VOID(list("createContainer", &h->create_container));
  BERTH_TRY_VOID(list("startContainer", &h->start_container));
  BERTH_TRY_VOID(list("poststart", &h->poststart));
  BERTH_TRY_VOID(list("poststop", &h->poststop));
  return ok();
}

}  // namespace

std::string_view ns_type_name(NsType t) {
  switch (t) {
    case NsType::pid: return "pid";
    case NsType::network: return "network";
    case NsType::mount: return "mount";
    case NsType::ipc: return "ipc";
    case NsType::uts: return "uts";
    case NsType::user: return "user";
    case NsType::cgroup: return "cgroup";
    case NsType::time: return "time";
  }
  return "?";
}

std::optional<NsType> parse_ns_type(std::string_view s) {
  if (s == "pid") return NsType::pid;
  if (s == "network") return NsType::network;
  if (s == "mount") return NsType::mount;
  if (s == "ipc") return NsType::ipc;
  if (s == "uts") return NsType::uts;
  if (s == "user") return NsType::user;
  if (s == "cgroup") return NsType::cgroup;
  if (s == "time") return NsType::time;
  return std::nullopt;
}

bool Linux::has_ns(NsType t) const { return find_ns(t) != nullptr; }
const Namespace* Linux::find_ns(NsType t) const {
  for (const auto& n : namespaces)
    if (n.type == t) return &n;
  return nullptr;
}

Result<Process> parse_process_json(const Json& j) {
  Process pr;
  std::vector<std::string> unsupported;
  BERTH_TRY_VOID(parse_process(j, "process", &pr, &unsupported));
  if (!unsupported.empty()) return bad(unsupported.front(), "not supported by berth-runtime");
  if (pr.args.empty()) return bad("process.args", "must not be empty");
  if (pr.cwd.empty() || pr.cwd[0] != '/') return bad("process.cwd", "must be an absolute path");
  return pr;
}

Result<Resources> parse_resources_json(const Json& j) {
  Resources r;
  std::vector<std::string> unsupported;
  BERTH_TRY_VOID(parse_resources(j, "resources", &r, &unsupported));
  if (!unsupported.empty()) return bad(unsupported.front(), "not supported by berth-runtime");
  return r;
}

Result<Spec> parse_spec(std::string_view text) {
  auto j = parse_json(text);
  if (!j) return make_error(Errc::invalid, "invalid JSON: " + j.error().msg);
  return parse_spec_json(*j);
}

Result<Spec> parse_spec_json(const Json& j) {
  Spec s;
  const std::string top;
  if (!j.is_object()) return make_error(Errc::invalid, "expected a JSON object");
  if (!field(j, "ociVersion")) return bad("ociVersion", "required");
  BERTH_TRY_VOID(get(j, "ociVersion", top, &s.oci_version));
  if (const Json* p = field(j, "process")) {
    Process pr;
    BERTH_TRY_VOID(parse_process(*p, "process", &pr, &s.unsupported));
    s.process = std::move(pr);
  }
  const Json* root = field(j, "root");
  if (!root) return bad("root", "required");
  BERTH_TRY_VOID(want_object(*root, "root"));
  if (!field(*root, "path")) return bad("root.path", "required");
  BERTH_TRY_VOID(get(*root, "path", "root", &s.root.path));
  BERTH_TRY_VOID(get(*root, "readonly", "root", &s.root.readonly));
  BERTH_TRY_VOID(get(j, "hostname", top, &s.hostname));
  BERTH_TRY_VOID(get(j, "domainname", top, &s.domainname));
  BERTH_TRY_VOID(each_object(j, "mounts", top, [&](const Json& m, const std::string& mp) -> Status {
    Mount mt;
    if (!field(m, "destination")) return bad(sub(mp, "destination"), "required");
    BERTH_TRY_VOID(get(m, "destination", mp, &mt.destination));
    BERTH_TRY_VOID(get(m, "type", mp, &mt.type));
    BERTH_TRY_VOID(get(m, "source", mp, &mt.source));
    BERTH_TRY_VOID(get(m, "options", mp, &mt.options));
    for (const char* k : {"uidMappings", "gidMappings"}) note_unsupported(m, k, mp, &s.unsupported);
    s.mounts.push_back(std::move(mt));
    return ok();
  }));
  if (const Json* h = field(j, "hooks")) BERTH_TRY_VOID(parse_hooks(*h, "hooks", &s.hooks));
  BERTH_TRY_VOID(get(j, "annotations", top, &s.annotations));
  if (const Json* l = field(j, "linux")) {
    Linux lx;
    BERTH_TRY_VOID(parse_linux(*l, "linux", &lx, &s.unsupported));
    s.linux_spec = std::move(lx);
  }
  return s;
}

Status validate_spec(const Spec& s) {
  if (s.oci_version.empty()) return bad("ociVersion", "required");
  if (s.oci_version[0] != '1') return bad("ociVersion", "unsupported version \"" + s.oci_version + "\"");
  if (s.root.path.empty()) return bad("root.path", "required");
  if (!s.process) return bad("process", "required");
  const Process& p = *s.process;
  if (p.args.empty()) return bad("process.args", "must not be empty");
  if (p.cwd.empty() || p.cwd[0] != '/') return bad("process.cwd", "must be an absolute path");
  for (size_t i = 0; i < p.env.size(); ++i)
    if (p.env[i].find('=') == std::string::npos)
      return bad(idx("process.env", i), "expected KEY=VALUE");
  std::set<std::string> rl;
  for (size_t i = 0; i < p.rlimits.size(); ++i)
    if (!rl.insert(p.rlimits[i].type).second)
      return bad(idx("process.rlimits", i) + ".type", "duplicate \"" + p.rlimits[i].type + "\"");
  if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
    return bad("process.oomScoreAdj", "must be between -1000 and 1000");
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    const auto& m = s.mounts[i];
    if (m.destination.empty() || m.destination[0] != '/')
      return bad(idx("mounts", i) + ".destination",
                 "must be an absolute path, got \"" + m.destination + "\"");
    // Resolution is confined to the rootfs anyway; a ".." component is
    // refused so a config never even names a path outside it.
    for (const auto& part : str::split(m.destination, '/'))
      if (part == "..") return bad(idx("mounts", i) + ".destination", "must not contain \"..\"");
  }
  if (!s.linux_spec) return bad("linux", "required on Linux");
  const Linux& l = *s.linux_spec;
  std::set<NsType> seen;
  for (size_t i = 0; i < l.namespaces.size(); ++i)
    if (!seen.insert(l.namespaces[i].type).second)
      return bad(idx("linux.namespaces", i) + ".type",
                 "duplicate namespace \"" + std::string(ns_type_name(l.namespaces[i].type)) + "\"");
  bool new_user = l.has_ns(NsType::user) && l.find_ns(NsType::user)->path.empty();
  if (!l.uid_mappings.empty() && !new_user)
    return bad("linux.uidMappings", "requires a new user namespace in linux.namespaces");
  if (!l.gid_mappings.empty() && !new_user)
    return bad("linux.gidMappings", "requires a new user namespace in linux.namespaces");
  if (new_user && (l.uid_mappings.empty() || l.gid_mappings.empty()))
    return bad("linux.uidMappings", "a new user namespace needs uidMappings and gidMappings");
  if (!s.hostname.empty() && !l.has_ns(NsType::uts))
    return bad("hostname", "setting the hostname requires a uts namespace");
  if (!s.domainname.empty() && !l.has_ns(NsType::uts))
    return bad("domainname", "setting the domainname requires a uts namespace");
  if (l.cgroups_path && !l.cgroups_path->empty() && l.cgroups_path->find("..") != std::string::npos)
    return bad("linux.cgroupsPath", "must not contain \"..\"");
  static const std::set<std::string> props = {"", "private", "rprivate", "shared", "rshared",
                                              "slave", "rslave", "unbindable", "runbindable"};
  if (!props.count(l.rootfs_propagation))
    return bad("linux.rootfsPropagation", "invalid value \"" + l.rootfs_propagation + "\"");
  if (!l.time_offsets.empty()) {
    const Namespace* t = l.find_ns(NsType::time);
    if (!t) return bad("linux.timeOffsets", "requires a new time namespace in linux.namespaces");
    if (!t->path.empty()) return bad("linux.timeOffsets", "cannot be set when joining an existing time namespace");
  }
  if (p.terminal && !l.has_ns(NsType::mount))
    return bad("process.terminal", "requires a mount namespace");
  return ok();
}

}  // namespace berth::oci
