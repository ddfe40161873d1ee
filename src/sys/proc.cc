#include "sys/proc.h"

#include <string>

#include "common/fs.h"
#include "common/strings.h"

namespace berth::sys {

Result<ProcStat> parse_proc_stat(std::string_view text) {
  size_t rp = text.rfind(')');
  if (rp == std::string_view::npos || rp + 2 >= text.size())
    return make_error(Errc::invalid, "malformed /proc stat");
  std::string_view rest = text.substr(rp + 2);  // starts at field 3
  ProcStat st;
  size_t field = 3;
  size_t pos = 0;
  while (pos < rest.size()) {
    size_t end = rest.find(' ', pos);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view tok = rest.substr(pos, end - pos);
    if (field == 3 && !tok.empty()) st.state = tok[0];
    if (field == 22) {
      auto v = str::parse_int(str::trim(tok));
      if (!v || *v < 0) return make_error(Errc::invalid, "malformed /proc stat start time");
      st.start_time = static_cast<uint64_t>(*v);
      return st;
    }
    ++field;
    pos = end + 1;
  }
  return make_error(Errc::invalid, "short /proc stat");
}

Result<ProcStat> read_proc_stat(pid_t pid) {
  auto text = BERTH_TRY(fs::read_file("/proc/" + std::to_string(pid) + "/stat"));
  return parse_proc_stat(text);
}

bool process_matches(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto st = read_proc_stat(pid);
  if (!st) return false;
  return st->state != 'Z' && st->state != 'X' && st->start_time == start_time;
}

}  // namespace berth::sys
