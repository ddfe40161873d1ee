#include "runtime/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth::runtime {

namespace {

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

// Registers after the prologue: r2 = device type, r3 = access bits,
// r4 = major, r5 = minor (from struct bpf_cgroup_dev_ctx in r1).
constexpr uint8_t kType = 2, kAccess = 3, kMajor = 4, kMinor = 5, kTmp = 1;

int access_bits(const std::string& a) {
  if (a.empty()) return BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  int bits = 0;
  for (char c : a) {
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
  }
  return bits;
}

}  // namespace

std::vector<bpf_insn> compile_device_filter(const std::vector<oci::DeviceCgroupRule>& rules) {
  std::vector<bpf_insn> p;
  // Prologue: unpack the context.
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, kType, 1, 0, 0));
  p.push_back(insn(BPF_ALU | BPF_AND | BPF_K, kType, 0, 0, 0xffff));
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, kAccess, 1, 0, 0));
  p.push_back(insn(BPF_ALU | BPF_RSH | BPF_K, kAccess, 0, 0, 16));
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, kMajor, 1, 4, 0));
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, kMinor, 1, 8, 0));
  // Last match wins: test the rules from the last one back, and return at
  // the first match.
  bool catch_all = false;
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const auto& r = *it;
    std::vector<bpf_insn> block;
    std::vector<size_t> jumps;  // indexes whose off must reach the block's end
    const std::string type = r.type.empty() ? "a" : r.type;
    if (type != "a") {
      int t = type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
      jumps.push_back(block.size());
      block.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, kType, 0, 0, t));
    }
    int acc = access_bits(r.access);
    if (acc != (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)) {
      // Every requested access bit must be allowed by the rule.
      block.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_X, kTmp, kAccess, 0, 0));
      block.push_back(insn(BPF_ALU | BPF_AND | BPF_K, kTmp, 0, 0, acc));
      jumps.push_back(block.size());
      block.push_back(insn(BPF_JMP | BPF_JNE | BPF_X, kTmp, kAccess, 0, 0));
    }
    if (type != "a" && r.major && *r.major >= 0) {
      jumps.push_back(block.size());
      block.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, kMajor, 0, 0, static_cast<int32_t>(*r.major)));
    }
    if (type != "a" && r.minor && *r.minor >= 0) {
      jumps.push_back(block.size());
      block.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, kMinor, 0, 0, static_cast<int32_t>(*r.minor)));
    }
    block.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, r.allow ? 1 : 0));
    block.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    for (size_t j : jumps) block[j].off = static_cast<int16_t>(block.size() - (j + 1));
    p.insert(p.end(), block.begin(), block.end());
    if (jumps.empty()) {
      // Matches everything: anything after it would be unreachable, which
      // the verifier rejects.
      catch_all = true;
      break;
    }
  }
  if (catch_all) return p;
  // No rule matched: deny.
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
  p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

Result<UniqueFd> load_device_filter(const std::vector<bpf_insn>& prog) {
  static const char license[] = "MIT";
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insn_cnt = static_cast<uint32_t>(prog.size());
  attr.insns = reinterpret_cast<uint64_t>(prog.data());
  attr.license = reinterpret_cast<uint64_t>(license);
  long fd = ::syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (fd < 0) return sys_error("linux.resources.devices: load the cgroup v2 device program (bpf)");
  return UniqueFd(static_cast<int>(fd));
}

Status attach_device_filter(const std::string& cgroup_dir, int prog_fd) {
  UniqueFd dir(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return sys_error("open " + cgroup_dir);
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(dir.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (::syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr) != 0)
    return sys_error("linux.resources.devices: attach the device program to " + cgroup_dir);
  return ok();
}

}  // namespace berth::runtime
