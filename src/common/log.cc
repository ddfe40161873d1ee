#include "common/log.h"

#include "common/time.h"

namespace berth::log {

bool parse_level(std::string_view s, Level* out) {
  if (s == "debug") *out = Level::debug;
  else if (s == "info") *out = Level::info;
  else if (s == "warn" || s == "warning") *out = Level::warn;
  else if (s == "error") *out = Level::error;
  else if (s == "fatal") *out = Level::fatal;
  else return false;
  return true;
}

void Logger::write(Level l, std::string_view msg, std::initializer_list<Field> fields) {
  static const char* names[] = {"debug", "info", "warning", "error", "fatal"};
  std::string line = "time=\"" + timeutil::rfc3339_nano(timeutil::now_unix_nano()) + "\" level=" +
                     names[static_cast<int>(l)] + " msg=\"" + std::string(msg) + "\"";
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += "=\"";
    line += v;
    line += '"';
  }
  line += '\n';
  std::lock_guard<std::mutex> g(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace berth::log
