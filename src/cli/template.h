// A subset of Go's text/template, as `--format` uses it, evaluated over
// decoded JSON:
//   literal text, {{.}}, {{.A.B.C}} (objects and maps), {{json .X}},
//   {{index .M "key"}} / {{index .A 0}}, {{len .X}}, {{upper/lower .S}},
//   {{join .List "sep"}}, pipelines {{.X | json}}, string/number literals,
//   trim markers {{- and -}}.
// Anything else (range, if, with, variables, printf, ...) is rejected at
// parse time with a clear error rather than rendered wrongly. Values print
// as Go's fmt %v prints the docker types: strings raw, numbers and bools,
// lists of scalars as "[a b]", label maps as "map[k:v]"; JSON objects that
// are Go structs and nulls of unknown Go type are errors (use json).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace berth::cli {

class Template {
 public:
  // Errors read "template parsing error: template: :1: ...".
  static Result<Template> parse(std::string_view text);
  // Errors read "template parsing error: template: :1:9: executing \"\" at
  // <.Config.Nope>: map has no entry for key \"Nope\"".
  Result<std::string> execute(const OrderedJson& data) const;

  struct Node;
  struct Arg;

 private:
  std::vector<std::shared_ptr<const Node>> nodes_;
  std::string src_;  // error positions refer to it
};

}  // namespace berth::cli
