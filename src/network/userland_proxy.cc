#include "network/userland_proxy.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "common/strings.h"
#include "sys/proc.h"

extern char** environ;

namespace berth::network {

Result<ProxyProcess> start_proxy(const std::string& binary, const ProxySpec& s, const UniqueFd& listen) {
  if (binary.empty())
    return make_error(Errc::internal, "berth-proxy not found (it publishes ports on IPv6 host addresses; install it next to berthd)");
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  // A copy above the low fds, so dup2 to 3 never meets itself.
  UniqueFd sock(::fcntl(listen.get(), F_DUPFD_CLOEXEC, 10));
  if (!sock) return sys_error("dup");
  std::vector<std::string> args{binary,          "-proto",        s.proto,
                                "-host-ip",      s.host_ip,       "-host-port",
                                std::to_string(s.host_port),      "-container-ip",
                                s.container_ip,  "-container-port", std::to_string(s.container_port),
                                "-listen-fd",    "3"};
  if (!s.container_id.empty()) {
    args.push_back("-container-id");
    args.push_back(s.container_id);
  }
  args.push_back("-detach");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  posix_spawn_file_actions_adddup2(&fa, sock.get(), 3);
  posix_spawn_file_actions_addclosefrom_np(&fa, 4);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t first = 0;
  int rc = ::posix_spawn(&first, binary.c_str(), &fa, &at, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) return sys_error("spawn " + binary, rc);
  wr.reset();
  int st = 0;
  while (::waitpid(first, &st, 0) < 0)
    if (errno != EINTR) return sys_error("waitpid berth-proxy");
  // The first process wrote the proxy's pid (or an error) and exited.
  std::string out;
  ::fcntl(rd.get(), F_SETFL, O_NONBLOCK);
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n > 0 && out.size() < 8192) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  out = std::string(str::trim(out));
  if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
    return make_error(Errc::internal, out.empty() ? "berth-proxy failed to start" : out);
  auto pid = str::parse_int(out);
  if (!pid || *pid <= 0) return make_error(Errc::internal, "berth-proxy: unexpected output: " + out);
  auto ps = sys::read_proc_stat(static_cast<pid_t>(*pid));
  if (!ps) return make_error(Errc::internal, "berth-proxy exited at once");
  return ProxyProcess{static_cast<pid_t>(*pid), ps->start_time};
}

bool proxy_alive(const ProxyProcess& p) { return sys::process_matches(p.pid, p.start_time); }

void stop_proxy(const ProxyProcess& p) {
  if (p.pid <= 0) return;
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0)));
  if (!pidfd || !sys::process_matches(p.pid, p.start_time)) return;  // gone, or the pid is another process now
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGTERM, nullptr, 0) != 0) return;
  pollfd pf{pidfd.get(), POLLIN, 0};
  for (int i = 0; i < 20; ++i) {  // the proxy is not our child: its exit shows on the pidfd
    int r = ::poll(&pf, 1, 50);
    if (r > 0 || (r < 0 && errno != EINTR)) return;
  }
  (void)::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
}

}  // namespace berth::network
