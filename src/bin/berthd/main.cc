// berthd: the berth daemon (Docker Engine API 1.41 on a unix socket).
#include <malloc.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/log.h"
#include "daemon/config.h"
#include "daemon/daemon.h"

int main(int argc, char** argv) {
  // One malloc arena per core instead of eight: every request thread would
  // otherwise grow its own arena, resident until the daemon exits.
  mallopt(M_ARENA_MAX, 2);
  // Fixed thresholds instead of glibc's sliding ones: a large answer (the
  // 630 KB list of 1,000 containers, an inspect, a JSON tree of thousands of
  // nodes) was built in memory that malloc mapped and unmapped, or grew
  // and trimmed the heap for, on every request — page faults and sysmalloc
  // were a third of a `ps` at 1,000 containers (median 70 ms; 23 ms with
  // these). Start-up still ends with malloc_trim(0), so idle RSS is as low.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
  std::vector<std::string> args(argv + 1, argv + argc);
  auto cfg = berth::daemon::load_config(args);
  if (!cfg) {
    std::fprintf(stderr, "berthd: %s\n", cfg.error().msg.c_str());
    return 1;
  }
  if (cfg->show_help) {
    std::fputs(berth::daemon::usage().c_str(), stdout);
    return 0;
  }
  if (cfg->show_version) {
    std::printf("berthd version 0.1.0, API 1.41 (minimum 1.12)\n");
    return 0;
  }
  berth::log::Logger log(cfg->log_level);
  return berth::daemon::run(*cfg, log);
}
