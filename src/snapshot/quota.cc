#include "snapshot/quota.h"

#include <fcntl.h>
#include <linux/dqblk_xfs.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/strings.h"
#include "common/unique_fd.h"

namespace berth::snapshot {

namespace {

constexpr int kPrjQuota = 2;            // PRJQUOTA
constexpr unsigned qcmd(unsigned cmd, int type) { return (cmd << 8) | (static_cast<unsigned>(type) & 0x00ff); }

// quotactl on any fd of the filesystem (Linux 5.14+): no block device node needed.
int quotactl_fd(int fd, unsigned cmd, int id, void* addr) {
  return static_cast<int>(::syscall(SYS_quotactl_fd, fd, cmd, id, addr));
}

Result<uint32_t> next_project_id(const std::string& id_file) {
  UniqueFd fd(::open(id_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return sys_error("open " + id_file);
  if (::flock(fd.get(), LOCK_EX) != 0) return sys_error("lock " + id_file);
  char buf[32] = {};
  ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
  if (n < 0) return sys_error("read " + id_file);
  uint64_t last = std::strtoull(buf, nullptr, 10);
  // IDs from 1<<20 up, away from the small ones admins give by hand.
  uint64_t next = last < (1u << 20) ? (1u << 20) : last + 1;
  if (next >= 0xffffffffull) return make_error(Errc::internal, "project quota IDs exhausted in " + id_file);
  std::string s = std::to_string(next) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), s.data(), s.size(), 0) != static_cast<ssize_t>(s.size()) ||
      ::fsync(fd.get()) != 0)
    return sys_error("write " + id_file);
  return static_cast<uint32_t>(next);
}

}  // namespace

Result<int64_t> ram_in_bytes(const std::string& s) {
  auto bad = [&] { return make_error(Errc::invalid, "invalid size: '" + s + "'"); };
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  std::string num = s.substr(0, i);
  if (num.empty() || num.front() == '.' || num.back() == '.') return bad();
  std::string unit = str::to_lower(s.substr(i));
  if (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  double mult = 1;
  if (!unit.empty() && std::strchr("kmgtp", unit.front())) {
    const char* order = "kmgtp";
    mult = std::pow(1024.0, static_cast<double>(std::strchr(order, unit.front()) - order + 1));
    unit.erase(0, 1);
  }
  if (!unit.empty() && unit.front() == 'i') unit.erase(0, 1);
  if (!unit.empty() && unit.front() == 'b') unit.erase(0, 1);
  if (!unit.empty()) return bad();
  char* end = nullptr;
  double v = std::strtod(num.c_str(), &end);
  if (!end || *end) return bad();
  return static_cast<int64_t>(v * mult);
}

bool project_quota_supported(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return false;
  // Asked of the filesystem, not assumed from its type: xfs with pquota,
  // and ext4 with prjquota, both answer the XFS quota interface.
  fs_quota_stat qs {};
  if (quotactl_fd(fd.get(), qcmd(Q_XGETQSTAT, kPrjQuota), 0, &qs) != 0) return false;
  return (qs.qs_flags & FS_QUOTA_PDQ_ENFD) != 0;
}

Result<StorageOpts> parse_storage_opts(const std::map<std::string, std::string>& opts, bool quota_supported) {
  StorageOpts out;
  if (opts.empty()) return out;
  for (const auto& [k, v] : opts)
    if (str::to_lower(k) == "size" && !quota_supported) return make_error(Errc::internal, kStorageOptUnsupported);
  for (const auto& [k, v] : opts) {
    if (str::to_lower(k) != "size") return make_error(Errc::internal, "Unknown option " + str::to_lower(k));
    int64_t n = BERTH_TRY(ram_in_bytes(v));
    if (n < 0) return make_error(Errc::invalid, "invalid size: '" + v + "'");
    out.size_bytes = static_cast<uint64_t>(n);
  }
  return out;
}

Status set_project_quota(const std::vector<std::string>& dirs, const std::string& id_file, uint64_t bytes) {
  if (dirs.empty()) return make_error(Errc::invalid, "no directory for the project quota");
  const uint32_t id = BERTH_TRY(next_project_id(id_file));
  UniqueFd first;
  for (const auto& d : dirs) {
    UniqueFd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return sys_error("open " + d);
    struct fsxattr fsx {};
    if (::ioctl(fd.get(), FS_IOC_FSGETXATTR, &fsx) != 0) return sys_error("get project id of " + d);
    fsx.fsx_projid = id;
    fsx.fsx_xflags |= FS_XFLAG_PROJINHERIT;
    if (::ioctl(fd.get(), FS_IOC_FSSETXATTR, &fsx) != 0) return sys_error("set project id on " + d);
    if (!first) first = std::move(fd);
  }
  fs_disk_quota dq {};
  dq.d_version = FS_DQUOT_VERSION;
  dq.d_id = id;
  dq.d_flags = FS_PROJ_QUOTA;
  dq.d_fieldmask = FS_DQ_BHARD | FS_DQ_BSOFT;
  dq.d_blk_hardlimit = (bytes + 511) / 512;  // in 512-byte basic blocks
  dq.d_blk_softlimit = dq.d_blk_hardlimit;
  if (quotactl_fd(first.get(), qcmd(Q_XSETQLIM, kPrjQuota), static_cast<int>(id), &dq) != 0) {
    const int err = errno;
    std::string msg = "failed to set quota limit for projid " + std::to_string(id) + " on " + dirs.front() + ": " +
                      std::strerror(err);
    if (err == EPERM) msg += " (setting quota limits needs CAP_SYS_ADMIN)";
    return make_error(Errc::internal, msg);
  }
  return ok();
}

}  // namespace berth::snapshot
