// berth-shim: the per-container monitor (docs/shim-protocol.md).
#include <cstdio>
#include <cstring>

#include "shim/options.h"
#include "shim/shim.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(berth::shim::usage(), stdout);
      return 0;
    }
  }
  auto opts = berth::shim::parse_options(argc, argv);
  if (!opts) {
    std::fprintf(stderr, "berth-shim: %s\n%s", opts.error().msg.c_str(), berth::shim::usage());
    return 2;
  }
  return berth::shim::run_shim(*opts);
}
