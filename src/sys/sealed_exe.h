// CVE-2019-5736: run the current program from a sealed memfd copy of its own
// executable, so that nothing a container process reaches through
// /proc/PID/exe, /proc/PID/map_files or a PT_INTERP / #! of /proc/self/exe can
// be written: the copy is sealed (F_SEAL_SEAL|SHRINK|GROW|WRITE) and the
// host binary is no longer the process image.
#pragma once

#include "common/result.h"

namespace berth::sys {

// True when /proc/self/exe is a memfd carrying the write/grow/shrink/seal
// seals (i.e. we already run from a sealed copy).
bool running_from_sealed_copy();

// Copy /proc/self/exe into a memfd (only the bytes the ELF program headers
// reference: section headers and debug info are not needed to execute),
// seal it and execveat() it with `argv`/`envp`. Returns only on failure.
Status reexec_from_sealed_copy(char* const* argv, char* const* envp);

}  // namespace berth::sys
