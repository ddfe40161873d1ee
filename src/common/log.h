// Structured logging: one line per event, key=value fields, to stderr or a
// file. A Logger is passed down from main; there is no global logger.
#pragma once

#include <atomic>
#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace berth::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, fatal = 4 };
bool parse_level(std::string_view s, Level* out);

class Logger {
 public:
  explicit Logger(Level min = Level::info, FILE* out = stderr) : min_(min), out_(out) {}
  void set_level(Level l) { min_.store(l); }  // SIGHUP reload: any thread
  bool enabled(Level l) const { return l >= min_.load(std::memory_order_relaxed); }
  using Field = std::pair<std::string_view, std::string>;
  void write(Level l, std::string_view msg, std::initializer_list<Field> fields = {});

 private:
  std::atomic<Level> min_;
  FILE* out_;
  std::mutex mu_;
};

}  // namespace berth::log

#define BERTH_LOG(logger, lvl, msg, ...)                                 \
  do {                                                                   \
    if ((logger).enabled(::berth::log::Level::lvl))                      \
      (logger).write(::berth::log::Level::lvl, msg, {__VA_ARGS__});     \
  } while (0)
