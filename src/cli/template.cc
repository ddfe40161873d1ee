#include "cli/template.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/format.h"
#include "common/strings.h"

namespace berth::cli {

struct Template::Arg {
  enum class Kind { dot, field, string, number, func };
  Kind kind = Kind::dot;
  std::vector<std::string> fields;  // field chain segments
  std::vector<size_t> offsets;      // byte offset of each segment's '.'
  std::string text;                 // literal string, function name, or chain text
  int64_t number = 0;
  size_t offset = 0;
};

struct Template::Node {
  bool is_text = true;
  std::string text;
  std::vector<std::vector<Arg>> pipeline;  // commands separated by '|'
};

namespace {

using Arg = Template::Arg;
using Node = Template::Node;

Error parse_error(std::string_view src, size_t offset, std::string msg) {
  size_t line = 1 + static_cast<size_t>(std::count(src.begin(), src.begin() + static_cast<long>(offset), '\n'));
  return make_error(Errc::invalid, "template parsing error: template: :" + std::to_string(line) + ": " + msg);
}

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

constexpr std::string_view kFuncs[] = {"json", "index", "len", "upper", "lower", "join"};
constexpr std::string_view kUnsupported[] = {"range", "if", "with", "else", "end", "define", "template", "block",
                                              "break", "continue", "printf", "print", "println", "eq", "ne",
                                              "lt", "le", "gt", "ge", "and", "or", "not", "call", "html",
                                              "js", "urlquery", "slice", "split", "title", "pad", "truncate"};

// Parses one action body (between the delimiters, trim markers removed).
Result<std::vector<std::vector<Arg>>> parse_action(std::string_view src, size_t begin, size_t end) {
  std::vector<std::vector<Arg>> pipeline(1);
  size_t i = begin;
  while (i < end) {
    char c = src[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    if (c == '|') {
      if (pipeline.back().empty()) return parse_error(src, i, "missing command before '|'");
      pipeline.emplace_back();
      ++i;
      continue;
    }
    Arg a;
    a.offset = i;
    if (c == '"' || c == '`') {
      size_t j = i + 1;
      std::string val;
      for (; j < end && src[j] != c; ++j) {
        if (c == '"' && src[j] == '\\' && j + 1 < end) {
          char e = src[++j];
          switch (e) {
            case 'n': val += '\n'; break;
            case 't': val += '\t'; break;
            case 'r': val += '\r'; break;
            case '\\': val += '\\'; break;
            case '"': val += '"'; break;
            default: return parse_error(src, j, "unsupported escape sequence in string literal");
          }
          continue;
        }
        val += src[j];
      }
      if (j >= end) return parse_error(src, i, "unterminated quoted string");
      a.kind = Arg::Kind::string;
      a.text = std::move(val);
      i = j + 1;
    } else if (c == '.') {
      if (i + 1 >= end || !is_ident_char(src[i + 1])) {
        a.kind = Arg::Kind::dot;
        a.text = ".";
        ++i;
      } else {
        a.kind = Arg::Kind::field;
        while (i < end && src[i] == '.' && i + 1 < end && is_ident_char(src[i + 1])) {
          size_t j = i + 1;
          while (j < end && is_ident_char(src[j])) ++j;
          a.offsets.push_back(i);
          a.fields.emplace_back(src.substr(i + 1, j - i - 1));
          i = j;
        }
        a.text = std::string(src.substr(a.offset, i - a.offset));
        if (i < end && !is_space(src[i]) && src[i] != '|')
          return parse_error(src, i, std::string("unexpected \"") + src[i] + "\" in operand");
      }
    } else if ((c >= '0' && c <= '9') || c == '-') {
      size_t j = i + 1;
      while (j < end && src[j] >= '0' && src[j] <= '9') ++j;
      auto n = str::parse_int(src.substr(i, j - i));
      if (!n || (j < end && !is_space(src[j]) && src[j] != '|'))
        return parse_error(src, i, "unsupported number literal (only integers are supported)");
      a.kind = Arg::Kind::number;
      a.number = *n;
      i = j;
    } else if (is_ident_char(c)) {
      size_t j = i;
      while (j < end && is_ident_char(src[j])) ++j;
      std::string name(src.substr(i, j - i));
      if (std::find(std::begin(kUnsupported), std::end(kUnsupported), name) != std::end(kUnsupported))
        return parse_error(src, i, "unsupported template construct \"" + name +
                                       "\" (berth supports fields, json, index, len, upper, lower, join)");
      if (name == "true" || name == "false" || name == "nil")
        return parse_error(src, i, "unsupported literal \"" + name + "\"");
      if (std::find(std::begin(kFuncs), std::end(kFuncs), name) == std::end(kFuncs))
        return parse_error(src, i, "function \"" + name + "\" not defined");
      a.kind = Arg::Kind::func;
      a.text = std::move(name);
      i = j;
    } else if (c == '$') {
      return parse_error(src, i, "unsupported template construct: variables");
    } else if (c == '(') {
      return parse_error(src, i, "unsupported template construct: parenthesized pipelines");
    } else {
      return parse_error(src, i, std::string("unexpected \"") + c + "\" in command");
    }
    pipeline.back().push_back(std::move(a));
  }
  if (pipeline.back().empty()) return parse_error(src, begin, "missing value for command");
  for (const auto& cmd : pipeline) {
    if (cmd.front().kind != Arg::Kind::func && cmd.size() > 1)
      return parse_error(src, cmd[1].offset, "can't give argument to non-function " + cmd.front().text);
    for (size_t k = 1; k < cmd.size(); ++k)
      if (cmd[k].kind == Arg::Kind::func)
        return parse_error(src, cmd[k].offset, "unsupported template construct: nested function call");
  }
  return pipeline;
}

struct Exec {
  std::string_view src;

  Error exec_error(size_t offset, std::string_view node, std::string msg) const {
    size_t line_start = src.rfind('\n', offset == 0 ? 0 : offset - 1);
    line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
    if (offset < line_start) line_start = 0;
    size_t line = 1 + static_cast<size_t>(std::count(src.begin(), src.begin() + static_cast<long>(offset), '\n'));
    return make_error(Errc::invalid, "template parsing error: template: :" + std::to_string(line) + ":" +
                                         std::to_string(offset - line_start) + ": executing \"\" at <" +
                                         std::string(node) + ">: " + msg);
  }

  static OrderedJson::const_iterator find_key_ignoring_case(const OrderedJson& obj, const std::string& key) {
    auto lower = [](std::string_view x) {
      std::string o(x);
      for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return o;
    };
    const std::string want = lower(key);
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (lower(it.key()) == want) return it;
    return obj.end();
  }

  Result<OrderedJson> eval_arg(const Arg& a, const OrderedJson& dot) const {
    switch (a.kind) {
      case Arg::Kind::dot: return dot;
      case Arg::Kind::string: return OrderedJson(a.text);
      case Arg::Kind::number: return OrderedJson(a.number);
      case Arg::Kind::func: return exec_error(a.offset, a.text, "function used as a value");
      case Arg::Kind::field: {
        const OrderedJson* v = &dot;
        for (size_t k = 0; k < a.fields.size(); ++k) {
          const std::string& f = a.fields[k];
          if (v->is_object()) {
            auto it = v->find(f);
            // Docker's Go types name fields in Go style (APIVersion, ID)
            // while their JSON keys differ only in case (ApiVersion, Id);
            // the docker CLI's templates accept the Go names, so fall back
            // to a key that matches without regard to case.
            if (it == v->end()) it = find_key_ignoring_case(*v, f);
            if (it == v->end()) return exec_error(a.offsets[k], a.text, "map has no entry for key \"" + f + "\"");
            v = &*it;
          } else if (v->is_null()) {
            return exec_error(a.offsets[k], a.text, "nil pointer evaluating interface {}." + f);
          } else {
            return exec_error(a.offsets[k], a.text,
                              "can't evaluate field " + f + " in type " + std::string(v->type_name()));
          }
        }
        return *v;
      }
    }
    return OrderedJson();
  }

  Result<OrderedJson> call(const Arg& fn, const std::vector<OrderedJson>& args) const {
    auto arity = [&](size_t n) -> Status {
      if (args.size() != n)
        return exec_error(fn.offset, fn.text,
                          "error calling " + fn.text + ": wrong number of args: want " + std::to_string(n) +
                              " got " + std::to_string(args.size()));
      return ok();
    };
    if (fn.text == "json") {
      BERTH_TRY_VOID(arity(1));
      return OrderedJson(go_json(args[0]));
    }
    if (fn.text == "len") {
      BERTH_TRY_VOID(arity(1));
      const auto& v = args[0];
      if (v.is_string()) return OrderedJson(static_cast<int64_t>(v.get_ref<const std::string&>().size()));
      if (v.is_array() || v.is_object()) return OrderedJson(static_cast<int64_t>(v.size()));
      return exec_error(fn.offset, fn.text, "error calling len: len of type " + std::string(v.type_name()));
    }
    if (fn.text == "upper" || fn.text == "lower") {
      BERTH_TRY_VOID(arity(1));
      if (!args[0].is_string())
        return exec_error(fn.offset, fn.text, "wrong type for value; expected string; got " +
                                                  std::string(args[0].type_name()));
      std::string s = args[0].get<std::string>();
      for (auto& ch : s) {
        if (fn.text == "upper" && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
        if (fn.text == "lower" && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
      }
      return OrderedJson(s);
    }
    if (fn.text == "join") {
      BERTH_TRY_VOID(arity(2));
      if (!args[0].is_array() || !args[1].is_string())
        return exec_error(fn.offset, fn.text, "wrong type for value; expected []string");
      std::string out;
      bool first = true;
      for (const auto& e : args[0]) {
        if (!e.is_string()) return exec_error(fn.offset, fn.text, "wrong type for value; expected []string");
        if (!first) out += args[1].get<std::string>();
        first = false;
        out += e.get<std::string>();
      }
      return OrderedJson(out);
    }
    if (fn.text == "index") {
      if (args.empty()) return exec_error(fn.offset, fn.text, "error calling index: missing arguments");
      OrderedJson v = args[0];
      for (size_t k = 1; k < args.size(); ++k) {
        if (v.is_object()) {
          if (!args[k].is_string())
            return exec_error(fn.offset, fn.text, "error calling index: value has type int; should be string");
          auto it = v.find(args[k].get<std::string>());
          if (it == v.end()) {
            v = OrderedJson("");  // the zero value of map[string]string
          } else {
            OrderedJson next = *it;
            v = std::move(next);
          }
        } else if (v.is_array()) {
          if (!args[k].is_number_integer())
            return exec_error(fn.offset, fn.text, "error calling index: cannot index slice/array with type string");
          int64_t idx = args[k].get<int64_t>();
          if (idx < 0 || static_cast<size_t>(idx) >= v.size())
            return exec_error(fn.offset, fn.text,
                              "error calling index: index out of range: " + std::to_string(idx));
          OrderedJson next = v[static_cast<size_t>(idx)];
          v = std::move(next);
        } else {
          return exec_error(fn.offset, fn.text, "error calling index: can't index item of type " +
                                                    std::string(v.type_name()));
        }
      }
      return v;
    }
    return exec_error(fn.offset, fn.text, "function \"" + fn.text + "\" not defined");
  }
};

// Go's %v for a float64 (strconv 'g' with the shortest precision, %e when
// the exponent is < -4 or >= 21).
std::string go_float(double d) {
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  if (std::isnan(d)) return "NaN";
  char buf[64];
  int prec = 0;
  for (; prec < 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*e", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  const char* e = std::strchr(buf, 'e');
  int exp = e ? std::atoi(e + 1) : 0;
  if (exp < -4 || exp >= 21) {
    // Go prints at least two exponent digits, like C.
    std::snprintf(buf, sizeof buf, "%.*e", prec, d);
    return buf;
  }
  int decimals = std::max(prec - exp, 0);
  std::snprintf(buf, sizeof buf, "%.*f", decimals, d);
  return buf;
}

bool is_label_map_field(std::string_view name) {
  return name == "Labels" || name == "Options" || name == "DriverOpts" || name == "Data";
}

Result<std::string> print_value(const Exec& ex, const Arg& origin, const OrderedJson& v) {
  switch (v.type()) {
    case OrderedJson::value_t::string: return v.get<std::string>();
    case OrderedJson::value_t::boolean: return std::string(v.get<bool>() ? "true" : "false");
    case OrderedJson::value_t::number_integer: return std::to_string(v.get<int64_t>());
    case OrderedJson::value_t::number_unsigned: return std::to_string(v.get<uint64_t>());
    case OrderedJson::value_t::number_float: return go_float(v.get<double>());
    case OrderedJson::value_t::array: {
      std::string out = "[";
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ' ';
        first = false;
        if (e.is_object() || e.is_array() || e.is_null())
          return ex.exec_error(origin.offset, origin.text,
                               "berth cannot print a list of objects the way Go does; use {{json " +
                                   origin.text + "}}");
        out += BERTH_TRY(print_value(ex, origin, e));
      }
      return out + "]";
    }
    case OrderedJson::value_t::object: {
      if (origin.kind == Arg::Kind::field && is_label_map_field(origin.fields.back())) {
        std::vector<std::pair<std::string, std::string>> kv;
        for (auto it = v.begin(); it != v.end(); ++it) {
          if (!it.value().is_string())
            return ex.exec_error(origin.offset, origin.text, "berth cannot print this map; use {{json " + origin.text + "}}");
          kv.emplace_back(it.key(), it.value().get<std::string>());
        }
        std::sort(kv.begin(), kv.end());
        std::string out = "map[";
        for (size_t k = 0; k < kv.size(); ++k) {
          if (k) out += ' ';
          out += kv[k].first + ":" + kv[k].second;
        }
        return out + "]";
      }
      return ex.exec_error(origin.offset, origin.text,
                           "berth cannot print a structured value the way Go does; use {{json " + origin.text +
                               "}}");
    }
    case OrderedJson::value_t::null:
      return ex.exec_error(origin.offset, origin.text,
                           "value is null and its Go type is unknown to berth; use {{json " + origin.text + "}}");
    default:
      return ex.exec_error(origin.offset, origin.text, "unsupported value");
  }
}

}  // namespace

Result<Template> Template::parse(std::string_view text) {
  Template t;
  size_t i = 0;
  bool trim_next_text = false;
  while (i <= text.size()) {
    size_t open = text.find("{{", i);
    std::string_view lit = text.substr(i, open == std::string_view::npos ? std::string_view::npos : open - i);
    std::string l(lit);
    if (trim_next_text) {
      size_t k = 0;
      while (k < l.size() && is_space(l[k])) ++k;
      l.erase(0, k);
    }
    if (open == std::string_view::npos) {
      if (!l.empty()) t.nodes_.push_back(std::make_shared<Node>(Node{true, l, {}}));
      break;
    }
    size_t body = open + 2;
    bool trim_left = body + 1 < text.size() && text[body] == '-' && is_space(text[body + 1]);
    if (trim_left) {
      while (!l.empty() && is_space(l.back())) l.pop_back();
      body += 2;
    }
    if (!l.empty()) t.nodes_.push_back(std::make_shared<Node>(Node{true, l, {}}));
    // Find the closing delimiter outside string literals.
    size_t j = body;
    char quote = 0;
    for (; j + 1 < text.size(); ++j) {
      char c = text[j];
      if (quote) {
        if (c == '\\' && quote == '"') {
          ++j;
          continue;
        }
        if (c == quote) quote = 0;
        continue;
      }
      if (c == '"' || c == '`') {
        quote = c;
        continue;
      }
      if (c == '}' && text[j + 1] == '}') break;
    }
    if (j + 1 >= text.size()) return parse_error(text, open, "unclosed action");
    size_t body_end = j;
    trim_next_text = false;
    if (body_end >= 2 && text[body_end - 1] == '-' && is_space(text[body_end - 2]) && body_end - 2 >= body) {
      body_end -= 2;
      trim_next_text = true;
    }
    {
      std::string_view inner = text.substr(body, body_end - body);
      if (str::trim(inner).empty()) return parse_error(text, open, "missing value for command");
      if (str::starts_with(str::trim(inner), "/*")) return parse_error(text, open, "unsupported template construct: comments");
    }
    auto pipeline = BERTH_TRY(parse_action(text, body, body_end));
    Node n;
    n.is_text = false;
    n.pipeline = std::move(pipeline);
    t.nodes_.push_back(std::make_shared<Node>(std::move(n)));
    i = j + 2;
  }
  t.src_ = std::string(text);
  return t;
}

Result<std::string> Template::execute(const OrderedJson& data) const {
  Exec ex{src_};
  std::string out;
  for (const auto& n : nodes_) {
    if (n->is_text) {
      out += n->text;
      continue;
    }
    OrderedJson value;
    const Arg* origin = nullptr;
    bool have = false;
    for (const auto& cmd : n->pipeline) {
      const Arg& head = cmd.front();
      if (head.kind == Arg::Kind::func) {
        std::vector<OrderedJson> args;
        for (size_t k = 1; k < cmd.size(); ++k) args.push_back(BERTH_TRY(ex.eval_arg(cmd[k], data)));
        if (have) args.push_back(value);
        value = BERTH_TRY(ex.call(head, args));
      } else {
        if (have)
          return ex.exec_error(head.offset, head.text, "can't give argument to non-function " + head.text);
        value = BERTH_TRY(ex.eval_arg(head, data));
      }
      origin = &head;
      have = true;
    }
    // A function result is printed plainly; a field keeps its name for
    // error messages and map detection.
    Arg last = *origin;
    if (origin->kind == Arg::Kind::func) last.kind = Arg::Kind::string;
    out += BERTH_TRY(print_value(ex, last, value));
  }
  return out;
}

}  // namespace berth::cli
