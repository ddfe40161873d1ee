// The attached-container session shared by `run`, `start -a` and `attach`:
// signal proxying through a signalfd, the hijacked stream's stdcopy demux
// (raw with a TTY), stdin with docker's detach sequence, the terminal's
// size, and the wait stream's exit status.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cli/context.h"
#include "common/unique_fd.h"

namespace berth::cli {

// Blocks the given signals and reads them from a signalfd; restores the
// mask on destruction.
class SignalWatch {
 public:
  explicit SignalWatch(const std::vector<int>& sigs);
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;
  ~SignalWatch();
  int fd() const { return fd_.get(); }
  // Next pending signal, 0 when none.
  int next();

 private:
  sigset_t set_{}, old_{};
  bool blocked_ = false;
  UniqueFd fd_;
};

// The signals the docker CLI forwards to the container (sig-proxy), plus
// SIGWINCH when the output is a terminal (resize instead of forwarding).
std::vector<int> proxied_signals(bool sig_proxy, bool out_tty);

// docker's term.ToBytes: "ctrl-p,ctrl-q" → {0x10, 0x11}; a single
// character stands for itself. Errc::invalid "Unknown character: 'x'".
Result<std::string> parse_detach_keys(std::string_view keys);
inline constexpr std::string_view kDefaultDetachKeys{"\x10\x11", 2};

// POST /containers/{id}/resize with the terminal size of fd (no-op when fd
// is not a terminal).
void resize_container(client::Client& c, const std::string& id, int fd);

// Reads the wait stream's single JSON body: {"StatusCode":N,"Error":...}.
Result<int> wait_status(client::Stream& s);

struct AttachIo {
  std::string id;           // container ID or name (as in the URL path)
  bool tty = false;         // raw stream, no stdcopy frames
  bool send_stdin = false;  // copy ctx.in_fd to the container
  // With a TTY and stdin the CLI watches for this sequence (docker's
  // EscapeProxy): bytes of a partial match are held back and sent only if
  // the sequence breaks. Empty: no detaching.
  std::string detach_keys{kDefaultDetachKeys};
};

// Pumps an attached session until the output ends (or the user detaches):
// container output to ctx's stdout/stderr, local stdin to the container
// (half-closed at EOF), signals from `signals` forwarded with POST kill
// (SIGWINCH resizes). Returns true when the user detached.
Result<bool> pump_attached(Context& ctx, client::Client& c, client::Hijacked& hj, SignalWatch& signals,
                           const AttachIo& io);

}  // namespace berth::cli
