#pragma once
// Legacy container links (`--link name[:alias]`), as dockerd gives them on
// the default bridge: the link is stored as "/child:/parent/alias", and at
// start the parent gets an /etc/hosts line and the <ALIAS>_* environment.
// Pure functions; the service looks the containers up.
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace berth::container {

struct LinkRef {
  std::string child;  // name or id as the user wrote it (no leading '/')
  std::string alias;  // defaults to the child's name
};

// "name[:alias]" (a leading '/' is allowed on both parts). An empty part is
// Docker's "invalid link format" error.
Result<LinkRef> parse_link(std::string_view spec);

// The stored form dockerd shows in HostConfig.Links: "/db:/web/alias".
std::string canonical_link(std::string_view child_name, std::string_view parent_name,
                           std::string_view alias);

// Splits a stored "/child:/parent/alias" back into child name and alias.
Result<LinkRef> split_canonical_link(std::string_view stored);

// The variables the parent sees for one link: <ALIAS>_NAME, one group per
// exposed port (<ALIAS>_PORT_<n>_<PROTO>{,_ADDR,_PORT,_PROTO}, with _START/
// _END on the first port of a run of consecutive ports), <ALIAS>_PORT for the
// lowest port, and <ALIAS>_ENV_<VAR> for the child's Config.Env (but HOME and
// PATH). The alias is upper-cased with '-' made '_', as dockerd does.
std::vector<std::string> link_env(std::string_view parent_name, std::string_view alias,
                                  const std::string& child_ip, const Json& exposed_ports,
                                  const Json& child_env);

// The /etc/hosts line: "IP\talias hostname[ name]" (name only when it differs
// from the alias).
std::string link_hosts_line(const std::string& child_ip, std::string_view alias,
                            std::string_view child_hostname, std::string_view child_name);

}  // namespace berth::container
