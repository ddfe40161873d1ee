#include "image/reference.h"

#include <cctype>

#include "common/id.h"

namespace berth::image {

namespace {

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDomain = "index.docker.io";
constexpr size_t kNameMax = 255;

Error bad_format() { return make_error(Errc::invalid, "invalid reference format"); }

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*
bool is_path_component(std::string_view s) {
  if (s.empty() || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  size_t i = 0;
  while (i < s.size()) {
    if (is_lower_alnum(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && !is_lower_alnum(s[j])) ++j;
    std::string_view sep = s.substr(i, j - i);
    bool okay = sep == "." || sep == "_" || sep == "__" || sep.find_first_not_of('-') == std::string_view::npos;
    if (!okay) return false;
    i = j;
  }
  return true;
}

// (?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])
bool is_domain_component(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '-') return false;
  return true;
}

// domain-component(\.domain-component)*(:[0-9]+)?
bool is_domain(std::string_view s) {
  auto colon = s.find(':');
  std::string_view host = s.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = s.substr(colon + 1);
    if (port.empty()) return false;
    for (char c : port)
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  size_t i = 0;
  while (i <= host.size()) {
    size_t j = host.find('.', i);
    if (j == std::string_view::npos) j = host.size();
    if (!is_domain_component(host.substr(i, j - i))) return false;
    i = j + 1;
  }
  return true;
}

bool is_valid_digest(std::string_view d) {
  auto colon = d.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view alg = d.substr(0, colon), hex = d.substr(colon + 1);
  // algorithm: [A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*
  if (!std::isalpha(static_cast<unsigned char>(alg.front()))) return false;
  for (size_t i = 0; i < alg.size(); ++i) {
    char c = alg[i];
    if (is_alnum(c)) continue;
    if ((c == '-' || c == '_' || c == '+' || c == '.') && i + 1 < alg.size() &&
        std::isalpha(static_cast<unsigned char>(alg[i + 1])))
      continue;
    return false;
  }
  if (hex.size() < 32) return false;
  for (char c : hex)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  if (alg == "sha256") return is_hex64(hex);
  return true;
}

}  // namespace

bool is_valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) { return is_alnum(c) || c == '_'; };
  if (!word(tag.front())) return false;
  for (char c : tag)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

std::string Reference::familiar_name() const {
  if (domain == kDefaultDomain) {
    if (path.rfind("library/", 0) == 0 && path.find('/', 8) == std::string::npos) return path.substr(8);
    return path;
  }
  return domain + "/" + path;
}

std::string Reference::familiar_string() const {
  std::string out = familiar_name();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  if (tag.empty() && digest.empty()) out += ":latest";
  return out;
}

Result<Reference> parse_reference(std::string_view s) {
  if (s.empty()) return bad_format();
  if (is_hex64(s))
    return make_error(Errc::invalid, "invalid repository name (" + std::string(s) +
                                         "), cannot specify 64-byte hexadecimal strings");
  Reference ref;
  // Domain split (Docker's splitDockerDomain): the first component is a
  // registry when it has "." or ":", is "localhost", or has upper case.
  std::string_view remainder = s;
  auto slash = s.find('/');
  if (slash == std::string_view::npos) {
    ref.domain = kDefaultDomain;
  } else {
    std::string_view first = s.substr(0, slash);
    bool lower = true;
    for (char c : first)
      if (std::isupper(static_cast<unsigned char>(c))) lower = false;
    if (first.find_first_of(".:") == std::string_view::npos && first != "localhost" && lower) {
      ref.domain = kDefaultDomain;
    } else {
      ref.domain = first;
      remainder = s.substr(slash + 1);
    }
  }
  if (ref.domain == kLegacyDomain) ref.domain = kDefaultDomain;

  // Digest, then tag (a ':' after the last '/').
  std::string_view name = remainder;
  auto at = name.find('@');
  if (at != std::string_view::npos) {
    ref.digest = name.substr(at + 1);
    name = name.substr(0, at);
  }
  auto colon = name.rfind(':');
  if (colon != std::string_view::npos) {
    ref.tag = name.substr(colon + 1);
    name = name.substr(0, colon);
  }
  for (char c : name)
    if (std::isupper(static_cast<unsigned char>(c)))
      return make_error(Errc::invalid, "invalid reference format: repository name must be lowercase");

  if (!is_domain(ref.domain)) return bad_format();
  if (at != std::string_view::npos && !is_valid_digest(ref.digest)) return bad_format();
  if (colon != std::string_view::npos && !is_valid_tag(ref.tag)) return bad_format();
  if (name.empty()) return bad_format();
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    if (!is_path_component(name.substr(i, j - i))) return bad_format();
    i = j + 1;
  }
  ref.path = name;
  if (ref.domain == kDefaultDomain && ref.path.find('/') == std::string::npos)
    ref.path = "library/" + ref.path;
  if (ref.full_name().size() > kNameMax)
    return make_error(Errc::invalid, "invalid reference format: repository name must not be more than 255 characters");
  return ref;
}

Result<std::string> normalize_reference(std::string_view s) {
  auto ref = BERTH_TRY(parse_reference(s));
  return ref.familiar_string();
}

}  // namespace berth::image
