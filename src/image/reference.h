// Docker image references (distribution/reference grammar, Docker's
// normalisation rules) and their "familiar" short form.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::image {

struct Reference {
  std::string domain;  // "docker.io", "localhost:5000", "127.0.0.1:5000"
  std::string path;    // "library/busybox", "x/y"
  std::string tag;     // "" when absent
  std::string digest;  // "sha256:<hex>" or ""

  // "busybox", "foo/bar", "localhost:5000/x" (docker.io and library/ elided)
  std::string familiar_name() const;
  // "docker.io/library/busybox"
  std::string full_name() const { return domain + "/" + path; }
  // familiar name + ":tag" and/or "@digest"; ":latest" when neither.
  std::string familiar_string() const;
};

// Parse and normalise as Docker's ParseNormalizedNamed. Errors are
// Errc::invalid with Docker's messages ("invalid reference format",
// "invalid reference format: repository name must be lowercase", ...).
Result<Reference> parse_reference(std::string_view ref);

// Validate a tag on its own ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}).
bool is_valid_tag(std::string_view tag);

// Normalise a reference to its familiar form: "busybox" -> "busybox:latest",
// "docker.io/library/busybox:1" -> "busybox:1", "docker.io/foo/bar" ->
// "foo/bar:latest", "localhost:5000/x" -> "localhost:5000/x:latest";
// digests "name@sha256:..." kept.
Result<std::string> normalize_reference(std::string_view ref);

}  // namespace berth::image
