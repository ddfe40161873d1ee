#include "sys/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <thread>

namespace berth::sys {

Status create_netns(const std::string& path, const std::function<Status()>& in_ns) {
  {
    UniqueFd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!f) return sys_error("create " + path);
  }
  Status st;
  // A thread may unshare its network namespace alone; it pins the new one
  // with a bind mount and ends (its namespace stays alive through the mount).
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      st = sys_error("unshare(CLONE_NEWNET)");
      return;
    }
    if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      st = sys_error("bind mount network namespace on " + path);
      return;
    }
    if (in_ns) {
      st = in_ns();
      if (!st) ::umount2(path.c_str(), MNT_DETACH);
    }
  });
  t.join();
  if (!st) ::unlink(path.c_str());
  return st;
}

Status pin_netns(const std::string& ns_file, const std::string& path) {
  {
    UniqueFd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!f) return sys_error("create " + path);
  }
  if (::mount(ns_file.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    Status st = sys_error("bind mount " + ns_file + " on " + path);
    ::unlink(path.c_str());
    return st;
  }
  return ok();
}

Status remove_netns(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return sys_error("unmount " + path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("remove " + path);
  return ok();
}

Status run_in_netns(const std::string& path, const std::function<Status()>& f) {
  UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return sys_error("open " + path);
  Status st;
  std::thread t([&] {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      st = sys_error("setns " + path);
      return;
    }
    st = f();
  });
  t.join();
  return st;
}

}  // namespace berth::sys
