#include "container/signals.h"

#include <csignal>
#include <string>

#include "common/strings.h"

namespace berth::container {

namespace {
struct Sig {
  const char* name;
  int num;
};
constexpr Sig kSignals[] = {
    {"ABRT", SIGABRT},     {"ALRM", SIGALRM},   {"BUS", SIGBUS},       {"CHLD", SIGCHLD},
    {"CLD", SIGCHLD},      {"CONT", SIGCONT},   {"FPE", SIGFPE},       {"HUP", SIGHUP},
    {"ILL", SIGILL},       {"INT", SIGINT},     {"IO", SIGIO},         {"IOT", SIGIOT},
    {"KILL", SIGKILL},     {"PIPE", SIGPIPE},   {"POLL", SIGPOLL},     {"PROF", SIGPROF},
    {"PWR", SIGPWR},       {"QUIT", SIGQUIT},   {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
    {"STOP", SIGSTOP},     {"SYS", SIGSYS},     {"TERM", SIGTERM},     {"TRAP", SIGTRAP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"USR1", SIGUSR1},     {"USR2", SIGUSR2},   {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ},
};
}  // namespace

Result<int> parse_signal(std::string_view s) {
  auto bad = [&] { return make_error(Errc::invalid, "Invalid signal: " + std::string(s)); };
  if (s.empty()) return bad();
  if (auto n = str::parse_int(s)) {
    if (*n <= 0 || *n > 64) return bad();
    return static_cast<int>(*n);
  }
  std::string up;
  for (char c : s) up += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  std::string_view u = up;
  if (str::starts_with(u, "SIG")) u.remove_prefix(3);
  for (const auto& sig : kSignals)
    if (u == sig.name) return sig.num;
  if (str::starts_with(u, "RTMIN")) {
    std::string_view rest = u.substr(5);
    if (rest.empty()) return SIGRTMIN;
    if (rest[0] == '+')
      if (auto n = str::parse_int(rest.substr(1)); n && SIGRTMIN + *n <= SIGRTMAX)
        return static_cast<int>(SIGRTMIN + *n);
  }
  if (str::starts_with(u, "RTMAX")) {
    std::string_view rest = u.substr(5);
    if (rest.empty()) return SIGRTMAX;
    if (rest[0] == '-')
      if (auto n = str::parse_int(rest.substr(1)); n && SIGRTMAX - *n >= SIGRTMIN)
        return static_cast<int>(SIGRTMAX - *n);
  }
  return bad();
}

}  // namespace berth::container
