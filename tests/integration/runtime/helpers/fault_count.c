// rt-fault-count CMD [ARG...]: run CMD and print, on stdout, the page faults
// it trapped: the perf software event "page-faults" of that process alone,
// across its re-execs, without its children (getrusage's ru_minflt also
// counts pages the kernel maps without a trap, and a waited-for child's).
// CMD's own stdout goes to /dev/null. Exit status: CMD's, or 125 when the
// counter cannot be opened.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: rt-fault-count CMD [ARG...]\n");
    return 2;
  }
  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) return 125;
  pid_t c = fork();
  if (c < 0) return 125;
  if (c == 0) {
    char b;
    close(go[1]);
    if (read(go[0], &b, 1) != 1) _exit(125);  // the parent could not count
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 1);
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  close(go[0]);
  struct perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.type = PERF_TYPE_SOFTWARE;
  a.config = PERF_COUNT_SW_PAGE_FAULTS;
  a.disabled = 1;
  a.enable_on_exec = 1;  // from CMD's exec on, not this helper's fork
  a.exclude_hv = 1;
  int fd = (int)syscall(SYS_perf_event_open, &a, c, -1, -1, 0);
  if (fd < 0) {
    perror("rt-fault-count: perf_event_open");
    close(go[1]);
    waitpid(c, NULL, 0);
    return 125;
  }
  if (write(go[1], "g", 1) != 1) return 125;
  close(go[1]);
  int ws;
  if (waitpid(c, &ws, 0) != c) return 125;
  uint64_t n = 0;
  if (read(fd, &n, sizeof n) != (ssize_t)sizeof n) return 125;
  printf("%llu\n", (unsigned long long)n);
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}
