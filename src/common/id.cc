#include "common/id.h"

#include <openssl/evp.h>
#include <sys/random.h>

#include <cstdint>
#include <vector>

namespace berth {

static const char kHex[] = "0123456789abcdef";

std::string random_hex_id(size_t nbytes) {
  std::vector<unsigned char> buf(nbytes);
  size_t got = 0;
  while (got < nbytes) {
    ssize_t n = ::getrandom(buf.data() + got, nbytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  std::string out;
  out.reserve(nbytes * 2);
  for (unsigned char c : buf) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}
Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256::update(const void* data, size_t len) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, len);
}
std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &n);
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex();
}

Result<Digest> Digest::parse(std::string_view s) {
  if (s.substr(0, 7) != "sha256:" || !is_hex64(s.substr(7)))
    return make_error(Errc::invalid, "invalid digest \"" + std::string(s) + "\"");
  return Digest(std::string(s));
}

Result<Digest> Digest::from_hex(std::string_view hex) {
  if (!is_hex64(hex)) return make_error(Errc::invalid, "invalid digest hex \"" + std::string(hex) + "\"");
  return Digest("sha256:" + std::string(hex));
}

}  // namespace berth
