// berth: the docker-compatible command-line client.
#include <csignal>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // Writes to a closed pipe (`berth ps | head -1`) end quietly, as Go does.
  std::signal(SIGPIPE, SIG_IGN);
  berth::cli::Context ctx;
  berth::cli::Args args(argv + 1, argv + argc);
  int rc = berth::cli::run_main(ctx, args);
  ctx.out.flush();
  ctx.err.flush();
  return rc;
}
