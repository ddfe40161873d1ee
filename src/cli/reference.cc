#include "cli/reference.h"

namespace berth::cli {

namespace {

bool valid_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/';
}

}  // namespace

std::string ImageRef::familiar_name() const {
  if (domain == "docker.io") {
    if (path.rfind("library/", 0) == 0 && path.find('/', 8) == std::string::npos) return path.substr(8);
    return path;
  }
  return domain + "/" + path;
}

std::string ImageRef::familiar_string() const {
  std::string s = familiar_name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

Result<ImageRef> parse_image_ref(std::string_view s) {
  ImageRef r;
  if (s.empty()) return make_error(Errc::invalid, "invalid reference format");
  std::string_view rest = s;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    r.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (r.digest.find(':') == std::string::npos) return make_error(Errc::invalid, "invalid reference format");
  }
  size_t slash = rest.find('/');
  std::string_view first = rest.substr(0, slash);
  bool has_domain = slash != std::string_view::npos &&
                    (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
                     first == "localhost");
  std::string_view remainder = rest;
  if (has_domain) {
    r.domain = std::string(first);
    remainder = rest.substr(slash + 1);
  } else {
    r.domain = "docker.io";
  }
  size_t colon = remainder.rfind(':');
  if (colon != std::string_view::npos) {
    r.tag = std::string(remainder.substr(colon + 1));
    remainder = remainder.substr(0, colon);
    if (r.tag.empty() || r.tag.size() > 128) return make_error(Errc::invalid, "invalid reference format");
    for (char c : r.tag)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
            c == '-'))
        return make_error(Errc::invalid, "invalid reference format");
  }
  if (remainder.empty()) return make_error(Errc::invalid, "invalid reference format");
  for (char c : remainder) {
    if (c >= 'A' && c <= 'Z') {
      std::string path(remainder);
      if (r.domain == "docker.io" && path.find('/') == std::string::npos) path = "library/" + path;
      return make_error(Errc::invalid, "invalid reference format: repository name (" + path + ") must be lowercase");
    }
    if (!valid_path_char(c)) return make_error(Errc::invalid, "invalid reference format");
  }
  r.path = std::string(remainder);
  if (r.domain == "docker.io" && r.path.find('/') == std::string::npos) r.path = "library/" + r.path;
  return r;
}

ImageRef with_default_tag(ImageRef r) {
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

}  // namespace berth::cli
