// Output formatting as the docker CLI does it: go-units durations and
// sizes, text/tabwriter tables, strconv.Quote, ID truncation, and Go's
// json.Indent / json.Marshal byte shapes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace berth::cli {

// go-units HumanDuration ("Less than a second", "About a minute", "3 hours").
std::string human_duration(int64_t nanos);
// go-units HumanSizeWithPrecision (decimal units B kB MB GB ...).
std::string human_size(double bytes, int precision = 3);
// go-units BytesSize (binary units with %.4g: "23.54GiB").
std::string bytes_size(double bytes);

// text/tabwriter with docker's table settings (minwidth, tabwidth 1,
// padding, pad char ' ', no flags): cells are separated by '\t'; the last
// cell of a line is not aligned. Widths count UTF-8 code points, as Go does.
class TabWriter {
 public:
  TabWriter(size_t minwidth, size_t padding) : minwidth_(minwidth), padding_(padding) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  // A line with no cells to align (ends the current column block).
  void text(std::string line) { rows_.push_back({std::move(line)}); }
  std::string str() const;

 private:
  size_t minwidth_, padding_;
  std::vector<std::vector<std::string>> rows_;
};

size_t utf8_width(std::string_view s);
// Go's strconv.Quote for valid UTF-8 text.
std::string go_quote(std::string_view s);
// docker's formatter.Ellipsis: truncate to max code points, ending in "…".
std::string ellipsis(std::string_view s, size_t max);
// stringid.TruncateID: drop "sha256:" and keep 12 characters.
std::string truncate_id(std::string_view id);

// errno text as Go's syscall.Errno prints it ("no such file or directory").
std::string go_strerror(int e);

// docker's DisplayablePorts for `ps`: ports sorted, consecutive unpublished
// (or same-number published) ports grouped into ranges, then host mappings:
// "80-81/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp".
std::string displayable_ports(const Json& ports);

// Go's json.Indent(dst, src, "", indent): re-indents raw JSON bytes without
// re-encoding strings or numbers. Errc::invalid on malformed input.
Result<std::string> json_indent(std::string_view src, std::string_view indent);
// Go's json.Marshal shape for a decoded value: compact, "<>&" and U+2028/9
// escaped as \u003c..., keys in the given order.
std::string go_json(const OrderedJson& v);

}  // namespace berth::cli
