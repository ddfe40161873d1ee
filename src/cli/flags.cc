#include "cli/flags.h"

#include <algorithm>
#include <optional>

#include "common/strings.h"

namespace berth::cli {

namespace {

Error flag_error(std::string msg) { return make_error(Errc::invalid, std::move(msg)); }

std::string flag_label(const Flag& f) {
  std::string s;
  if (f.shorthand) {
    s += '-';
    s += f.shorthand;
    s += ", ";
  }
  s += "--" + f.name;
  return s;
}

}  // namespace

std::optional<bool> parse_go_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return false;
  return std::nullopt;
}

void FlagSet::add_bool(std::string name, char shorthand, std::string usage, bool def) {
  Flag f;
  f.bool_value = def;
  if (def) f.def = "true";
  f.name = std::move(name);
  f.shorthand = shorthand;
  f.type = FlagType::boolean;
  f.usage = std::move(usage);
  flags_.push_back(std::move(f));
}

void FlagSet::add_string(std::string name, char shorthand, std::string def, std::string usage,
                         std::string type_name) {
  Flag f;
  f.name = std::move(name);
  f.shorthand = shorthand;
  f.type = FlagType::string;
  f.usage = std::move(usage);
  f.def = def;
  f.str_value = std::move(def);
  f.type_name = std::move(type_name);
  flags_.push_back(std::move(f));
}

void FlagSet::add_list(std::string name, char shorthand, std::string usage, std::string type_name) {
  Flag f;
  f.name = std::move(name);
  f.shorthand = shorthand;
  f.type = FlagType::list;
  f.usage = std::move(usage);
  f.type_name = std::move(type_name);
  flags_.push_back(std::move(f));
}

void FlagSet::add_int(std::string name, char shorthand, int64_t def, std::string usage) {
  Flag f;
  f.name = std::move(name);
  f.shorthand = shorthand;
  f.type = FlagType::integer;
  f.usage = std::move(usage);
  f.int_value = def;
  f.def = def == 0 ? "" : std::to_string(def);
  f.type_name = "int";
  flags_.push_back(std::move(f));
}

void FlagSet::hide(std::string_view name) {
  if (Flag* f = find(name)) f->hidden = true;
}

Flag* FlagSet::find(std::string_view name) {
  for (auto& f : flags_)
    if (f.name == name) return &f;
  return nullptr;
}

const Flag* FlagSet::find(std::string_view name) const {
  for (const auto& f : flags_)
    if (f.name == name) return &f;
  return nullptr;
}

Flag* FlagSet::find_short(char c) {
  for (auto& f : flags_)
    if (f.shorthand == c) return &f;
  return nullptr;
}

Status FlagSet::set(Flag& f, std::string_view value) {
  auto invalid = [&](std::string why) {
    return flag_error("invalid argument \"" + std::string(value) + "\" for \"" + flag_label(f) + "\" flag: " + why);
  };
  switch (f.type) {
    case FlagType::boolean: {
      auto b = parse_go_bool(value);
      if (!b) return invalid("strconv.ParseBool: parsing \"" + std::string(value) + "\": invalid syntax");
      f.bool_value = *b;
      break;
    }
    case FlagType::string:
      f.str_value = std::string(value);
      break;
    case FlagType::list:
      f.list_value.emplace_back(value);
      break;
    case FlagType::integer: {
      auto n = str::parse_int(value);
      if (!n) {
        // strconv.ParseInt distinguishes syntax and range errors.
        bool digits = !value.empty();
        for (size_t i = 0; i < value.size(); ++i)
          if (!(value[i] >= '0' && value[i] <= '9') && !(i == 0 && (value[i] == '-' || value[i] == '+')))
            digits = false;
        return invalid("strconv.ParseInt: parsing \"" + std::string(value) + "\": " +
                       (digits ? "value out of range" : "invalid syntax"));
      }
      f.int_value = *n;
      break;
    }
  }
  f.changed = true;
  return ok();
}

Status FlagSet::parse(const std::vector<std::string>& in) {
  args_.clear();
  size_t i = 0;
  while (i < in.size()) {
    const std::string& s = in[i++];
    if (s.size() < 2 || s[0] != '-') {
      args_.push_back(s);
      if (!interspersed_) {
        args_.insert(args_.end(), in.begin() + static_cast<long>(i), in.end());
        return ok();
      }
      continue;
    }
    if (s[1] == '-') {
      if (s.size() == 2) {  // "--"
        args_.insert(args_.end(), in.begin() + static_cast<long>(i), in.end());
        return ok();
      }
      std::string_view body = std::string_view(s).substr(2);
      if (body.front() == '-' || body.front() == '=') return flag_error("bad flag syntax: " + s);
      size_t eq = body.find('=');
      std::string_view name = body.substr(0, eq);
      Flag* f = find(name);
      if (!f) return flag_error("unknown flag: --" + std::string(name));
      if (eq != std::string_view::npos) {
        BERTH_TRY_VOID(set(*f, body.substr(eq + 1)));
      } else if (f->type == FlagType::boolean) {
        BERTH_TRY_VOID(set(*f, "true"));
      } else if (i < in.size()) {
        BERTH_TRY_VOID(set(*f, in[i++]));
      } else {
        return flag_error("flag needs an argument: " + s);
      }
      continue;
    }
    // Shorthands: "-it", "-eX=1", "-e=X", "-e X".
    std::string_view shorts = std::string_view(s).substr(1);
    while (!shorts.empty()) {
      char c = shorts.front();
      Flag* f = find_short(c);
      if (!f) return flag_error(std::string("unknown shorthand flag: '") + c + "' in -" + std::string(shorts));
      if (shorts.size() > 2 && shorts[1] == '=') {
        BERTH_TRY_VOID(set(*f, shorts.substr(2)));
        shorts = {};
      } else if (f->type == FlagType::boolean) {
        BERTH_TRY_VOID(set(*f, "true"));
        shorts.remove_prefix(1);
      } else if (shorts.size() > 1) {
        BERTH_TRY_VOID(set(*f, shorts.substr(1)));
        shorts = {};
      } else if (i < in.size()) {
        BERTH_TRY_VOID(set(*f, in[i++]));
        shorts = {};
      } else {
        return flag_error(std::string("flag needs an argument: '") + c + "' in -" + std::string(shorts));
      }
    }
  }
  return ok();
}

bool FlagSet::get_bool(std::string_view name) const {
  const Flag* f = find(name);
  return f && f->bool_value;
}

const std::string& FlagSet::get_string(std::string_view name) const {
  static const std::string kEmpty;
  const Flag* f = find(name);
  return f ? f->str_value : kEmpty;
}

const std::vector<std::string>& FlagSet::get_list(std::string_view name) const {
  static const std::vector<std::string> kEmpty;
  const Flag* f = find(name);
  return f ? f->list_value : kEmpty;
}

int64_t FlagSet::get_int(std::string_view name) const {
  const Flag* f = find(name);
  return f ? f->int_value : 0;
}

bool FlagSet::changed(std::string_view name) const {
  const Flag* f = find(name);
  return f && f->changed;
}

std::string FlagSet::usages() const {
  std::vector<std::pair<std::string, std::string>> lines;
  size_t width = 0;
  std::vector<const Flag*> sorted;
  for (const auto& f : flags_)
    if (!f.hidden) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(), [](const Flag* a, const Flag* b) { return a->name < b->name; });
  for (const Flag* f : sorted) {
    std::string left = f->shorthand ? std::string("  -") + f->shorthand + ", --" + f->name : "      --" + f->name;
    if (f->type != FlagType::boolean) left += " " + f->type_name;
    std::string right = f->usage;
    if (!f->def.empty()) {
      right += f->type == FlagType::string ? " (default \"" + f->def + "\")" : " (default " + f->def + ")";
    }
    width = std::max(width, left.size());
    lines.emplace_back(std::move(left), std::move(right));
  }
  std::string out;
  for (auto& [l, r] : lines) {
    out += l;
    out.append(width - l.size() + 3, ' ');
    out += r;
    out += '\n';
  }
  return out;
}

}  // namespace berth::cli
