#include "common/sealed_copy.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

namespace berth {

namespace {

static_assert(kSealedCopySeals == (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE));

// Bytes of the ELF file the kernel reads to execute it: the headers, the
// program header table and every segment's file range.
off_t loadable_size(int fd, off_t file_size) {
  Elf64_Ehdr eh;
  if (::pread(fd, &eh, sizeof eh, 0) != static_cast<ssize_t>(sizeof eh) ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_phentsize != sizeof(Elf64_Phdr))
    return file_size;  // not what we expect: copy it whole
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  size_t len = ph.size() * sizeof(Elf64_Phdr);
  if (::pread(fd, ph.data(), len, static_cast<off_t>(eh.e_phoff)) != static_cast<ssize_t>(len)) return file_size;
  uint64_t end = eh.e_phoff + len;
  for (const auto& p : ph) end = std::max<uint64_t>(end, p.p_offset + p.p_filesz);
  return static_cast<off_t>(std::min<uint64_t>(end, static_cast<uint64_t>(file_size)));
}

}  // namespace

Result<UniqueFd> sealed_copy_of(int src) {
  struct stat st;
  if (::fstat(src, &st) != 0) return sys_error("stat the runtime binary");
  off_t size = loadable_size(src, st.st_size);
  UniqueFd mem(::memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
  if (!mem && errno == EINVAL) mem.reset(::memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem) return sys_error("memfd_create for the sealed runtime copy");
  off_t off = 0;
  while (off < size) {
    ssize_t n = ::sendfile(mem.get(), src, &off, static_cast<size_t>(size - off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("copy the runtime binary into a memfd");
    }
    if (n == 0) return make_error(Errc::internal, "copy the runtime binary into a memfd: short read");
  }
  if (::fcntl(mem.get(), F_ADD_SEALS, kSealedCopySeals) != 0) return sys_error("seal the runtime copy");
  return mem;
}

}  // namespace berth
