#include "common/signals.h"

#include <csignal>
#include <optional>
#include <string>

#include "common/strings.h"

namespace berth {

namespace {
struct Named {
  const char* name;
  int sig;
};
constexpr Named kSignals[] = {
    {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},     {"CHLD", SIGCHLD},
    {"CLD", SIGCHLD},  {"CONT", SIGCONT}, {"FPE", SIGFPE},     {"HUP", SIGHUP},
    {"ILL", SIGILL},   {"INT", SIGINT},   {"IO", SIGIO},       {"IOT", SIGIOT},
    {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},   {"PROF", SIGPROF},
    {"PWR", SIGPWR},   {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},   {"STKFLT", SIGSTKFLT},
    {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},   {"TRAP", SIGTRAP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},   {"URG", SIGURG},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},
    {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};
}  // namespace

Result<int> parse_signal(std::string_view in) {
  std::string s(in);
  for (auto& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  auto bad = [&] { return make_error(Errc::invalid, "unknown signal \"" + std::string(in) + "\""); };
  if (s.empty()) return bad();
  if (auto n = str::parse_int(s)) {
    if (*n <= 0 || *n > SIGRTMAX) return bad();
    return static_cast<int>(*n);
  }
  if (str::starts_with(s, "SIG")) s.erase(0, 3);
  for (const auto& e : kSignals)
    if (s == e.name) return e.sig;
  auto rt = [&](std::string_view prefix, int base, int dir) -> std::optional<int> {
    if (!str::starts_with(s, prefix)) return std::nullopt;
    std::string_view rest = std::string_view(s).substr(prefix.size());
    if (rest.empty()) return base;
    if (rest[0] != (dir > 0 ? '+' : '-')) return std::nullopt;
    auto k = str::parse_int(rest.substr(1));
    if (!k || *k < 0) return std::nullopt;
    int sig = base + dir * static_cast<int>(*k);
    if (sig < SIGRTMIN || sig > SIGRTMAX) return std::nullopt;
    return sig;
  };
  if (auto v = rt("RTMIN", SIGRTMIN, 1)) return *v;
  if (auto v = rt("RTMAX", SIGRTMAX, -1)) return *v;
  return bad();
}

}  // namespace berth
