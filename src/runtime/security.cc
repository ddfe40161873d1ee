#include "runtime/security.h"

#include <linux/capability.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "common/fs.h"
#include "common/strings.h"
#include "common/unique_fd.h"

namespace berth::runtime {

Result<int> capability_from_name(const std::string& name) {
  cap_value_t v;
  std::string lower = str::to_lower(name);
  if (!str::starts_with(lower, "cap_") || cap_from_name(lower.c_str(), &v) != 0)
    return make_error(Errc::invalid, "unknown capability \"" + name + "\"");
  return static_cast<int>(v);
}

Result<CapSets> resolve_capabilities(const oci::Capabilities& caps) {
  int last = static_cast<int>(cap_max_bits()) - 1;
  uint64_t host_bounding = 0;
  for (int c = 0; c <= last && c < 64; ++c)
    if (::prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) host_bounding |= 1ULL << c;
  CapSets out;
  auto fill = [&](const std::vector<std::string>& names, const char* field, uint64_t* mask) -> Status {
    for (size_t i = 0; i < names.size(); ++i) {
      auto n = capability_from_name(names[i]);
      if (!n)
        return make_error(Errc::invalid, std::string("process.capabilities.") + field + "[" +
                                             std::to_string(i) + "]: " + n.error().msg);
      if (*n > last || *n >= 64) continue;  // unknown to this kernel
      *mask |= 1ULL << *n;
    }
    *mask &= host_bounding;
    return ok();
  };
  BERTH_TRY_VOID(fill(caps.bounding, "bounding", &out.bounding));
  BERTH_TRY_VOID(fill(caps.effective, "effective", &out.effective));
  BERTH_TRY_VOID(fill(caps.permitted, "permitted", &out.permitted));
  BERTH_TRY_VOID(fill(caps.inheritable, "inheritable", &out.inheritable));
  BERTH_TRY_VOID(fill(caps.ambient, "ambient", &out.ambient));
  // The kernel keeps effective within permitted and ambient within
  // permitted & inheritable; enforce it instead of failing capset().
  out.effective &= out.permitted;
  // capset() refuses inheritable bits outside the (already reduced) bounding set.
  out.inheritable &= out.bounding;
  out.ambient &= out.permitted & out.inheritable;
  return out;
}

namespace {

Result<uint32_t> seccomp_action(const std::string& a, std::optional<uint32_t> errno_ret,
                                const std::string& field) {
  if (a == "SCMP_ACT_KILL" || a == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (a == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (a == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (a == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (a == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (a == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (a == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (a == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  return make_error(Errc::invalid, field + ": unsupported seccomp action \"" + a + "\"");
}

Result<scmp_compare> seccomp_op(const std::string& op, const std::string& field) {
  static const std::map<std::string, scmp_compare> ops = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  auto it = ops.find(op);
  if (it == ops.end()) return make_error(Errc::invalid, field + ": unknown operator \"" + op + "\"");
  return it->second;
}

// Linux 5.19; the uapi headers of older distributions lack it.
constexpr unsigned kWaitKillableRecv = 1U << 5;

struct CtxDeleter {
  void operator()(void* c) const { seccomp_release(c); }
};

}  // namespace

bool SeccompProgram::notify() const { return (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0; }

Result<SeccompProgram> compile_seccomp(const oci::Seccomp& s) {
  const std::string base = "linux.seccomp";
  uint32_t def = BERTH_TRY(seccomp_action(s.default_action, s.default_errno_ret, base + ".defaultAction"));
  if (def == SCMP_ACT_NOTIFY)
    return make_error(Errc::invalid, base + ".defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(def));
  if (!ctx) return make_error(Errc::internal, base + ": seccomp_init failed");
  // Keep the filter usable without no_new_privs (we hold CAP_SYS_ADMIN when loading).
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  for (size_t i = 0; i < s.architectures.size(); ++i) {
    std::string a = s.architectures[i];
    if (str::starts_with(a, "SCMP_ARCH_")) a = str::to_lower(a.substr(10));
    uint32_t arch = seccomp_arch_resolve_name(a.c_str());
    if (arch == 0)
      return make_error(Errc::invalid, base + ".architectures[" + std::to_string(i) +
                                           "]: unknown architecture \"" + s.architectures[i] + "\"");
    int r = seccomp_arch_add(ctx.get(), arch);
    if (r != 0 && r != -EEXIST)
      return make_error(Errc::invalid, base + ".architectures: cannot add \"" + s.architectures[i] + "\"");
  }
  SeccompProgram prog;
  for (size_t i = 0; i < s.flags.size(); ++i) {
    const auto& f = s.flags[i];
    if (f == "SECCOMP_FILTER_FLAG_TSYNC") prog.flags |= SECCOMP_FILTER_FLAG_TSYNC;
    else if (f == "SECCOMP_FILTER_FLAG_LOG") prog.flags |= SECCOMP_FILTER_FLAG_LOG;
    else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") prog.flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    else if (f == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") prog.flags |= kWaitKillableRecv;
    else
      return make_error(Errc::invalid, base + ".flags[" + std::to_string(i) + "]: unknown flag \"" + f + "\"");
  }
  bool notify = false;
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    const auto& sc = s.syscalls[i];
    std::string field = base + ".syscalls[" + std::to_string(i) + "]";
    uint32_t act = BERTH_TRY(seccomp_action(sc.action, sc.errno_ret, field + ".action"));
    if (act == SCMP_ACT_NOTIFY) notify = true;
    if (act == def) continue;  // libseccomp refuses rules equal to the default
    std::vector<scmp_arg_cmp> conds;
    bool distinct = true;
    for (size_t a = 0; a < sc.args.size(); ++a) {
      const auto& arg = sc.args[a];
      if (arg.index > 5) return make_error(Errc::invalid, field + ".args[" + std::to_string(a) + "].index: must be 0..5");
      auto op = BERTH_TRY(seccomp_op(arg.op, field + ".args[" + std::to_string(a) + "].op"));
      for (const auto& c : conds)
        if (c.arg == arg.index) distinct = false;
      conds.push_back(scmp_arg_cmp{arg.index, op, arg.value, arg.value_two});
    }
    for (const auto& name : sc.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // unknown to libseccomp/this arch: skipped as runc does
      int r;
      if (conds.empty()) {
        r = seccomp_rule_add(ctx.get(), act, nr, 0);
      } else if (distinct) {
        r = seccomp_rule_add_array(ctx.get(), act, nr, static_cast<unsigned>(conds.size()), conds.data());
      } else {
        r = 0;
        for (const auto& c : conds) {
          r = seccomp_rule_add_array(ctx.get(), act, nr, 1, &c);
          if (r != 0) break;
        }
      }
      if (r != 0)
        return make_error(Errc::invalid, field + ": cannot add rule for \"" + name + "\": " + std::strerror(-r));
    }
  }
  if (notify && s.listener_path.empty())
    return make_error(Errc::invalid, base + ".listenerPath: required by SCMP_ACT_NOTIFY rules");
  if (!notify && !s.listener_path.empty())
    return make_error(Errc::invalid, base + ".listenerPath: set but no rule uses SCMP_ACT_NOTIFY");
  if ((prog.flags & kWaitKillableRecv) && !notify)
    return make_error(Errc::invalid, base + ".flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule");
  if (notify) prog.flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  UniqueFd mfd(::memfd_create("berth-seccomp", MFD_CLOEXEC));
  if (!mfd) return sys_error("memfd_create");
  int r = seccomp_export_bpf(ctx.get(), mfd.get());
  if (r != 0) return make_error(Errc::internal, base + ": exporting BPF failed: " + std::strerror(-r));
  off_t len = ::lseek(mfd.get(), 0, SEEK_END);
  if (len <= 0 || len % sizeof(sock_filter) != 0) return make_error(Errc::internal, base + ": empty BPF program");
  prog.filter.resize(static_cast<size_t>(len) / sizeof(sock_filter));
  if (::pread(mfd.get(), prog.filter.data(), static_cast<size_t>(len), 0) != len)
    return sys_error("read BPF");
  return prog;
}

namespace {

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// v2: a checksum of everything before it ends the file.
constexpr char kCacheMagic[4] = {'B', 'S', 'C', '2'};

// The cache is trusted only where nobody but us could have written it: the
// directory and the file owned by our euid and writable by nobody else, the
// file a regular one reached without following a link. Anything else is a
// miss (and the cache is not written there either).
bool trusted_owner(const struct stat& st) {
  return st.st_uid == ::geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}
bool cache_dir_trusted(const std::string& dir) {
  struct stat st;
  return ::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && trusted_owner(st);
}
bool read_trusted(const std::string& path, std::string* out) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return false;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !trusted_owner(st) || st.st_size > (1 << 22))
    return false;
  out->assign(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out->size()) {
    ssize_t n = ::read(fd.get(), out->data() + got, out->size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
bool get_u32(std::string_view& in, uint32_t* v) {
  if (in.size() < 4) return false;
  std::memcpy(v, in.data(), 4);
  in.remove_prefix(4);
  return true;
}

}  // namespace

Result<SeccompProgram> compile_seccomp_cached(const oci::Seccomp& s, const std::string& key_in,
                                              const std::string& cache_dir) {
  // The key also names the libseccomp version: its output may change.
  const scmp_version* v = seccomp_version();
  std::string key = key_in + "\n" + (v ? std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                             std::to_string(v->micro)
                                       : std::string("?"));
  char name[32];
  std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(fnv1a64(key)));
  const std::string path = cache_dir + "/" + name;
  std::string text;
  bool have = cache_dir_trusted(cache_dir) && read_trusted(path, &text) && text.size() >= 8;
  if (have) {
    // A file whose checksum does not match (torn, bit-flipped) is a miss.
    uint64_t sum;
    std::memcpy(&sum, text.data() + text.size() - 8, 8);
    have = sum == fnv1a64(std::string_view(text).substr(0, text.size() - 8));
  }
  if (have) {
    std::string_view in(text);
    in.remove_suffix(8);
    uint32_t klen = 0, flags = 0, n = 0;
    if (in.size() >= 4 && std::memcmp(in.data(), kCacheMagic, 4) == 0) {
      in.remove_prefix(4);
      if (get_u32(in, &klen) && in.size() >= klen && in.substr(0, klen) == key) {
        in.remove_prefix(klen);
        if (get_u32(in, &flags) && get_u32(in, &n) && n > 0 && in.size() == n * sizeof(sock_filter)) {
          SeccompProgram prog;
          prog.flags = flags;
          prog.filter.resize(n);
          std::memcpy(prog.filter.data(), in.data(), in.size());
          return prog;
        }
      }
    }
  }
  SeccompProgram prog = BERTH_TRY(compile_seccomp(s));
  std::string out(kCacheMagic, 4);
  put_u32(out, static_cast<uint32_t>(key.size()));
  out += key;
  put_u32(out, prog.flags);
  put_u32(out, static_cast<uint32_t>(prog.filter.size()));
  out.append(reinterpret_cast<const char*>(prog.filter.data()), prog.filter.size() * sizeof(sock_filter));
  uint64_t sum = fnv1a64(out);
  out.append(reinterpret_cast<const char*>(&sum), 8);
  if (fs::mkdir_p(cache_dir, 0700) && cache_dir_trusted(cache_dir))
    (void)fs::write_file_atomic(path, out, fs::Durability::none, 0600);
  return prog;
}

}  // namespace berth::runtime
