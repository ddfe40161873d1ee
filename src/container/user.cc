#include "container/user.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/strings.h"
#include "common/unique_fd.h"

namespace berth::container {

namespace {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
  std::string home;
};
struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

std::optional<uint32_t> parse_id(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 0xffffffffULL) return std::nullopt;
  return static_cast<uint32_t>(v);
}

std::vector<PasswdEntry> parse_passwd(const std::string& text) {
  std::vector<PasswdEntry> out;
  for (const auto& line : str::split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto f = str::split(line, ':');
    if (f.size() < 4) continue;
    auto uid = parse_id(f[2]), gid = parse_id(f[3]);
    if (!uid || !gid) continue;
    out.push_back({f[0], *uid, *gid, f.size() > 5 ? f[5] : ""});
  }
  return out;
}

std::vector<GroupEntry> parse_group(const std::string& text) {
  std::vector<GroupEntry> out;
  for (const auto& line : str::split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto f = str::split(line, ':');
    if (f.size() < 3) continue;
    auto gid = parse_id(f[2]);
    if (!gid) continue;
    GroupEntry g{f[0], *gid, {}};
    if (f.size() > 3 && !f[3].empty()) g.members = str::split(f[3], ',');
    out.push_back(std::move(g));
  }
  return out;
}

Error user_err(std::string m) { return make_error(Errc::invalid, std::move(m)); }

Result<std::optional<std::string>> read_in_root(int root_fd, const char* rel) {
  struct open_how how {};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>{};
    return sys_error(std::string("open ") + rel + " in container rootfs");
  }
  UniqueFd f(static_cast<int>(fd));
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(f.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(std::string("read ") + rel);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (64u << 20)) return user_err(std::string(rel) + " is too large");
  }
  return std::optional<std::string>(std::move(out));
}

}  // namespace

Result<ResolvedUser> resolve_user(std::string_view user, const std::optional<std::string>& passwd,
                                  const std::optional<std::string>& group,
                                  const std::vector<std::string>& group_add) {
  std::vector<PasswdEntry> users = passwd ? parse_passwd(*passwd) : std::vector<PasswdEntry>{};
  std::vector<GroupEntry> groups = group ? parse_group(*group) : std::vector<GroupEntry>{};
  std::string_view u = user, g;
  bool has_group = false;
  if (auto c = user.find(':'); c != std::string_view::npos) {
    u = user.substr(0, c);
    g = user.substr(c + 1);
    has_group = true;
  }
  ResolvedUser r;
  const PasswdEntry* pw = nullptr;
  if (u.empty()) u = "0";
  if (auto id = parse_id(u)) {
    r.uid = *id;
    for (const auto& e : users)
      if (e.uid == *id) {
        pw = &e;
        break;
      }
  } else {
    for (const auto& e : users)
      if (e.name == u) {
        pw = &e;
        break;
      }
    if (!pw) {
      if (!passwd)
        return user_err("unable to find user " + std::string(u) +
                        ": no matching entries in passwd file");
      return user_err("unable to find user " + std::string(u) + ": no matching entries in passwd file");
    }
    r.uid = pw->uid;
  }
  if (pw) {
    r.gid = pw->gid;
    if (!pw->home.empty()) r.home = pw->home;
  }
  if (has_group && !g.empty()) {
    if (auto id = parse_id(g)) {
      r.gid = *id;
    } else {
      const GroupEntry* ge = nullptr;
      for (const auto& e : groups)
        if (e.name == g) {
          ge = &e;
          break;
        }
      if (!ge)
        return user_err("unable to find group " + std::string(g) +
                        ": no matching entries in group file");
      r.gid = ge->gid;
    }
  }
  // Supplementary groups: those listing the user by name (only when the
  // group was not given explicitly, as runc's GetExecUser does).
  if (pw && !has_group) {
    for (const auto& e : groups)
      for (const auto& m : e.members)
        if (m == pw->name && e.gid != r.gid) r.additional_gids.push_back(e.gid);
  }
  for (const auto& ga : group_add) {
    if (auto id = parse_id(ga)) {
      r.additional_gids.push_back(*id);
      continue;
    }
    const GroupEntry* ge = nullptr;
    for (const auto& e : groups)
      if (e.name == ga) ge = &e;
    if (!ge)
      return user_err("unable to find group " + ga + ": no matching entries in group file");
    r.additional_gids.push_back(ge->gid);
  }
  return r;
}

Result<ResolvedUser> resolve_user_in_rootfs(const std::string& rootfs, std::string_view user,
                                            const std::vector<std::string>& group_add) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error("open rootfs " + rootfs);
  auto passwd = BERTH_TRY(read_in_root(root.get(), "etc/passwd"));
  std::optional<std::string> group;
  // The group file is only needed for names and supplementary groups.
  group = BERTH_TRY(read_in_root(root.get(), "etc/group"));
  return resolve_user(user, passwd, group, group_add);
}

}  // namespace berth::container
