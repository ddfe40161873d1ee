// Docker's detach keys: the key spec ("ctrl-p,ctrl-q", "a,ctrl-@") and a
// matcher over a stdin byte stream. berthd watches a TTY attach's stdin
// (POST /containers/{id}/attach?detachKeys=, exec's DetachKeys) and the
// berth CLI its terminal; both use these.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::api {

// The default sequence when none is given: ctrl-p ctrl-q.
inline constexpr std::string_view kDefaultDetachKeys = "\x10\x11";

// moby/term ToBytes: comma-separated keys, each one character or
// ctrl-<a..z | @ [ \ ] ^ _> (case-insensitive). Errors carry Docker's text
// ("Unknown character: 'ctrl-1'"); callers wrap it in their own message.
Result<std::string> parse_detach_keys(std::string_view spec);

// Finds `keys` in a stream fed in arbitrary pieces. Bytes that cannot be
// the start of the sequence are passed through at once; a partial match is
// held back until the next byte decides (a sequence split across reads is
// still found) and is forwarded unchanged when it does not complete. On a
// match, the bytes after the sequence are dropped (the attach ends).
class EscapeMatcher {
 public:
  explicit EscapeMatcher(std::string keys) : keys_(std::move(keys)) {}

  // Appends to `out` what must be forwarded from `in`; true when the
  // sequence completed inside `in`.
  bool feed(std::string_view in, std::string& out);
  // The bytes held back as a partial match.
  std::string_view pending() const { return std::string_view(keys_).substr(0, matched_); }
  // End of input: a held-back partial match is forwarded.
  void flush(std::string& out);

 private:
  std::string keys_;
  size_t matched_ = 0;
};

}  // namespace berth::api
