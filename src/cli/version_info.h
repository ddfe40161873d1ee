// berth's version and the git commit it was built from (`berth version`,
// `berth -v`, the User-Agent). Defined in the generated version_info.cc
// (src/cli/CMakeLists.txt), the only file a reconfigure recompiles.
#pragma once

namespace berth::cli {

extern const char kBerthVersion[];
extern const char kBerthGitCommit[];

}  // namespace berth::cli
