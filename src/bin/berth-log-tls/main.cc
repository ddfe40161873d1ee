// berth-log-tls HOST:PORT [--ca FILE] [--cert FILE] [--key FILE] [--skip-verify]
//
// The syslog driver's tcp+tls transport. berth-shim passes a connected unix
// stream socket as fd 0: this helper dials HOST:PORT, completes the TLS
// handshake, answers "ok\n" (or "error: <message>\n" and exits 1) on fd 0,
// then relays every byte read from fd 0 into the TLS connection until EOF.
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/fs.h"
#include "common/net.h"
#include "common/unique_fd.h"
#include "tls_conn.h"

using namespace berth;

namespace {

int fail(const std::string& msg) {
  (void)fs::write_all(0, "error: " + msg + "\n");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) return fail("usage: berth-log-tls HOST:PORT [--ca F] [--cert F] [--key F] [--skip-verify]");
  std::string addr = argv[1];
  logging::TlsOptions o;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    if (a == "--ca") o.ca_file = val();
    else if (a == "--cert") o.cert_file = val();
    else if (a == "--key") o.key_file = val();
    else if (a == "--skip-verify") o.skip_verify = true;
    else return fail("unknown argument " + a);
  }
  auto fd = net::dial(addr, SOCK_STREAM);
  if (!fd) return fail(fd.error().msg);
  std::string host = addr.substr(0, addr.rfind(':'));
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  auto conn = logging::TlsConn::handshake(std::move(*fd), host, o);
  if (!conn) return fail(conn.error().msg);
  if (!fs::write_all(0, "ok\n")) return 1;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!(*conn)->write_all(std::string_view(buf, static_cast<size_t>(n)))) return 1;
  }
  return 0;
}
