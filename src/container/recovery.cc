#include "container/recovery.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>

#include "common/fs.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/unique_fd.h"

namespace berth::container::recovery {

namespace {

int64_t mono_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// Writes a control file in place (cgroup files cannot be replaced).
void write_control(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd) (void)fs::write_all(fd.get(), data);
}

std::optional<ProcStat> read_stat(pid_t pid) {
  auto text = fs::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  auto st = parse_stat(*text);
  if (!st) return std::nullopt;
  return *st;
}

std::vector<std::string> read_cmdline(pid_t pid) {
  std::vector<std::string> argv;
  auto text = fs::read_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!text) return argv;
  size_t b = 0;
  for (size_t i = 0; i < text->size(); ++i)
    if ((*text)[i] == '\0') {
      argv.emplace_back(text->substr(b, i - b));
      b = i + 1;
    }
  if (b < text->size()) argv.emplace_back(text->substr(b));
  return argv;
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* de = ::readdir(d)) {
    auto n = str::parse_int(de->d_name);
    if (n && *n > 0) out.push_back(static_cast<pid_t>(*n));
  }
  ::closedir(d);
  return out;
}

// A pidfd for pid, but only if pid is still the process that started at
// start_time (checked after opening, so the fd cannot name a newer process).
UniqueFd pidfd_if_same(pid_t pid, uint64_t start_time) {
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!fd) return fd;
  auto now = read_stat(pid);
  if (!now || now->start_time != start_time || now->state == 'Z') return UniqueFd();
  return fd;
}

bool wait_gone(const UniqueFd& pidfd, int64_t deadline) {
  pollfd p{pidfd.get(), POLLIN, 0};
  for (;;) {
    int left = static_cast<int>(std::max<int64_t>(0, deadline - mono_ms()));
    int r = ::poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

std::vector<pid_t> cgroup_pids(const std::string& dir) {
  std::vector<pid_t> out;
  auto text = fs::read_file(dir + "/cgroup.procs");
  if (!text) return out;
  for (const auto& l : str::split(*text, '\n'))
    if (auto n = str::parse_int(str::trim(l)); n && *n > 0) out.push_back(static_cast<pid_t>(*n));
  return out;
}

// Child cgroups first, then the directory itself (rmdir only: a cgroup's
// files go with it).
void remove_cgroup_tree(const std::string& dir) {
  for (const auto& name : fs::list_dir(dir)) {
    std::string sub = dir + "/" + name;
    struct stat st {};
    if (::lstat(sub.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) remove_cgroup_tree(sub);
  }
  ::rmdir(dir.c_str());
}

std::vector<std::string> cgroup_tree_pids_dirs(const std::string& dir) {
  std::vector<std::string> out{dir};
  for (const auto& name : fs::list_dir(dir)) {
    std::string sub = dir + "/" + name;
    struct stat st {};
    if (::lstat(sub.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      for (auto& d : cgroup_tree_pids_dirs(sub)) out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

Result<ProcStat> parse_stat(std::string_view text) {
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return make_error(Errc::invalid, "malformed /proc stat");
  ProcStat st;
  auto pid = str::parse_int(str::trim(text.substr(0, open)));
  if (!pid) return make_error(Errc::invalid, "malformed /proc stat pid");
  st.pid = static_cast<pid_t>(*pid);
  // Fields from 3 on, separated by single spaces.
  std::vector<std::string> f;
  for (const auto& p : str::split(std::string(text.substr(close + 1)), ' '))
    if (!p.empty()) f.push_back(p);
  // f[0] is field 3.
  if (f.size() < 20) return make_error(Errc::invalid, "short /proc stat");
  st.state = f[0].empty() ? '?' : f[0][0];
  auto ppid = str::parse_int(f[1]);
  auto sid = str::parse_int(f[3]);
  auto start = str::parse_int(str::trim(f[19]));
  if (!ppid || !sid || !start) return make_error(Errc::invalid, "malformed /proc stat fields");
  st.ppid = static_cast<pid_t>(*ppid);
  st.sid = static_cast<pid_t>(*sid);
  st.start_time = static_cast<uint64_t>(*start);
  return st;
}

std::string argv_value(const std::vector<std::string>& argv, std::string_view flag) {
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == flag) return argv[i + 1];
  return {};
}

std::map<std::string, std::vector<ShimProc>> find_shims(const std::string& runtime_root) {
  std::map<std::string, std::vector<ShimProc>> out;
  const pid_t self = ::getpid();
  for (pid_t pid : all_pids()) {
    if (pid == self) continue;
    auto argv = read_cmdline(pid);
    if (argv.size() < 4 || argv_value(argv, "--runtime-root") != runtime_root) continue;
    std::string id = argv_value(argv, "--id");
    if (id.empty() || argv_value(argv, "--state-dir").empty() || argv_value(argv, "--socket").empty()) continue;
    auto st = read_stat(pid);
    if (!st || st->state == 'Z') continue;
    out[id].push_back(ShimProc{*st, id, argv_value(argv, "--runtime")});
  }
  return out;
}

int kill_shims(const std::vector<ShimProc>& shims, int timeout_ms) {
  if (shims.empty()) return 0;
  // The victims: the shims, then everything in the sessions they lead
  // (a monitor calls setsid(), so its runtime child and that child's hooks
  // share its session). A member started before its leader cannot belong.
  std::vector<UniqueFd> fds;
  std::set<pid_t> seen;
  auto take = [&](pid_t pid, uint64_t start) {
    if (!seen.insert(pid).second) return;
    if (auto fd = pidfd_if_same(pid, start)) fds.push_back(std::move(fd));
  };
  for (const auto& s : shims) take(s.stat.pid, s.stat.start_time);
  for (pid_t pid : all_pids()) {
    auto st = read_stat(pid);
    if (!st || st->state == 'Z') continue;
    for (const auto& s : shims)
      if (st->sid == s.stat.pid && st->start_time >= s.stat.start_time) take(pid, st->start_time);
  }
  int n = 0;
  for (const auto& fd : fds)
    if (::syscall(SYS_pidfd_send_signal, fd.get(), SIGKILL, nullptr, 0) == 0) ++n;
  const int64_t deadline = mono_ms() + timeout_ms;
  for (const auto& fd : fds) (void)wait_gone(fd, deadline);
  return n;
}

std::optional<std::pair<pid_t, uint64_t>> state_init(std::string_view state_json) {
  auto j = parse_json(state_json);
  if (!j || !j->is_object()) return std::nullopt;
  auto pid = j->find("pid");
  auto start = j->find("start_time");
  if (pid == j->end() || start == j->end() || !pid->is_number_integer() || !start->is_number_unsigned())
    return std::nullopt;
  int64_t p = pid->get<int64_t>();
  if (p <= 1) return std::nullopt;
  return std::make_pair(static_cast<pid_t>(p), start->get<uint64_t>());
}

bool kill_state_init(const std::string& runtime_state_dir, int timeout_ms) {
  auto text = fs::read_file(runtime_state_dir + "/state.json");
  if (!text) return false;
  auto init = state_init(*text);
  if (!init) return false;
  auto fd = pidfd_if_same(init->first, init->second);
  if (!fd) return false;
  if (::syscall(SYS_pidfd_send_signal, fd.get(), SIGKILL, nullptr, 0) != 0) return false;
  (void)wait_gone(fd, mono_ms() + timeout_ms);
  return true;
}

std::vector<std::string> cgroup_dirs(const std::string& cgroups_path) {
  std::vector<std::string> out;
  auto text = fs::read_file("/proc/self/mountinfo");
  if (!text) return out;
  std::set<std::string> seen;
  std::string rel = cgroups_path;
  if (rel.empty() || rel[0] != '/') rel = "/" + rel;
  for (const auto& line : str::split(*text, '\n')) {
    // ... mountpoint(5th) ... " - " fstype source options
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    auto tail = str::split(line.substr(dash + 3), ' ');
    if (tail.empty() || (tail[0] != "cgroup" && tail[0] != "cgroup2")) continue;
    auto head = str::split(line.substr(0, dash), ' ');
    if (head.size() < 5) continue;
    const std::string& mp = head[4];
    if (!seen.insert(mp).second) continue;
    std::string dir = mp + rel;
    if (fs::exists(dir)) out.push_back(dir);
  }
  return out;
}

int sweep_cgroups(const std::string& cgroups_path, int timeout_ms) {
  auto dirs = cgroup_dirs(cgroups_path);
  if (dirs.empty()) return 0;
  for (const auto& d : dirs) {
    // A frozen container cannot die: thaw it first (v1 freezer, v2 freeze).
    if (fs::exists(d + "/freezer.state")) write_control(d + "/freezer.state", "THAWED");
    if (fs::exists(d + "/cgroup.freeze")) write_control(d + "/cgroup.freeze", "0");
    if (fs::exists(d + "/cgroup.kill")) write_control(d + "/cgroup.kill", "1");
  }
  const int64_t deadline = mono_ms() + timeout_ms;
  for (;;) {
    bool any = false;
    for (const auto& d : dirs)
      for (const auto& sub : cgroup_tree_pids_dirs(d))
        for (pid_t pid : cgroup_pids(sub)) {
          any = true;
          ::kill(pid, SIGKILL);
        }
    if (!any || mono_ms() >= deadline) break;
    ::usleep(20000);
  }
  int left = 0;
  for (const auto& d : dirs) {
    remove_cgroup_tree(d);
    if (fs::exists(d)) ++left;
  }
  return left;
}

}  // namespace berth::container::recovery
