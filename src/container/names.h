// Container names and references: Docker's name rule, and the resolution of
// a user-given reference (full ID, name with or without '/', or a unique ID
// prefix) against the set of known containers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::container {

// Docker's rule: ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$. Returns the name with a
// leading '/' ("/x"), or Errc::invalid with Docker's message.
Result<std::string> validate_name(std::string_view name);

// Docker generates "adjective_surname" names when none is given.
std::string generate_name(const std::vector<std::string>& taken_names);

struct NameEntry {
  std::string id;    // 64 hex
  std::string name;  // "/x"
};

// Resolution order as moby's GetContainer: full ID, exact name, then a
// unique ID prefix. Not found or ambiguous prefix → Errc::not_found
// "No such container: <ref>".
Result<std::string> resolve_reference(std::string_view ref, const std::vector<NameEntry>& all);

}  // namespace berth::container
