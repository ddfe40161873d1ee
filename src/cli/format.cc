#include "cli/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace berth::cli {

namespace {

std::string sprintf_g(double v, int precision, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g%s", precision, v, unit);
  return buf;
}

// Length in bytes of the UTF-8 sequence starting with b (1 for invalid).
size_t utf8_len(unsigned char b) {
  if (b < 0x80) return 1;
  if ((b >> 5) == 0x6) return 2;
  if ((b >> 4) == 0xe) return 3;
  if ((b >> 3) == 0x1e) return 4;
  return 1;
}

bool valid_seq(std::string_view s, size_t i, size_t n) {
  if (n == 1) return static_cast<unsigned char>(s[i]) < 0x80;
  if (i + n > s.size()) return false;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
  return true;
}

const char kHex[] = "0123456789abcdef";

}  // namespace

std::string human_duration(int64_t nanos) {
  const int64_t sec = 1000000000LL;
  int64_t seconds = nanos / sec;
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return std::to_string(seconds) + " seconds";
  int64_t minutes = nanos / (60 * sec);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return std::to_string(minutes) + " minutes";
  // d.Round(time.Hour).Hours(): halfway rounds away from zero.
  const int64_t hour = 3600 * sec;
  int64_t hours = (nanos + hour / 2) / hour;
  if (hours == 1) return "About an hour";
  if (hours < 48) return std::to_string(hours) + " hours";
  if (hours < 24 * 7 * 2) return std::to_string(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return std::to_string(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24 / 30) + " months";
  return std::to_string(nanos / hour / 24 / 365) + " years";
}

std::string human_size(double size, int precision) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  size_t i = 0;
  while (size >= 1000.0 && i < std::size(kUnits) - 1) {
    size /= 1000.0;
    ++i;
  }
  return sprintf_g(size, precision, kUnits[i]);
}

std::string bytes_size(double size) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
  size_t i = 0;
  while (size >= 1024.0 && i < std::size(kUnits) - 1) {
    size /= 1024.0;
    ++i;
  }
  return sprintf_g(size, 4, kUnits[i]);
}

std::string go_strerror(int e) {
  std::string s = std::strerror(e);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z' && !(s.size() > 1 && s[1] >= 'A' && s[1] <= 'Z'))
    s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

size_t utf8_width(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  if (i == s.size()) return i;  // ASCII: one cell per byte
  size_t n = i;
  while (i < s.size()) {
    size_t l = utf8_len(static_cast<unsigned char>(s[i]));
    i += valid_seq(s, i, l) ? l : 1;
    ++n;
  }
  return n;
}

std::string TabWriter::str() const {
  // Go's text/tabwriter: every cell but the last of a line is
  // tab-terminated; a column block is a run of consecutive lines that have
  // a terminated cell in that column; its width is the widest cell plus
  // padding, at least minwidth. Formatting recurses column by column.
  // Each cell's display width is measured once (first_[l] indexes line l's
  // cells in width_), and the text is built in one string.
  std::vector<size_t> first(rows_.size() + 1);
  size_t bytes = 0;
  for (size_t l = 0; l < rows_.size(); ++l) {
    first[l + 1] = first[l] + rows_[l].size();
    for (const auto& c : rows_[l]) bytes += c.size();
  }
  std::vector<size_t> cell_width(first.back());
  for (size_t l = 0; l < rows_.size(); ++l)
    for (size_t j = 0; j < rows_[l].size(); ++j) cell_width[first[l] + j] = utf8_width(rows_[l][j]);
  std::string out;
  std::vector<size_t> widths;
  auto write_lines = [&](size_t from, size_t to) {
    for (size_t l = from; l < to; ++l) {
      const auto& line = rows_[l];
      for (size_t j = 0; j < line.size(); ++j) {
        out += line[j];
        if (j < widths.size() && j + 1 < line.size()) {
          size_t w = cell_width[first[l] + j];
          if (widths[j] > w) out.append(widths[j] - w, ' ');
        }
      }
      out += '\n';
    }
  };
  // Recursive lambda via explicit function object.
  struct Fmt {
    const TabWriter& tw;
    const std::vector<size_t>& first;
    const std::vector<size_t>& cell_width;
    std::vector<size_t>& widths;
    decltype(write_lines)& write;
    void operator()(size_t line0, size_t line1) {
      size_t column = widths.size();
      for (size_t cur = line0; cur < line1; ++cur) {
        if (column + 1 >= tw.rows_[cur].size()) continue;
        write(line0, cur);
        line0 = cur;
        size_t width = tw.minwidth_;
        for (; cur < line1; ++cur) {
          if (column + 1 >= tw.rows_[cur].size()) break;
          width = std::max(width, cell_width[first[cur] + column] + tw.padding_);
        }
        widths.push_back(width);
        (*this)(line0, cur);
        widths.pop_back();
        // `cur` has no cell in this column (or is line1); the loop's ++cur
        // skips it as Go's tabwriter does.
        line0 = cur;
      }
      write(line0, line1);
    }
  };
  Fmt fmt{*this, first, cell_width, widths, write_lines};
  // A first guess at the size: the cells plus minwidth and padding each.
  out.reserve(bytes + first.back() * (minwidth_ + padding_) + rows_.size());
  fmt(0, rows_.size());
  return out;
}

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t l = utf8_len(c);
    if (l > 1 && valid_seq(s, i, l)) {
      out.append(s.substr(i, l));
      i += l;
      continue;
    }
    ++i;
    switch (c) {
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string ellipsis(std::string_view s, size_t max) {
  if (max == 0) return "";
  if (utf8_width(s) <= max) return std::string(s);
  // Keep max-1 code points and add "…".
  size_t i = 0, n = 0;
  while (i < s.size() && n < max - 1) {
    size_t l = utf8_len(static_cast<unsigned char>(s[i]));
    i += valid_seq(s, i, l) ? l : 1;
    ++n;
  }
  return std::string(s.substr(0, i)) + "\xe2\x80\xa6";
}

std::string truncate_id(std::string_view id) {
  if (size_t colon = id.find(':'); colon != std::string_view::npos) id = id.substr(colon + 1);
  return std::string(id.substr(0, 12));
}

Result<std::string> json_indent(std::string_view src, std::string_view indent) {
  std::string out;
  out.reserve(src.size() * 2);
  int depth = 0;
  bool need_indent = false;
  auto newline = [&] {
    out += '\n';
    for (int d = 0; d < depth; ++d) out += indent;
  };
  std::vector<char> stack;
  for (size_t i = 0; i < src.size(); ++i) {
    char c = src[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    bool closing = c == '}' || c == ']';
    if (need_indent && !closing) {
      need_indent = false;
      ++depth;
      newline();
    }
    switch (c) {
      case '"': {
        size_t j = i + 1;
        for (; j < src.size(); ++j) {
          if (src[j] == '\\') {
            ++j;
            continue;
          }
          if (src[j] == '"') break;
        }
        if (j >= src.size()) return make_error(Errc::invalid, "unterminated string in JSON");
        out.append(src.substr(i, j - i + 1));
        i = j;
        break;
      }
      case '{':
      case '[':
        stack.push_back(c);
        need_indent = true;
        out += c;
        break;
      case ',':
        out += c;
        newline();
        break;
      case ':':
        out += ": ";
        break;
      case '}':
      case ']':
        if (stack.empty() || (c == '}') != (stack.back() == '{'))
          return make_error(Errc::invalid, "mismatched brackets in JSON");
        stack.pop_back();
        if (need_indent) {
          need_indent = false;
        } else {
          --depth;
          newline();
        }
        out += c;
        break;
      default:
        out += c;
    }
  }
  if (!stack.empty()) return make_error(Errc::invalid, "unterminated JSON value");
  return out;
}

std::string displayable_ports(const Json& ports) {
  struct Port {
    std::string ip, type;
    int64_t priv = 0, pub = 0;
  };
  std::vector<Port> ps;
  if (!ports.is_array()) return "";
  for (const auto& p : ports) {
    if (!p.is_object()) continue;
    ps.push_back({p.value("IP", ""), p.value("Type", ""), p.value("PrivatePort", int64_t{0}),
                  p.value("PublicPort", int64_t{0})});
  }
  std::sort(ps.begin(), ps.end(), [](const Port& a, const Port& b) {
    if (a.priv != b.priv) return a.priv < b.priv;
    if (a.ip != b.ip) return a.ip < b.ip;
    if (a.pub != b.pub) return a.pub < b.pub;
    return a.type < b.type;
  });
  auto form_group = [](const std::string& key, int64_t first, int64_t last) {
    size_t slash = key.find('/');
    std::string ip, type = key;
    if (slash != std::string::npos) {
      ip = key.substr(0, slash);
      type = key.substr(slash + 1);
    }
    std::string g = std::to_string(first);
    if (first != last) g += "-" + std::to_string(last);
    if (!ip.empty()) g = ip + ":" + g + "->" + g;
    return g + "/" + type;
  };
  struct Group {
    std::string key;
    int64_t first, last;
  };
  std::vector<Group> groups;  // in creation order
  std::vector<std::string> result, host_mappings;
  for (const auto& p : ps) {
    std::string key = p.type;
    if (!p.ip.empty()) {
      if (p.pub != p.priv) {
        std::string host = p.ip.find(':') != std::string::npos ? "[" + p.ip + "]" : p.ip;
        host_mappings.push_back(host + ":" + std::to_string(p.pub) + "->" + std::to_string(p.priv) + "/" + p.type);
        continue;
      }
      key = p.ip + "/" + p.type;
    }
    Group* g = nullptr;
    for (auto& x : groups)
      if (x.key == key) g = &x;
    if (!g) {
      groups.push_back({key, p.priv, p.priv});
      continue;
    }
    if (p.priv == g->last + 1) {
      g->last = p.priv;
      continue;
    }
    result.push_back(form_group(key, g->first, g->last));
    g->first = g->last = p.priv;
  }
  for (const auto& g : groups) result.push_back(form_group(g.key, g.first, g.last));
  result.insert(result.end(), host_mappings.begin(), host_mappings.end());
  std::string out;
  for (const auto& r : result) out += (out.empty() ? "" : ", ") + r;
  return out;
}

namespace {

void go_json_string(std::string* out, std::string_view s) {
  *out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t l = utf8_len(c);
    if (l > 1) {
      if (!valid_seq(s, i, l)) {
        *out += "\\ufffd";
        ++i;
        continue;
      }
      std::string_view seq = s.substr(i, l);
      if (seq == "\xe2\x80\xa8") *out += "\\u2028";
      else if (seq == "\xe2\x80\xa9") *out += "\\u2029";
      else out->append(seq);
      i += l;
      continue;
    }
    ++i;
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      case '<': *out += "\\u003c"; break;
      case '>': *out += "\\u003e"; break;
      case '&': *out += "\\u0026"; break;
      default:
        if (c < 0x20 || c >= 0x80) {
          *out += "\\u00";
          *out += kHex[c >> 4];
          *out += kHex[c & 15];
        } else {
          *out += static_cast<char>(c);
        }
    }
  }
  *out += '"';
}

void go_json_into(std::string* out, const OrderedJson& v) {
  switch (v.type()) {
    case OrderedJson::value_t::object: {
      *out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) *out += ',';
        first = false;
        go_json_string(out, it.key());
        *out += ':';
        go_json_into(out, it.value());
      }
      *out += '}';
      break;
    }
    case OrderedJson::value_t::array: {
      *out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) *out += ',';
        first = false;
        go_json_into(out, e);
      }
      *out += ']';
      break;
    }
    case OrderedJson::value_t::string:
      go_json_string(out, v.get_ref<const std::string&>());
      break;
    default:
      *out += v.dump();
  }
}

}  // namespace

std::string go_json(const OrderedJson& v) {
  std::string out;
  go_json_into(&out, v);
  return out;
}

}  // namespace berth::cli
