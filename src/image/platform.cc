#include "image/platform.h"

#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "common/strings.h"

namespace berth::image {

namespace {

constexpr std::array kOses = {"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios",
                              "js", "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "windows", "zos"};
constexpr std::array kArches = {"386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64",
                                "ppc64le", "loong64", "mips", "mipsle", "mips64", "mips64le", "mips64p32",
                                "mips64p32le", "ppc", "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64",
                                "wasm"};

template <size_t N>
bool known(const std::array<const char*, N>& a, const std::string& s) {
  return std::any_of(a.begin(), a.end(), [&](const char* x) { return s == x; });
}

// containerd's normalizeArch.
void normalize_arch(std::string& arch, std::string& variant) {
  if (arch == "i386") arch = "386", variant = "";
  else if (arch == "x86_64" || arch == "x86-64") arch = "amd64", variant = "";
  else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant == "8" || variant == "v8") variant = "";
  } else if (arch == "armhf") arch = "arm", variant = "v7";
  else if (arch == "armel") arch = "arm", variant = "v6";
  else if (arch == "arm") {
    if (variant.empty() || variant == "7") variant = "v7";
    else if (variant == "5" || variant == "6" || variant == "8") variant = "v" + variant;
  }
}

std::string host_arch() {
  struct utsname u {};
  std::string a = ::uname(&u) == 0 ? u.machine : "amd64", v;
  normalize_arch(a, v);
  return a;
}

}  // namespace

Result<Platform> parse_platform(std::string_view in) {
  std::string s(in);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto bad = [&] {
    return make_error(Errc::invalid, "\"" + std::string(in) + "\": unknown operating system or architecture: invalid argument");
  };
  auto parts = str::split(s, '/');
  for (const auto& p : parts)
    if (p.empty() || !std::all_of(p.begin(), p.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }))
      return make_error(Errc::invalid, "\"" + std::string(in) + "\": invalid platform component: invalid argument");
  Platform p;
  if (parts.size() == 1) {
    std::string a = parts[0], v;
    if (known(kOses, a)) {
      p.os = a;
      p.architecture = host_arch();
      return p;
    }
    normalize_arch(a, v);
    if (!known(kArches, a)) return bad();
    p.os = "linux";
    p.architecture = a;
    p.variant = v;
    return p;
  }
  if (parts.size() > 3) return bad();
  p.os = parts[0] == "macos" ? "darwin" : parts[0];
  p.architecture = parts[1];
  p.variant = parts.size() == 3 ? parts[2] : "";
  normalize_arch(p.architecture, p.variant);
  if (!known(kOses, p.os) || !known(kArches, p.architecture)) return bad();
  return p;
}

Status check_platform_os(const Platform& p) {
  if (p.os != "linux") return make_error(Errc::invalid, "operating system is not supported");
  return ok();
}

}  // namespace berth::image
