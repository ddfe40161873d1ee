// Command-line flags with the docker CLI's syntax (spf13/pflag semantics):
// `--name x`, `--name=x`, combined boolean shorthands `-it`, `-e X=1`,
// `-eX=1`, `-e=X=1`, `--rm=false`, `--` ends flags, and optionally flags stop
// at the first positional argument (run/exec: `run busybox ls -la`).
// Error texts are pflag's, so the CLI can print them unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::cli {

enum class FlagType { boolean, string, list, integer };

struct Flag {
  std::string name;      // long name without dashes
  char shorthand = 0;    // 0 when none
  FlagType type = FlagType::string;
  std::string usage;
  std::string def;       // default shown in help ("" → none)
  std::string type_name; // as pflag prints it: "string", "list", "int"
  bool hidden = false;
  // Parsed state.
  bool changed = false;
  bool bool_value = false;
  int64_t int_value = 0;
  std::string str_value;
  std::vector<std::string> list_value;
};

class FlagSet {
 public:
  // interspersed=false: the first positional argument ends flag parsing.
  explicit FlagSet(bool interspersed = true) : interspersed_(interspersed) {}

  void add_bool(std::string name, char shorthand, std::string usage, bool def = false);
  void add_string(std::string name, char shorthand, std::string def, std::string usage,
                  std::string type_name = "string");
  void add_list(std::string name, char shorthand, std::string usage, std::string type_name = "list");
  void add_int(std::string name, char shorthand, int64_t def, std::string usage);
  void hide(std::string_view name);

  // Parses args (without the command name). Errors carry pflag's message
  // ("unknown flag: --foo", "unknown shorthand flag: 'x' in -x",
  // "flag needs an argument: --name", "flag needs an argument: 'e' in -e",
  // "invalid argument \"abc\" for \"-n, --last\" flag: ...").
  Status parse(const std::vector<std::string>& args);

  bool get_bool(std::string_view name) const;
  const std::string& get_string(std::string_view name) const;
  const std::vector<std::string>& get_list(std::string_view name) const;
  int64_t get_int(std::string_view name) const;
  bool changed(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }

  const std::vector<std::string>& args() const { return args_; }

  // The "Options:" block of --help, aligned as pflag does.
  std::string usages() const;

 private:
  Flag* find(std::string_view name);
  const Flag* find(std::string_view name) const;
  Flag* find_short(char c);
  Status set(Flag& f, std::string_view value);

  bool interspersed_;
  std::vector<Flag> flags_;
  std::vector<std::string> args_;
};

// Go's strconv.ParseBool.
std::optional<bool> parse_go_bool(std::string_view s);

}  // namespace berth::cli
