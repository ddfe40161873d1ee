// The berth command tree: one function per command, each parsing its own
// flags with docker's syntax and returning the process exit code.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/context.h"

namespace berth::cli {

using Args = std::vector<std::string>;

int cmd_run(Context& ctx, const Args& args);
int cmd_create(Context& ctx, const Args& args);
// docker cp / export / diff / container prune (archive.cc).
int cmd_cp(Context& ctx, const Args& args);
int cmd_export(Context& ctx, const Args& args);
int cmd_diff(Context& ctx, const Args& args);
int cmd_container_prune(Context& ctx, const Args& args);
int cmd_ps(Context& ctx, const Args& args);
int cmd_logs(Context& ctx, const Args& args);
int cmd_rm(Context& ctx, const Args& args);
int cmd_images(Context& ctx, const Args& args);
int cmd_import(Context& ctx, const Args& args);
int cmd_inspect(Context& ctx, const Args& args);
int cmd_version(Context& ctx, const Args& args);
int cmd_info(Context& ctx, const Args& args);
int cmd_network(Context& ctx, const Args& args);
// Image transfer (images.cc).
int cmd_pull(Context& ctx, const Args& args);
int cmd_push(Context& ctx, const Args& args);
int cmd_tag(Context& ctx, const Args& args);
int cmd_rmi(Context& ctx, const Args& args);
int cmd_image_prune(Context& ctx, const Args& args);
int cmd_save(Context& ctx, const Args& args);
int cmd_load(Context& ctx, const Args& args);
int cmd_login(Context& ctx, const Args& args);
int cmd_logout(Context& ctx, const Args& args);
int cmd_volume(Context& ctx, const Args& args);
int cmd_exec(Context& ctx, const Args& args);
int cmd_pause(Context& ctx, const Args& args);
int cmd_unpause(Context& ctx, const Args& args);
int cmd_rename(Context& ctx, const Args& args);
int cmd_top(Context& ctx, const Args& args);
int cmd_port(Context& ctx, const Args& args);
int cmd_update(Context& ctx, const Args& args);
int cmd_stats(Context& ctx, const Args& args);
// start / stop / restart / kill / wait / attach (lifecycle.cc).
int cmd_start(Context& ctx, const Args& args);
int cmd_stop(Context& ctx, const Args& args);
int cmd_restart(Context& ctx, const Args& args);
int cmd_kill(Context& ctx, const Args& args);
int cmd_wait(Context& ctx, const Args& args);
int cmd_attach(Context& ctx, const Args& args);

// POST /containers/{name}/{action}?q for each name: prints each name as
// given on success, the daemon's errors one a line at the end (exit 1), as
// the docker CLI's pause/stop/kill.
int for_each(Context& ctx, const std::vector<std::string>& names, const std::string& action,
             const api::Query& q = {});

// go-units RAMInBytes ("64m", "1.5g"); Errc::invalid "invalid size: '10x'".
Result<int64_t> parse_ram_in_bytes(std::string_view s);

// Prints a JSON progress stream (pull, import, load) the way the docker CLI
// does when the output is not a terminal; returns the in-stream error
// message, if any.
Result<std::optional<std::string>> display_json_stream(Context& ctx, client::Stream& s, Output& out);

// docker run's exit code for a failed create/start, derived from the
// daemon's message: 127 "executable file not found" / "no such file or
// directory", 126 "permission denied", else 125.
int start_error_code(std::string_view msg);

// Image and system commands (image_cmds.cc, system_cmds.cc).
int cmd_commit(Context& ctx, const Args& args);
int cmd_history(Context& ctx, const Args& args);
int cmd_search(Context& ctx, const Args& args);
int cmd_events(Context& ctx, const Args& args);
int cmd_system_df(Context& ctx, const Args& args);
int cmd_system_prune(Context& ctx, const Args& args);

// -f key=value... → the filters JSON the docker CLI sends
// ({"key":{"value":true}}); "" when there are none (list.cc).
Result<std::string> filters_json(const std::vector<std::string>& flags,
                                 const std::vector<std::pair<std::string, std::string>>& extra = {});
// --format rendering: "table ..." aligned with a header row, otherwise one
// line per row (list.cc).
int render_format(Context& ctx, std::string format, const std::vector<OrderedJson>& rows,
                  const OrderedJson& headers);

// Entry point: global flags (-H, -D, -v, --help), then the command.
int run_main(Context& ctx, const Args& argv);

}  // namespace berth::cli
