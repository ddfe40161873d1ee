#include "container/runtime_cmd.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "common/json.h"
#include "common/strings.h"
#include "common/unique_fd.h"

extern char** environ;

namespace berth::container {

namespace {
int64_t mono_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}
}  // namespace

std::string runtime_error_message(const std::string& text) {
  std::string last;
  for (const auto& l : str::split(text, '\n')) {
    auto t = std::string(str::trim(l));
    if (!t.empty()) last = t;
  }
  if (last.empty()) return last;
  if (last[0] == '{') {
    if (auto j = parse_json(last); j && j->is_object() && j->contains("msg"))
      return j->value("msg", last);
  }
  // logrus text format: time="..." level=error msg="..."
  if (auto p = last.find("msg=\""); p != std::string::npos) {
    std::string m = last.substr(p + 5);
    if (!m.empty() && m.back() == '"') m.pop_back();
    std::string out;
    for (size_t i = 0; i < m.size(); ++i) {
      if (m[i] == '\\' && i + 1 < m.size()) ++i;
      out += m[i];
    }
    return out;
  }
  return last;
}

Result<RuntimeRun> run_runtime(const std::string& runtime, const std::string& root,
                               const std::vector<std::string>& args, const std::string& input,
                               int timeout_ms) {
  std::vector<std::string> argv = {runtime, "--root", root};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, input, timeout_ms);
}

Result<RuntimeRun> run_command(const std::vector<std::string>& argv_in, const std::string& input,
                               int timeout_ms) {
  const std::string& runtime = argv_in.at(0);
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return sys_error("pipe2");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return sys_error("pipe2");
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return sys_error("pipe2");
  UniqueFd err_r(err[0]), err_w(err[1]);
  std::vector<std::string> argv_s = argv_in;
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, runtime.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return make_error(Errc::internal, "exec " + runtime + ": " + std::strerror(rc));
  in_r.reset();
  out_w.reset();
  err_w.reset();
  if (!input.empty()) {
    (void)::signal(SIGPIPE, SIG_IGN);
    size_t off = 0;
    while (off < input.size()) {
      ssize_t n = ::write(in_w.get(), input.data() + off, input.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
  }
  in_w.reset();
  RuntimeRun r;
  int64_t deadline = mono_ms() + timeout_ms;
  bool killed = false;
  char buf[8192];
  while (out_r || err_r) {
    pollfd p[2];
    int n = 0;
    if (out_r) p[n++] = {out_r.get(), POLLIN, 0};
    if (err_r) p[n++] = {err_r.get(), POLLIN, 0};
    int left = static_cast<int>(deadline - mono_ms());
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    int k = ::poll(p, n, left);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) continue;
    for (int i = 0; i < n; ++i) {
      if (!p[i].revents) continue;
      UniqueFd& fd = p[i].fd == out_r.get() ? out_r : err_r;
      ssize_t got = ::read(fd.get(), buf, sizeof buf);
      if (got <= 0) {
        fd.reset();
        continue;
      }
      (&fd == &out_r ? r.out : r.err).append(buf, static_cast<size_t>(got));
    }
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.status = killed ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

Result<std::string> run_runtime_checked(const std::string& runtime, const std::string& root,
                                        const std::vector<std::string>& args,
                                        const std::string& input) {
  auto r = BERTH_TRY(run_runtime(runtime, root, args, input));
  if (r.status == 0) return r.out;
  std::string msg = runtime_error_message(r.err);
  if (msg.empty()) msg = runtime_error_message(r.out);
  if (msg.empty()) msg = "runtime " + args.front() + " failed with status " + std::to_string(r.status);
  return make_error(Errc::internal, msg);
}

}  // namespace berth::container
