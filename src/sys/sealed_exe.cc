#include "sys/sealed_exe.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "common/sealed_copy.h"
#include "common/unique_fd.h"

namespace berth::sys {

bool running_from_sealed_copy() {
  UniqueFd fd(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  int seals = ::fcntl(fd.get(), F_GET_SEALS);
  return seals >= 0 && (seals & kSealedCopySeals) == kSealedCopySeals;
}

Status reexec_from_sealed_copy(char* const* argv, char* const* envp) {
  UniqueFd src(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!src) return sys_error("open /proc/self/exe");
  UniqueFd mem = BERTH_TRY(sealed_copy_of(src.get()));
  ::syscall(SYS_execveat, mem.get(), "", argv, envp, AT_EMPTY_PATH);
  if (errno == EACCES)
    return sys_error("execute the sealed runtime copy (is vm.memfd_noexec set to 2?)");
  return sys_error("execute the sealed runtime copy");
}

}  // namespace berth::sys
