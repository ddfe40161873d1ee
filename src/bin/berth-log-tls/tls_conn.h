// A TLS client connection over a connected TCP socket (OpenSSL), for the
// syslog driver's tcp+tls transport. Verification as Go's crypto/tls client
// with Docker's tlsconfig: the CA file (or the system roots) and the host of
// the address (DNS name or IP SAN); skip_verify turns both off.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace berth::logging {

struct TlsOptions {
  std::string ca_file;    // syslog-tls-ca-cert
  std::string cert_file;  // syslog-tls-cert
  std::string key_file;   // syslog-tls-key
  bool skip_verify = false;
};

class TlsConn {
 public:
  // Handshakes over `fd` (connected); `host` is what the certificate must name.
  static Result<std::unique_ptr<TlsConn>> handshake(UniqueFd fd, const std::string& host, const TlsOptions& o);
  ~TlsConn();
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;
  Status write_all(std::string_view data);

 private:
  TlsConn() = default;
  UniqueFd fd_;
  void* ctx_ = nullptr;  // SSL_CTX*
  void* ssl_ = nullptr;  // SSL*
};

}  // namespace berth::logging
