#include "tls_conn.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace berth::logging {

namespace {

std::string ssl_error(std::string what) {
  unsigned long e = ERR_get_error();
  char buf[256] = {};
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return what + (e ? std::string(": ") + buf : std::string());
}

bool is_ip(const std::string& h) {
  unsigned char b[16];
  return ::inet_pton(AF_INET, h.c_str(), b) == 1 || ::inet_pton(AF_INET6, h.c_str(), b) == 1;
}

}  // namespace

TlsConn::~TlsConn() {
  if (ssl_) {
    SSL_shutdown(static_cast<SSL*>(ssl_));
    // Closing with unread input (the server's session tickets) makes the
    // kernel reset the connection, and a reset discards what the server
    // has not read yet: half-close, then drain until its EOF (bounded).
    if (fd_) {
      ::shutdown(fd_.get(), SHUT_WR);
      char buf[4096];
      for (int i = 0; i < 20; ++i) {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        if (::read(fd_.get(), buf, sizeof buf) <= 0) break;
      }
    }
    SSL_free(static_cast<SSL*>(ssl_));
  }
  if (ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

Result<std::unique_ptr<TlsConn>> TlsConn::handshake(UniqueFd fd, const std::string& host, const TlsOptions& o) {
  auto c = std::unique_ptr<TlsConn>(new TlsConn());
  c->fd_ = std::move(fd);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return make_error(Errc::internal, ssl_error("SSL_CTX_new"));
  c->ctx_ = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);  // Docker's tlsconfig minimum
  if (!o.skip_verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    int okv = o.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                : SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr);
    if (okv != 1)
      return make_error(Errc::invalid, ssl_error("failed to read CA certificate " + o.ca_file));
  }
  if (!o.cert_file.empty() || !o.key_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1)
      return make_error(Errc::invalid, ssl_error("could not load X509 key pair " + o.cert_file));
    if (SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
      return make_error(Errc::invalid, ssl_error("could not load X509 key pair " + o.key_file));
  }
  SSL* ssl = SSL_new(ctx);
  if (!ssl) return make_error(Errc::internal, ssl_error("SSL_new"));
  c->ssl_ = ssl;
  if (!is_ip(host)) SSL_set_tlsext_host_name(ssl, host.c_str());
  if (!o.skip_verify) {
    X509_VERIFY_PARAM* p = SSL_get0_param(ssl);
    if (is_ip(host))
      X509_VERIFY_PARAM_set1_ip_asc(p, host.c_str());
    else
      X509_VERIFY_PARAM_set1_host(p, host.c_str(), 0);
  }
  SSL_set_fd(ssl, c->fd_.get());
  if (SSL_connect(ssl) != 1) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK)
      return make_error(Errc::unavailable,
                        std::string("tls: failed to verify certificate: ") + X509_verify_cert_error_string(v));
    return make_error(Errc::unavailable, ssl_error("tls handshake"));
  }
  return c;
}

Status TlsConn::write_all(std::string_view d) {
  auto* ssl = static_cast<SSL*>(ssl_);
  while (!d.empty()) {
    int n = SSL_write(ssl, d.data(), static_cast<int>(d.size()));
    if (n <= 0) return make_error(Errc::unavailable, ssl_error("tls write"));
    d.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

}  // namespace berth::logging
