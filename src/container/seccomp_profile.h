// Seccomp for containers: Docker's default profile (kept here as data, in
// Docker's profile format) and the conversion of a Docker-format profile
// (the default one or `--security-opt seccomp=PROFILE.json`, whose content
// the docker CLI sends) into the OCI runtime spec's linux.seccomp for one
// container's capabilities and the host architecture. Pure functions.
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace berth::container {

// Docker's default profile (profiles/seccomp/default.json semantics).
const Json& default_seccomp_profile();

struct SeccompTarget {
  std::vector<std::string> capabilities;  // the container's bounding set ("CAP_…")
  std::string go_arch = "amd64";          // host arch, as Docker's profile names it
  std::string scmp_arch = "SCMP_ARCH_X86_64";
  int kernel_major = 0, kernel_minor = 0;  // 0.0: every minKernel is satisfied
};
// The host's values (uname).
SeccompTarget host_seccomp_target(std::vector<std::string> caps);

// Docker profile → OCI linux.seccomp. Errc::invalid with Docker's wording
// for malformed profiles.
Result<Json> seccomp_to_oci(const Json& profile, const SeccompTarget& t);

}  // namespace berth::container
