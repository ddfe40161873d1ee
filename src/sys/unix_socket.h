// Unix-socket helpers: connect by path and pass a file descriptor with
// SCM_RIGHTS (the console-socket protocol runc uses).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::sys {

Result<UniqueFd> connect_unix(const std::string& path);
Result<UniqueFd> listen_unix(const std::string& path);

// Send `fd` with `name` as the message payload. Async-signal-safe (no
// allocation): returns 0 or -1 with errno set, so it can run after clone().
int send_fd(int sock, int fd, const char* name) noexcept;
// Receive one message of at most `len` bytes into `buf`; an fd passed with
// it (SCM_RIGHTS, made CLOEXEC) goes into *fd. Returns the payload length
// (0 at end of stream).
Result<size_t> recv_msg(int sock, char* buf, size_t len, UniqueFd* fd);
// Receive one fd; the payload is stored in *name when non-null.
Result<UniqueFd> recv_fd(int sock, std::string* name = nullptr);

}  // namespace berth::sys
