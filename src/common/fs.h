// Small filesystem helpers with Result returns.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::fs {

enum class Durability { none, fsync };

// Write `data` to `path` atomically: temp file in the same directory, write,
// optional fsync, rename, optional fsync of the directory.
Status write_file_atomic(const std::string& path, std::string_view data,
                         Durability d = Durability::fsync, mode_t mode = 0644);
Result<std::string> read_file(const std::string& path);
Status write_all(int fd, std::string_view data);
// mkdir -p; existing directories are fine.
Status mkdir_p(const std::string& path, mode_t mode = 0755);
// rm -rf that does not cross mount points; missing path is fine.
Status remove_all(const std::string& path);
bool exists(const std::string& path);
std::string dirname(const std::string& path);
std::string basename(const std::string& path);
std::string join(std::string_view a, std::string_view b);
// Directory entries other than . and ..; missing directory gives empty list.
std::vector<std::string> list_dir(const std::string& path);
// Path of the running executable's directory (from /proc/self/exe).
std::string self_exe_dir();
// Find an executable: first next to the running binary, then on PATH.
Result<std::string> find_helper_binary(const std::string& name);

}  // namespace berth::fs
