// Image references as the docker CLI normalizes them
// (distribution/reference ParseNormalizedNamed, FamiliarString).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::cli {

struct ImageRef {
  std::string domain;  // "docker.io", "127.0.0.1:5000"
  std::string path;    // "library/busybox", "example/app"
  std::string tag;     // "" when absent
  std::string digest;  // "sha256:..." when given

  // "docker.io/library/busybox"
  std::string name() const { return domain + "/" + path; }
  // "busybox", "example/app", "127.0.0.1:5000/x"
  std::string familiar_name() const;
  // familiar name plus ":tag" / "@digest" as given
  std::string familiar_string() const;
};

// Parses and normalizes; a missing tag stays empty (see with_default_tag).
// Errc::invalid with docker's "invalid reference format" texts.
Result<ImageRef> parse_image_ref(std::string_view s);
// Adds ":latest" when neither tag nor digest is present.
ImageRef with_default_tag(ImageRef r);

}  // namespace berth::cli
