// The local terminal for `run -it` / `exec -it`: raw mode for the lifetime
// of a RawTerminal, and the window size sent to the daemon on start and on
// SIGWINCH.
#pragma once

#include <sys/ioctl.h>
#include <termios.h>

namespace berth::cli {

// Puts a terminal in raw mode for the lifetime of the object (restored on
// every exit path).
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::tcgetattr(fd, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd, TCSANOW, &raw) == 0) active_ = true;
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

// Rows and columns of the terminal on fd; false when it is not one.
inline bool window_size(int fd, int* rows, int* cols) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0) return false;
  *rows = ws.ws_row;
  *cols = ws.ws_col;
  return true;
}

}  // namespace berth::cli
