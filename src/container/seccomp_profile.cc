#include "container/seccomp_profile.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "common/strings.h"

namespace berth::container {

namespace {

// Syscalls every container may use (Docker's unconditional allow list).
constexpr const char* kAllowed =
    "accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 "
    "clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime "
    "clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect "
    "copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old "
    "epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit "
    "exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir "
    "fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr "
    "flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync "
    "ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat getcpu getcwd getdents "
    "getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 "
    "getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid "
    "getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname "
    "getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch "
    "inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents "
    "io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter "
    "io_uring_register io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset "
    "landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr "
    "_llseek lremovexattr lseek lsetxattr lstat lstat64 madvise membarrier memfd_create "
    "memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect "
    "mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend "
    "mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall "
    "munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause "
    "pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll "
    "ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 "
    "pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv "
    "recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat "
    "renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask "
    "rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 "
    "rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max "
    "sched_get_priority_min sched_getscheduler sched_rr_get_interval "
    "sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam "
    "sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop "
    "semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 "
    "setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority "
    "setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 "
    "setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid "
    "setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 "
    "sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx "
    "symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create "
    "timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 "
    "timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times "
    "tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat "
    "utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev";

// A conditional rule: names, action, an optional single argument condition,
// and the includes/excludes filters of Docker's format (space-separated).
struct Rule {
  const char* names;
  const char* action = "SCMP_ACT_ALLOW";
  int errno_ret = -1;
  int arg_index = -1;
  uint64_t arg_value = 0;
  const char* arg_op = nullptr;
  const char* inc_caps = "";
  const char* inc_arches = "";
  const char* min_kernel = "";
  const char* exc_caps = "";
  const char* exc_arches = "";
};

constexpr uint64_t kCloneNsFlags = 2114060288;  // CLONE_NEW{NS,UTS,IPC,USER,PID,NET,CGROUP}

const Rule kRules[] = {
    {.names = "process_vm_readv process_vm_writev ptrace", .min_kernel = "4.8"},
    {.names = "socket", .arg_index = 0, .arg_value = 40, .arg_op = "SCMP_CMP_NE"},  // no AF_VSOCK
    {.names = "personality", .arg_index = 0, .arg_value = 0, .arg_op = "SCMP_CMP_EQ"},
    {.names = "personality", .arg_index = 0, .arg_value = 8, .arg_op = "SCMP_CMP_EQ"},
    {.names = "personality", .arg_index = 0, .arg_value = 131072, .arg_op = "SCMP_CMP_EQ"},
    {.names = "personality", .arg_index = 0, .arg_value = 131080, .arg_op = "SCMP_CMP_EQ"},
    {.names = "personality", .arg_index = 0, .arg_value = 4294967295, .arg_op = "SCMP_CMP_EQ"},
    {.names = "sync_file_range2 swapcontext", .inc_arches = "ppc64le"},
    {.names = "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
     .inc_arches = "arm arm64"},
    {.names = "arch_prctl", .inc_arches = "amd64 x32"},
    {.names = "modify_ldt", .inc_arches = "amd64 x32 x86"},
    {.names = "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr", .inc_arches = "s390 s390x"},
    {.names = "riscv_flush_icache", .inc_arches = "riscv64"},
    {.names = "open_by_handle_at", .inc_caps = "CAP_DAC_READ_SEARCH"},
    {.names = "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount "
              "mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd "
              "setdomainname sethostname setns syslog umount umount2 unshare",
     .inc_caps = "CAP_SYS_ADMIN"},
    {.names = "clone", .arg_index = 0, .arg_value = kCloneNsFlags, .arg_op = "SCMP_CMP_MASKED_EQ",
     .exc_caps = "CAP_SYS_ADMIN", .exc_arches = "s390 s390x"},
    {.names = "clone", .arg_index = 1, .arg_value = kCloneNsFlags, .arg_op = "SCMP_CMP_MASKED_EQ",
     .inc_arches = "s390 s390x", .exc_caps = "CAP_SYS_ADMIN"},
    // clone3's flags are in memory seccomp cannot read: ENOSYS makes libc fall back to clone.
    {.names = "clone3", .action = "SCMP_ACT_ERRNO", .errno_ret = 38, .exc_caps = "CAP_SYS_ADMIN"},
    {.names = "reboot", .inc_caps = "CAP_SYS_BOOT"},
    {.names = "chroot", .inc_caps = "CAP_SYS_CHROOT"},
    {.names = "delete_module init_module finit_module", .inc_caps = "CAP_SYS_MODULE"},
    {.names = "acct", .inc_caps = "CAP_SYS_PACCT"},
    {.names = "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
     .inc_caps = "CAP_SYS_PTRACE"},
    {.names = "iopl ioperm", .inc_caps = "CAP_SYS_RAWIO"},
    {.names = "settimeofday stime clock_settime clock_settime64", .inc_caps = "CAP_SYS_TIME"},
    {.names = "vhangup", .inc_caps = "CAP_SYS_TTY_CONFIG"},
    {.names = "get_mempolicy mbind set_mempolicy set_mempolicy_home_node", .inc_caps = "CAP_SYS_NICE"},
    {.names = "syslog", .inc_caps = "CAP_SYSLOG"},
    {.names = "bpf", .inc_caps = "CAP_BPF"},
    {.names = "perf_event_open", .inc_caps = "CAP_PERFMON"},
};

std::vector<std::string> words(const char* s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

Json build_default() {
  Json p;
  p["defaultAction"] = "SCMP_ACT_ERRNO";
  p["defaultErrnoRet"] = 1;
  p["archMap"] = Json::array({
      Json{{"architecture", "SCMP_ARCH_X86_64"}, {"subArchitectures", {"SCMP_ARCH_X86", "SCMP_ARCH_X32"}}},
      Json{{"architecture", "SCMP_ARCH_AARCH64"}, {"subArchitectures", {"SCMP_ARCH_ARM"}}},
      Json{{"architecture", "SCMP_ARCH_MIPS64"}, {"subArchitectures", {"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"}}},
      Json{{"architecture", "SCMP_ARCH_MIPS64N32"}, {"subArchitectures", {"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"}}},
      Json{{"architecture", "SCMP_ARCH_MIPSEL64"}, {"subArchitectures", {"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"}}},
      Json{{"architecture", "SCMP_ARCH_MIPSEL64N32"}, {"subArchitectures", {"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"}}},
      Json{{"architecture", "SCMP_ARCH_S390X"}, {"subArchitectures", {"SCMP_ARCH_S390"}}},
      Json{{"architecture", "SCMP_ARCH_RISCV64"}, {"subArchitectures", nullptr}},
  });
  Json calls = Json::array();
  calls.push_back(Json{{"names", words(kAllowed)}, {"action", "SCMP_ACT_ALLOW"}});
  for (const Rule& r : kRules) {
    Json c{{"names", words(r.names)}, {"action", r.action}};
    if (r.errno_ret >= 0) c["errnoRet"] = r.errno_ret;
    if (r.arg_op) c["args"] = Json::array({Json{{"index", r.arg_index}, {"value", r.arg_value}, {"op", r.arg_op}}});
    Json inc = Json::object(), exc = Json::object();
    if (*r.inc_caps) inc["caps"] = words(r.inc_caps);
    if (*r.inc_arches) inc["arches"] = words(r.inc_arches);
    if (*r.min_kernel) inc["minKernel"] = r.min_kernel;
    if (*r.exc_caps) exc["caps"] = words(r.exc_caps);
    if (*r.exc_arches) exc["arches"] = words(r.exc_arches);
    if (!inc.empty()) c["includes"] = inc;
    if (!exc.empty()) c["excludes"] = exc;
    calls.push_back(c);
  }
  p["syscalls"] = calls;
  return p;
}

std::vector<std::string> strings_of(const Json& o, const char* key) {
  std::vector<std::string> out;
  auto it = o.find(key);
  if (it != o.end() && it->is_array())
    for (const auto& e : *it)
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool kernel_at_least(const std::string& want, const SeccompTarget& t) {
  if (t.kernel_major == 0) return true;
  auto parts = str::split(want, '.');
  int maj = parts.size() > 0 ? std::atoi(parts[0].c_str()) : 0;
  int min = parts.size() > 1 ? std::atoi(parts[1].c_str()) : 0;
  return t.kernel_major > maj || (t.kernel_major == maj && t.kernel_minor >= min);
}

}  // namespace

const Json& default_seccomp_profile() {
  static const Json p = build_default();
  return p;
}

SeccompTarget host_seccomp_target(std::vector<std::string> caps) {
  SeccompTarget t;
  t.capabilities = std::move(caps);
  utsname u{};
  if (::uname(&u) == 0) {
    std::sscanf(u.release, "%d.%d", &t.kernel_major, &t.kernel_minor);
    std::string m = u.machine;
    if (m == "aarch64") {
      t.go_arch = "arm64";
      t.scmp_arch = "SCMP_ARCH_AARCH64";
    } else if (m == "s390x") {
      t.go_arch = "s390x";
      t.scmp_arch = "SCMP_ARCH_S390X";
    } else if (m == "riscv64") {
      t.go_arch = "riscv64";
      t.scmp_arch = "SCMP_ARCH_RISCV64";
    }
  }
  return t;
}

Result<Json> seccomp_to_oci(const Json& profile, const SeccompTarget& t) {
  if (!profile.is_object())
    return make_error(Errc::invalid, "Decoding seccomp profile failed: not a JSON object");
  auto da = profile.find("defaultAction");
  if (da == profile.end() || !da->is_string() || da->get<std::string>().empty())
    return make_error(Errc::invalid, "Decoding seccomp profile failed: missing defaultAction");
  Json out;
  out["defaultAction"] = *da;
  if (auto it = profile.find("defaultErrnoRet"); it != profile.end() && it->is_number())
    out["defaultErrnoRet"] = *it;
  std::vector<std::string> arches = strings_of(profile, "architectures");
  if (!arches.empty() && profile.contains("archMap") && !profile["archMap"].is_null())
    return make_error(Errc::invalid, "'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'");
  if (auto it = profile.find("archMap"); it != profile.end() && it->is_array()) {
    for (const auto& m : *it) {
      if (!m.is_object() || m.value("architecture", std::string()) != t.scmp_arch) continue;
      arches.push_back(t.scmp_arch);
      for (const auto& s : strings_of(m, "subArchitectures")) arches.push_back(s);
    }
  }
  if (!arches.empty()) out["architectures"] = arches;
  Json calls = Json::array();
  if (auto it = profile.find("syscalls"); it != profile.end() && it->is_array()) {
    for (const auto& c : *it) {
      if (!c.is_object()) return make_error(Errc::invalid, "Decoding seccomp profile failed: syscall entry is not an object");
      std::vector<std::string> names = strings_of(c, "names");
      if (auto n = c.find("name"); n != c.end() && n->is_string() && !n->get<std::string>().empty()) {
        if (!names.empty())
          return make_error(Errc::invalid, "use either 'name' or 'names'");
        names.push_back(n->get<std::string>());
      }
      Json inc = c.value("includes", Json::object()), exc = c.value("excludes", Json::object());
      if (!inc.is_object()) inc = Json::object();
      if (!exc.is_object()) exc = Json::object();
      auto inc_arches = strings_of(inc, "arches");
      if (!inc_arches.empty() && !contains(inc_arches, t.go_arch)) continue;
      bool missing_cap = false;
      for (const auto& cap : strings_of(inc, "caps"))
        if (!contains(t.capabilities, cap)) missing_cap = true;
      if (missing_cap) continue;
      if (auto mk = inc.find("minKernel"); mk != inc.end() && mk->is_string() &&
                                            !kernel_at_least(mk->get<std::string>(), t))
        continue;
      if (contains(strings_of(exc, "arches"), t.go_arch)) continue;
      bool excluded_cap = false;
      for (const auto& cap : strings_of(exc, "caps"))
        if (contains(t.capabilities, cap)) excluded_cap = true;
      if (excluded_cap) continue;
      Json oc{{"names", names}, {"action", c.value("action", Json("SCMP_ACT_ALLOW"))}};
      if (auto e = c.find("errnoRet"); e != c.end() && e->is_number()) oc["errnoRet"] = *e;
      if (auto a = c.find("args"); a != c.end() && a->is_array() && !a->empty()) {
        Json args = Json::array();
        for (const auto& x : *a) {
          Json ox{{"index", x.value("index", 0)}, {"value", x.value("value", uint64_t{0})},
                  {"op", x.value("op", std::string())}};
          if (auto v2 = x.find("valueTwo"); v2 != x.end() && v2->is_number() && v2->get<uint64_t>() != 0)
            ox["valueTwo"] = *v2;
          args.push_back(ox);
        }
        oc["args"] = args;
      }
      calls.push_back(oc);
    }
  }
  out["syscalls"] = calls;
  return out;
}

}  // namespace berth::container
