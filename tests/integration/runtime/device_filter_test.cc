// The cgroup v2 eBPF device program on the real kernel: attached to a cgroup
// of this host's cgroup2 hierarchy (pure v2 or the hybrid "unified" one), it
// decides which device opens succeed for a process inside that cgroup.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/fs.h"
#include "runtime/cgroup_layout.h"
#include "runtime/device_filter.h"

namespace berth::runtime {
namespace {

TEST(DeviceFilterKernel, AllowsAndDeniesDeviceOpens) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto layout = detect_host_cgroup_layout();
  ASSERT_TRUE(layout);
  if (layout->unified.empty()) GTEST_SKIP() << "no cgroup2 hierarchy";
  std::string dir = layout->unified + "/rt-devtest-" + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << std::strerror(errno);

  std::vector<oci::DeviceCgroupRule> rules = {
      {false, "a", {}, {}, "rwm"},
      {true, "c", int64_t{1}, int64_t{5}, "rwm"},  // /dev/zero
      {true, "c", int64_t{1}, int64_t{3}, "r"},    // /dev/null, read only
  };
  auto prog = compile_device_filter(rules);
  auto fd = load_device_filter(prog);
  ASSERT_TRUE(fd) << fd.error().msg;
  auto st = attach_device_filter(dir, fd->get());
  ASSERT_TRUE(st) << st.error().msg;

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string me = std::to_string(::getpid());
    int p = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY);
    if (p < 0 || ::write(p, me.data(), me.size()) < 0) ::_exit(100);
    ::close(p);
    int code = 0;
    auto check = [&](const char* path, int flags, bool want_ok, int bit) {
      int f = ::open(path, flags);
      bool ok = f >= 0;
      if (f >= 0) ::close(f);
      if (ok != want_ok || (!ok && errno != EPERM)) code |= bit;
    };
    check("/dev/zero", O_RDWR, true, 1);
    check("/dev/null", O_RDONLY, true, 2);
    check("/dev/null", O_WRONLY, false, 4);
    check("/dev/full", O_RDONLY, false, 8);
    check("/dev/urandom", O_RDONLY, false, 16);
    ::_exit(code);
  }
  int ws = 0;
  ASSERT_EQ(::waitpid(pid, &ws, 0), pid);
  ::rmdir(dir.c_str());
  ASSERT_TRUE(WIFEXITED(ws));
  EXPECT_EQ(WEXITSTATUS(ws), 0) << "bitmask of wrong outcomes (100: could not join the cgroup)";
}

}  // namespace
}  // namespace berth::runtime
