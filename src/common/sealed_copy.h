// A sealed memfd copy of an executable (CVE-2019-5736): the copy holds only
// the bytes the ELF program headers reference, and carries F_SEAL_SEAL|
// SHRINK|GROW|WRITE, so nothing that reaches it through /proc/PID/exe can
// write it. sys/sealed_exe.h re-executes the runtime from such a copy; the
// shim executes berth-runtime's `create`/`exec` from one directly, so the
// runtime finds itself sealed already and skips its own copy and re-exec.
#pragma once

#include "common/result.h"
#include "common/unique_fd.h"

namespace berth {

// The seals a sealed copy carries (and running_from_sealed_copy() checks).
inline constexpr int kSealedCopySeals = 0x0001 | 0x0002 | 0x0004 | 0x0008;  // F_SEAL_SEAL|SHRINK|GROW|WRITE

// Copy the executable open at `src` into a new close-on-exec memfd and seal
// it; execute it with execveat(fd, "", ..., AT_EMPTY_PATH).
Result<UniqueFd> sealed_copy_of(int src);

}  // namespace berth
