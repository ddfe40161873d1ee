/* rt-seccomp-agent SOCKET OUTDIR [ERRNO]: a seccomp notify agent for tests.
   Listens on the unix socket SOCKET, accepts runtimes' connections (one per
   container process), and for each writes the received containerProcessState
   JSON to OUTDIR/state-N.json and serves the listener fd it came with: every
   notified syscall is answered with a fake success (return value 0, nothing
   done) -- or with -ERRNO when ERRNO is given -- and logged to OUTDIR/log as
   "<nr> <pid>". Writes OUTDIR/ready once listening. Exits after 60 s. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static char outdir[512];

static void put(const char* name, const char* text, size_t len, const char* mode) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", outdir, name);
  FILE* f = fopen(path, mode);
  if (!f) return;
  fwrite(text, 1, len, f);
  fclose(f);
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  snprintf(outdir, sizeof outdir, "%s", argv[2]);
  int answer_errno = argc > 3 ? atoi(argv[3]) : 0;
  alarm(60);
  int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", argv[1]);
  unlink(argv[1]);
  if (bind(ls, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(ls, 8) != 0) {
    perror("listen");
    return 1;
  }
  put("ready", "1\n", 2, "w");
  struct seccomp_notif_sizes sizes;
  if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0) {
    perror("SECCOMP_GET_NOTIF_SIZES");
    return 1;
  }
  struct pollfd fds[17];
  int nfds = 1, nstate = 0;
  fds[0].fd = ls;
  fds[0].events = POLLIN;
  struct seccomp_notif* req = calloc(1, sizes.seccomp_notif);
  struct seccomp_notif_resp* resp = calloc(1, sizes.seccomp_notif_resp);
  for (;;) {
    if (poll(fds, nfds, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[0].revents & POLLIN) {
      int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
      char buf[65536];
      char cbuf[CMSG_SPACE(sizeof(int))];
      struct iovec iov = {buf, sizeof buf - 1};
      struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
      ssize_t n = recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
      struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
      if (n > 0 && cm && cm->cmsg_type == SCM_RIGHTS && nfds < 17) {
        int lfd;
        memcpy(&lfd, CMSG_DATA(cm), sizeof lfd);
        char name[32];
        snprintf(name, sizeof name, "state-%d.json", nstate++);
        put(name, buf, (size_t)n, "w");
        fds[nfds].fd = lfd;
        fds[nfds].events = POLLIN;
        ++nfds;
      }
      close(c);
    }
    for (int i = 1; i < nfds; ++i) {
      if (fds[i].fd < 0) continue;
      if (fds[i].revents & POLLIN) {
        memset(req, 0, sizes.seccomp_notif);
        if (ioctl(fds[i].fd, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) continue;
        memset(resp, 0, sizes.seccomp_notif_resp);
        resp->id = req->id;
        resp->error = answer_errno ? -answer_errno : 0;
        resp->val = 0;
        char line[64];
        int len = snprintf(line, sizeof line, "%d %u\n", req->data.nr, req->pid);
        put("log", line, (size_t)len, "a");
        ioctl(fds[i].fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
      } else if (fds[i].revents & (POLLHUP | POLLERR)) {
        close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
  }
}
