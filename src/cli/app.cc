// The root command: global flags, command dispatch and docker's top-level
// error shapes.
//
// Daemon address: -H/--host, else $BERTH_HOST, else
// unix:///run/berth/berth.sock. DOCKER_HOST is deliberately not read: a
// shell set up for docker would otherwise send berth commands to dockerd
// without the user noticing; `-H "$DOCKER_HOST"` does it explicitly.
#include <algorithm>

#include "cli/commands.h"
#include "cli/version_info.h"
#include "client/conn.h"

namespace berth::cli {

namespace {

struct Entry {
  std::string_view name;
  int (*fn)(Context&, const Args&);
  std::string_view help;
};

// Top-level commands and the management-command spellings docker also
// accepts for them ("container ls" is "ps").
constexpr Entry kCommands[] = {
    {"run", cmd_run, "Create and run a new container from an image"},
    {"create", cmd_create, "Create a new container"},
    {"cp", cmd_cp, "Copy files/folders between a container and the local filesystem"},
    {"export", cmd_export, "Export a container's filesystem as a tar archive"},
    {"diff", cmd_diff, "Inspect changes to files or directories on a container's filesystem"},
    {"ps", cmd_ps, "List containers"},
    {"logs", cmd_logs, "Fetch the logs of a container"},
    {"rm", cmd_rm, "Remove one or more containers"},
    {"start", cmd_start, "Start one or more stopped containers"},
    {"stop", cmd_stop, "Stop one or more running containers"},
    {"restart", cmd_restart, "Restart one or more containers"},
    {"kill", cmd_kill, "Kill one or more running containers"},
    {"wait", cmd_wait, "Block until one or more containers stop, then print their exit codes"},
    {"attach", cmd_attach, "Attach local standard input, output, and error streams to a running container"},
    {"images", cmd_images, "List images"},
    {"import", cmd_import, "Import the contents from a tarball to create a filesystem image"},
    {"inspect", cmd_inspect, "Return low-level information on Docker objects"},
    {"version", cmd_version, "Show the Docker version information"},
    {"info", cmd_info, "Display system-wide information"},
    {"network", cmd_network, "Manage networks"},
    {"volume", cmd_volume, "Manage volumes"},
    {"exec", cmd_exec, "Execute a command in a running container"},
    {"pause", cmd_pause, "Pause all processes within one or more containers"},
    {"unpause", cmd_unpause, "Unpause all processes within one or more containers"},
    {"rename", cmd_rename, "Rename a container"},
    {"top", cmd_top, "Display the running processes of a container"},
    {"port", cmd_port, "List port mappings or a specific mapping for the container"},
    {"update", cmd_update, "Update configuration of one or more containers"},
    {"stats", cmd_stats, "Display a live stream of container(s) resource usage statistics"},
    {"pull", cmd_pull, "Download an image from a registry"},
    {"push", cmd_push, "Upload an image to a registry"},
    {"tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"},
    {"rmi", cmd_rmi, "Remove one or more images"},
    {"save", cmd_save, "Save one or more images to a tar archive (streamed to STDOUT by default)"},
    {"load", cmd_load, "Load an image from a tar archive or STDIN"},
    {"login", cmd_login, "Log in to a registry"},
    {"logout", cmd_logout, "Log out from a registry"},
    {"commit", cmd_commit, "Create a new image from a container's changes"},
    {"history", cmd_history, "Show the history of an image"},
    {"events", cmd_events, "Get real time events from the server"},
    {"search", cmd_search, "Search Docker Hub for images"},
};

struct Alias {
  std::string_view group, sub, target;
};
constexpr Alias kAliases[] = {
    {"container", "run", "run"},     {"container", "ls", "ps"},      {"container", "list", "ps"},
    {"container", "ps", "ps"},       {"container", "logs", "logs"},  {"container", "rm", "rm"},
    {"container", "remove", "rm"},   {"image", "ls", "images"},      {"image", "list", "images"},
    {"image", "import", "import"},   {"image", "pull", "pull"},      {"image", "push", "push"},
    {"image", "tag", "tag"},         {"image", "rm", "rmi"},  {"image", "remove", "rmi"},         {"image", "save", "save"},
    {"image", "load", "load"},   {"system", "info", "info"},
    {"container", "create", "create"}, {"container", "cp", "cp"},   {"container", "export", "export"},
    {"container", "diff", "diff"},     {"container", "exec", "exec"}, {"container", "stats", "stats"},
    {"image", "history", "history"},   {"container", "commit", "commit"}, {"system", "events", "events"},
    {"container", "start", "start"},   {"container", "stop", "stop"}, {"container", "restart", "restart"},
    {"container", "kill", "kill"},     {"container", "wait", "wait"}, {"container", "attach", "attach"},
};

const Entry* find_command(std::string_view name) {
  for (const auto& e : kCommands)
    if (e.name == name) return &e;
  return nullptr;
}

constexpr CommandSpec kRoot{"", "[OPTIONS] COMMAND [ARG...]", "A self-sufficient runtime for containers"};

int root_help(Context& ctx, const FlagSet& flags) {
  ctx.out << "Usage:  " << ctx.prog << " [OPTIONS] COMMAND [ARG...]\n\n"
          << "A self-sufficient runtime for containers\n\nCommands:\n";
  for (const auto& e : kCommands) {
    std::string n(e.name);
    ctx.out << "  " << n << std::string(n.size() < 12 ? 12 - n.size() : 1, ' ') << e.help << "\n";
  }
  ctx.out << "\nGlobal Options:\n" << flags.usages() << "\nRun '" << ctx.prog
          << " COMMAND --help' for more information on a command.\n";
  ctx.out.flush();
  return 0;
}

}  // namespace

int run_main(Context& ctx, const Args& argv) {
  FlagSet flags(/*interspersed=*/false);
  flags.add_list("host", 'H', "Daemon socket to connect to (env BERTH_HOST; default " +
                                  std::string(client::kDefaultHost) + ")");
  flags.add_bool("debug", 'D', "Enable debug mode");
  flags.add_bool("version", 'v', "Print version information and quit");
  flags.add_bool("help", 'h', "Print usage");
  if (auto st = flags.parse(argv); !st) {
    ctx.out.flush();
    ctx.err << st.error().msg << "\n\nUsage:  " << ctx.prog << " " << kRoot.usage << "\n\nRun '" << ctx.prog
            << " --help' for more information\n";
    ctx.err.flush();
    return 125;
  }
  if (flags.get_bool("version")) {
    ctx.out << ctx.prog << " version " << kBerthVersion << ", build " << kBerthGitCommit << "\n";
    return 0;
  }
  ctx.debug = flags.get_bool("debug");
  const auto& hosts = flags.get_list("host");
  if (hosts.size() > 1) return ctx.fail("specify only one -H");
  if (!hosts.empty()) {
    ctx.host = hosts.front();
  } else if (auto h = ctx.env("BERTH_HOST"); h && !h->empty()) {
    ctx.host = *h;
  } else {
    ctx.host = std::string(client::kDefaultHost);
  }
  Args args = flags.args();
  if (flags.get_bool("help") || args.empty()) return root_help(ctx, flags);
  if (args.front() == "help") {
    if (args.size() == 1) return root_help(ctx, flags);
    args = {args[1], "--help"};
  }

  std::string name = args.front();
  Args rest(args.begin() + 1, args.end());
  for (const auto& a : kAliases) {
    if (a.group == name && !rest.empty() && a.sub == rest.front()) {
      ctx.invoked = name + " " + rest.front();
      name = std::string(a.target);
      rest.erase(rest.begin());
      break;
    }
  }
  if (name == "container" && !rest.empty() && rest.front() == "prune") {
    int rc = cmd_container_prune(ctx, Args(rest.begin() + 1, rest.end()));
    ctx.out.flush();
    ctx.err.flush();
    return rc;
  }
  if (name == "image" && !rest.empty() && rest.front() == "prune") {
    int rc = cmd_image_prune(ctx, Args(rest.begin() + 1, rest.end()));
    ctx.out.flush();
    ctx.err.flush();
    return rc;
  }
  if (name == "system" && !rest.empty() && (rest.front() == "df" || rest.front() == "prune")) {
    Args sub(rest.begin() + 1, rest.end());
    int rc = rest.front() == "df" ? cmd_system_df(ctx, sub) : cmd_system_prune(ctx, sub);
    ctx.out.flush();
    ctx.err.flush();
    return rc;
  }
  if (name == "container" || name == "image" || name == "system") {
    rest.insert(rest.begin(), "inspect");
    if (rest.size() >= 2 && rest[1] == "inspect") {
      // "container inspect X" / "image inspect X": inspect with --type.
      Args a = {"--type", name == "image" ? "image" : "container"};
      a.insert(a.end(), rest.begin() + 2, rest.end());
      return cmd_inspect(ctx, a);
    }
    return ctx.fail(ctx.prog + ": unknown command: " + ctx.prog + " " + name + " " +
                        (rest.size() >= 2 ? rest[1] : std::string()) + "\n\nRun '" + ctx.prog + " " + name +
                        " --help' for more information");
  }
  const Entry* e = find_command(name);
  if (!e) {
    return ctx.fail(ctx.prog + ": unknown command: " + ctx.prog + " " + name + "\n\nRun '" + ctx.prog +
                    " --help' for more information");
  }
  int rc = e->fn(ctx, rest);
  ctx.out.flush();
  ctx.err.flush();
  return rc;
}

}  // namespace berth::cli
