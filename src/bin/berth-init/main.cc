// berth-init: the tiny init `--init` puts at PID 1 of a container
// (bind-mounted at /sbin/docker-init, as Docker does with tini).
//   docker-init -- PROGRAM [ARGS...]
// Runs PROGRAM as its child, forwards every catchable signal it receives to
// it, reaps every zombie reparented to it, and exits with the child's status
// (128 + signal when the child was killed). Exec failures exit 127 (not
// found) or 126, like a shell.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) ++first;
  if (first >= argc) {
    fprintf(stderr, "usage: %s [--] PROGRAM [ARGS...]\n", argv[0]);
    return 1;
  }
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  // When not PID 1 (e.g. --pid host) adopt orphans anyway.
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "docker-init: fork: %s\n", strerror(errno));
    return 1;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, nullptr);
    execvp(argv[first], argv + first);
    int e = errno;
    fprintf(stderr, "docker-init: exec %s failed: %s\n", argv[first], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
  }
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      // Job-control stops make no sense for PID 1's own process.
      if (sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU) kill(child, sig);
      continue;
    }
    for (;;) {
      int st = 0;
      pid_t p = waitpid(-1, &st, WNOHANG);
      if (p <= 0) break;
      if (p == child) {
        if (WIFEXITED(st)) return WEXITSTATUS(st);
        if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
        return 1;
      }
    }
  }
}
