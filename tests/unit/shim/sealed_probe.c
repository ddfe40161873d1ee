/* A stand-in OCI runtime for tests/unit/shim: prints "sealed" when it runs
 * from a sealed memfd copy (F_SEAL_SEAL|SHRINK|GROW|WRITE on /proc/self/exe),
 * else "plain", then " memfds=N" with N the count of open memfd fds (the
 * copy the shim executes must not be inherited); with SEALED_PROBE_COMM set,
 * then " comm=NAME". */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;
  int want = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (fd >= 0) close(fd);
  int extra = 0;
  DIR* d = opendir("/proc/self/fd");
  if (d) {
    struct dirent* e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char link[300], target[256];
      snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
      ssize_t n = readlink(link, target, sizeof target - 1);
      if (n > 0) {
        target[n] = 0;
        if (strncmp(target, "/memfd:", 7) == 0) ++extra;
      }
    }
    closedir(d);
  }
  printf("%s memfds=%d", seals >= 0 && (seals & want) == want ? "sealed" : "plain", extra);
  if (getenv("SEALED_PROBE_COMM")) {
    /* Its name as ps shows it: the exec's basename (execveat of the copy:
     * the memfd's name). */
    char comm[32] = "";
    FILE* f = fopen("/proc/self/comm", "r");
    if (f) {
      if (!fgets(comm, sizeof comm, f)) comm[0] = 0;
      fclose(f);
    }
    comm[strcspn(comm, "\n")] = 0;
    printf(" comm=%s", comm);
  }
  printf("\n");
  return 0;
}
