// cgroup v2 device control: the linux.resources.devices rules compiled to an
// eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) and attached to the cgroup
// directory with BPF_PROG_ATTACH. No libbpf: the instructions are emitted
// here directly.
//
// Semantics match the v1 devices controller the rules were written for: the
// last rule that matches a device access decides; no match denies.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "oci/spec.h"

namespace berth::runtime {

// Pure: the program for `rules` (rules are validated by the spec parser).
std::vector<bpf_insn> compile_device_filter(const std::vector<oci::DeviceCgroupRule>& rules);

// bpf(BPF_PROG_LOAD) of a device program.
Result<UniqueFd> load_device_filter(const std::vector<bpf_insn>& prog);
// Attach `prog_fd` to the cgroup v2 directory `cgroup_dir` (multi-attach, so
// programs set by a parent cgroup keep applying too).
Status attach_device_filter(const std::string& cgroup_dir, int prog_fd);

}  // namespace berth::runtime
