#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "common/fs.h"
#include "common/strings.h"
#include "common/unique_fd.h"

namespace berth::runtime {

namespace {

int64_t mono_ms() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

Status run_hook(const oci::Hook& h, const std::string& field, const std::string& state) {
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd in_r(in[0]), in_w(in[1]), err_r(err[0]), err_w(err[1]);
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = h.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    ::dup2(in_r.get(), 0);
    ::dup2(err_w.get(), 2);
    int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, 1);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  in_r.reset();
  err_w.reset();
  ::signal(SIGPIPE, SIG_IGN);
  (void)fs::write_all(in_w.get(), state);
  in_w.reset();
  std::string errtext;
  int64_t deadline = h.timeout ? mono_ms() + *h.timeout * 1000LL : -1;
  bool timed_out = false;
  for (;;) {
    int wait_ms = deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - mono_ms()));
    pollfd p{err_r.get(), POLLIN, 0};
    int r = ::poll(&p, 1, wait_ms);
    if (r == 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    char buf[4096];
    ssize_t n = ::read(err_r.get(), buf, sizeof buf);
    if (n <= 0) break;
    if (errtext.size() < 4096) errtext.append(buf, static_cast<size_t>(n));
  }
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  std::string msg = std::string(str::trim(errtext));
  if (timed_out) return make_error(Errc::internal, field + ": " + h.path + " timed out");
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) return ok();
  std::string how = WIFEXITED(ws) ? "exited with status " + std::to_string(WEXITSTATUS(ws))
                                  : "killed by signal " + std::to_string(WTERMSIG(ws));
  return make_error(Errc::internal, field + ": " + h.path + " " + how + (msg.empty() ? "" : ": " + msg));
}

}  // namespace

Status run_hooks(const std::vector<oci::Hook>& hooks, const std::string& field,
                 const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i)
    BERTH_TRY_VOID(run_hook(hooks[i], field + "[" + std::to_string(i) + "]", state_json));
  return ok();
}

}  // namespace berth::runtime
