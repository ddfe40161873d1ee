// OCI runtime-spec (config.json) types, parsing and validation.
//
// parse_spec() checks JSON types field by field and reports the first error
// with the field's path ("linux.namespaces[2].type: unknown namespace \"foo\"").
// validate_spec() checks the cross-field rules and the bundle on disk. Fields
// of the spec this runtime does not implement are kept as `unsupported`
// entries so the runtime can reject them by name instead of ignoring them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace berth::oci {

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  // ioPriority: IOPRIO_CLASS_RT=1, BE=2, IDLE=3 and a level 0..7.
  struct IoPriority {
    int io_class = 0;
    int priority = 0;
  };
  std::optional<IoPriority> io_priority;
  // scheduler: sched_setattr(2) arguments.
  struct Scheduler {
    std::string policy;  // "SCHED_BATCH"
    int32_t nice = 0;
    int32_t priority = 0;
    std::vector<std::string> flags;
    uint64_t runtime = 0, deadline = 0, period = 0;
  };
  std::optional<Scheduler> scheduler;
  // execCPUAffinity (exec processes only): CPU lists ("0-3,7") before and
  // after joining the container's cgroup.
  struct ExecCpuAffinity {
    std::string initial, final_cpus;
  };
  std::optional<ExecCpuAffinity> exec_cpu_affinity;
};

struct Root {
  std::string path;
  bool readonly = false;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

enum class NsType { pid, network, mount, ipc, uts, user, cgroup, time };
std::string_view ns_type_name(NsType t);
std::optional<NsType> parse_ns_type(std::string_view s);

struct Namespace {
  NsType type;
  std::string path;  // empty: create a new one
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Device {
  std::string path;
  std::string type;  // c, b, u, p
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DeviceCgroupRule {
  bool allow = false;
  std::string type;  // "a", "c", "b" (empty = all)
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::string access;  // "rwm" subset
};

struct MemoryResources {
  std::optional<int64_t> limit, reservation, swap;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> period;
  std::string cpus, mems;
};

struct HugepageLimit {
  std::string page_size;  // "2MB"
  uint64_t limit = 0;
};

struct BlockIODevice {  // weightDevice and throttle* entries
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight;  // weightDevice
  uint64_t rate = 0;               // throttle*
};

struct Resources {
  std::optional<MemoryResources> memory;
  std::vector<HugepageLimit> hugepage_limits;
  std::vector<BlockIODevice> weight_devices, throttle_read_bps, throttle_write_bps, throttle_read_iops,
      throttle_write_iops;
  std::optional<CpuResources> cpu;
  std::optional<int64_t> pids_limit;
  std::optional<uint16_t> blkio_weight;
  std::vector<DeviceCgroupRule> devices;
  std::map<std::string, std::string> unified;
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_EQ ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::vector<SeccompSyscall> syscalls;
  // SCMP_ACT_NOTIFY: the listener fd goes to this unix socket with the
  // container process state (metadata = listenerMetadata).
  std::string listener_path, listener_metadata;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
  bool empty() const {
    return prestart.empty() && create_runtime.empty() && create_container.empty() &&
           start_container.empty() && poststart.empty() && poststop.empty();
  }
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::optional<std::string> cgroups_path;
  std::optional<Resources> resources;
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> masked_paths, readonly_paths;
  std::string rootfs_propagation;
  std::optional<Seccomp> seccomp;
  // linux.personality: the execution domain (PER_LINUX or PER_LINUX32).
  std::optional<unsigned long> personality;
  // linux.timeOffsets: clock name ("monotonic", "boottime") -> offset.
  struct TimeOffset {
    int64_t secs = 0;
    uint32_t nanosecs = 0;
  };
  std::map<std::string, TimeOffset> time_offsets;
  // linux.memoryPolicy: set_mempolicy(2) mode, node list and mode flags.
  struct MemoryPolicy {
    std::string mode;   // "MPOL_INTERLEAVE"
    std::string nodes;  // "0-1,3"
    std::vector<std::string> flags;
  };
  std::optional<MemoryPolicy> memory_policy;

  bool has_ns(NsType t) const;
  const Namespace* find_ns(NsType t) const;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  Root root;
  std::string hostname, domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux_spec;  // "linux" (the word is a GNU macro)
  // Fields that are set in config.json but not implemented by this runtime
  // (their JSON paths); the runtime refuses such a config.
  std::vector<std::string> unsupported;
};

// Parse config.json text. Errors name the field ("process.args: expected array").
Result<Spec> parse_spec(std::string_view text);
Result<Spec> parse_spec_json(const Json& j);

// A process object alone (runc exec --process FILE). Fields this runtime
// does not implement are errors naming the field.
Result<Process> parse_process_json(const Json& j);
// A linux.resources object alone (runc update -r FILE); same rule.
Result<Resources> parse_resources_json(const Json& j);

// Cross-field checks that need no filesystem (namespaces unique, id mappings
// only with a user namespace, absolute mount destinations, ...).
Status validate_spec(const Spec& spec);

}  // namespace berth::oci
