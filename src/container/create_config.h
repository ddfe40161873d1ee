// The body of POST /containers/create: validation of Config, HostConfig and
// NetworkingConfig, and the merge of the image's config defaults into the
// container Config (moby's merge() rules). Pure functions, no I/O.
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace berth::container {

struct CreateRequest {
  Json config;             // container Config, image defaults merged in (inspect shows this)
  Json host_config;        // HostConfig as given, with Docker's defaults filled in
  Json networking_config;  // NetworkingConfig as given ({} when absent)
  std::string path;        // Entrypoint + Cmd: first word
  std::vector<std::string> args;  // and the rest
};

// `body`: the request JSON object. `image_config`: the image's "config"
// section (Env, Cmd, Entrypoint, WorkingDir, User, Labels, ...), may be null.
// Wrongly typed fields and HostConfig settings berth does not implement
// (with a non-default value) give Errc::invalid naming the field and the
// docker CLI flag.
Result<CreateRequest> prepare_create(const Json& body, const Json& image_config);

// HostConfig.SecurityOpt, parsed with Docker's rules and messages.
struct SecurityOpts {
  bool no_new_privileges = false;
  std::string seccomp;        // "" = default profile, "unconfined", or a profile's JSON text
  bool unmask_paths = false;  // systempaths=unconfined
};
Result<SecurityOpts> parse_security_opts(const Json& opts);

// Docker's ReplaceOrAppendEnvValues: entries of `overrides` replace those
// of `base` with the same key (KEY=... or bare KEY), the rest are appended.
std::vector<std::string> replace_or_append_env(std::vector<std::string> base,
                                               const std::vector<std::string>& overrides);

// Capability names as the runtime spec wants them ("CAP_CHOWN"); the input
// may omit the CAP_ prefix and use any case. "ALL" is handled by callers.
Result<std::string> normalize_capability(std::string_view name);
// Docker's default set (14 capabilities).
const std::vector<std::string>& default_capabilities();
// Every capability the kernel defines (for --cap-add ALL).
const std::vector<std::string>& all_capabilities();
// Applies CapAdd/CapDrop (both may contain "ALL") to the default set.
Result<std::vector<std::string>> effective_capabilities(const Json& cap_add, const Json& cap_drop);

}  // namespace berth::container
