#include "container/links.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "common/strings.h"

namespace berth::container {

namespace {

std::string_view strip_slash(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  return s;
}

std::string upper(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

struct Port {
  int number;
  std::string proto;
};

}  // namespace

Result<LinkRef> parse_link(std::string_view spec) {
  auto c = spec.find(':');
  std::string_view name = strip_slash(spec.substr(0, c));
  std::string_view alias = c == std::string_view::npos ? name : strip_slash(spec.substr(c + 1));
  if (name.empty() || alias.empty() || alias.find(':') != std::string_view::npos)
    return make_error(Errc::invalid, "invalid link format: " + std::string(spec));
  return LinkRef{std::string(name), std::string(alias)};
}

std::string canonical_link(std::string_view child_name, std::string_view parent_name,
                           std::string_view alias) {
  return "/" + std::string(strip_slash(child_name)) + ":/" + std::string(strip_slash(parent_name)) +
         "/" + std::string(strip_slash(alias));
}

Result<LinkRef> split_canonical_link(std::string_view stored) {
  auto c = stored.find(':');
  if (c == std::string_view::npos) return make_error(Errc::invalid, "invalid link: " + std::string(stored));
  std::string_view child = strip_slash(stored.substr(0, c));
  std::string_view path = stored.substr(c + 1);
  auto s = path.rfind('/');
  std::string_view alias = s == std::string_view::npos ? path : path.substr(s + 1);
  if (child.empty() || alias.empty()) return make_error(Errc::invalid, "invalid link: " + std::string(stored));
  return LinkRef{std::string(child), std::string(alias)};
}

std::vector<std::string> link_env(std::string_view parent_name, std::string_view alias,
                                  const std::string& child_ip, const Json& exposed_ports,
                                  const Json& child_env) {
  std::string prefix(alias);
  for (auto& ch : prefix) ch = ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::vector<std::string> env;
  env.push_back(prefix + "_NAME=/" + std::string(strip_slash(parent_name)) + "/" + std::string(alias));

  std::vector<Port> ports;
  if (exposed_ports.is_object())
    for (const auto& [k, v] : exposed_ports.items()) {
      (void)v;
      auto sl = k.find('/');
      int n = std::atoi(k.substr(0, sl).c_str());
      if (n <= 0) continue;
      ports.push_back({n, sl == std::string::npos ? "tcp" : str::to_lower(k.substr(sl + 1))});
    }
  // dockerd's order: by number, tcp before other protocols on a tie.
  std::sort(ports.begin(), ports.end(), [](const Port& a, const Port& b) {
    if (a.number != b.number) return a.number < b.number;
    return a.proto == "tcp" && b.proto != "tcp";
  });
  auto url = [&](const Port& p) { return p.proto + "://" + child_ip + ":" + std::to_string(p.number); };
  if (!ports.empty()) env.push_back(prefix + "_PORT=" + url(ports.front()));
  // Runs of consecutive ports of one protocol get _START/_END on their first.
  for (size_t i = 0; i < ports.size();) {
    size_t j = i;
    while (j + 1 < ports.size() && ports[j + 1].proto == ports[i].proto &&
           ports[j + 1].number == ports[j].number + 1)
      ++j;
    if (j > i) {
      std::string p = prefix + "_PORT_" + std::to_string(ports[i].number) + "_" + upper(ports[i].proto);
      env.push_back(p + "_START=" + url(ports[i]));
      env.push_back(p + "_PORT_START=" + std::to_string(ports[i].number));
      env.push_back(p + "_END=" + url(ports[j]));
      env.push_back(p + "_PORT_END=" + std::to_string(ports[j].number));
    }
    i = j + 1;
  }
  for (const auto& p : ports) {
    std::string k = prefix + "_PORT_" + std::to_string(p.number) + "_" + upper(p.proto);
    env.push_back(k + "=" + url(p));
    env.push_back(k + "_ADDR=" + child_ip);
    env.push_back(k + "_PORT=" + std::to_string(p.number));
    env.push_back(k + "_PROTO=" + p.proto);
  }
  if (child_env.is_array())
    for (const auto& e : child_env) {
      if (!e.is_string()) continue;
      const std::string& s = e.get_ref<const std::string&>();
      auto eq = s.find('=');
      std::string name = s.substr(0, eq);
      if (name.empty() || name == "HOME" || name == "PATH") continue;
      env.push_back(prefix + "_ENV_" + name + "=" + (eq == std::string::npos ? "" : s.substr(eq + 1)));
    }
  return env;
}

std::string link_hosts_line(const std::string& child_ip, std::string_view alias,
                            std::string_view child_hostname, std::string_view child_name) {
  std::string line = child_ip + "\t" + std::string(alias) + " " + std::string(child_hostname);
  std::string_view name = strip_slash(child_name);
  if (name != alias) line += " " + std::string(name);
  return line + "\n";
}

}  // namespace berth::container
