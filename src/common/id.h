// Identifiers and digests.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace berth {

// 64 lowercase hex chars from the kernel's random source (container/exec IDs).
std::string random_hex_id(size_t nbytes = 32);
bool is_hex64(std::string_view s);

// Streaming SHA-256 (OpenSSL EVP); hex() gives lowercase hex of the digest.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t len);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::string hex();  // finalises

 private:
  void* ctx_;
};
std::string sha256_hex(std::string_view data);

// "sha256:<64 hex>", built only through parse() or from_hex().
class Digest {
 public:
  static Result<Digest> parse(std::string_view s);
  static Digest of(std::string_view data) { return Digest("sha256:" + sha256_hex(data)); }
  static Result<Digest> from_hex(std::string_view hex);
  const std::string& str() const { return s_; }
  std::string_view hex() const { return std::string_view(s_).substr(7); }
  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  explicit Digest(std::string s) : s_(std::move(s)) {}
  std::string s_;
};

}  // namespace berth
