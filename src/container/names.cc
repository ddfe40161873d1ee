#include "container/names.h"

#include "common/id.h"

namespace berth::container {

namespace {
bool first_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool rest_char_ok(char c) { return first_char_ok(c) || c == '_' || c == '.' || c == '-'; }

// A small subset of moby's namesgenerator word lists.
constexpr const char* kLeft[] = {
    "admiring", "brave",   "clever",  "dazzling", "eager",   "festive", "gifted",  "happy",
    "jolly",    "keen",    "laughing", "modest",  "nifty",   "optimistic", "peaceful", "quirky",
    "relaxed",  "serene",  "trusting", "upbeat",  "vibrant", "wizardly", "youthful", "zealous"};
constexpr const char* kRight[] = {
    "albattani", "babbage", "curie",   "darwin",  "einstein", "feynman", "galileo", "hopper",
    "ishizaka",  "jepsen",  "knuth",   "lovelace", "mccarthy", "noether", "pasteur", "ritchie",
    "shannon",   "turing",  "varahamihira", "wozniak", "yalow", "zhukovsky", "lamport", "hamilton"};
}  // namespace

Result<std::string> validate_name(std::string_view name) {
  std::string_view n = name;
  if (!n.empty() && n.front() == '/') n.remove_prefix(1);
  bool good = n.size() >= 2 && first_char_ok(n[0]);
  for (size_t i = 1; good && i < n.size(); ++i) good = rest_char_ok(n[i]);
  if (!good)
    return make_error(Errc::invalid, "Invalid container name (" + std::string(name) +
                                         "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  return "/" + std::string(n);
}

std::string generate_name(const std::vector<std::string>& taken) {
  constexpr size_t nl = sizeof(kLeft) / sizeof(kLeft[0]);
  constexpr size_t nr = sizeof(kRight) / sizeof(kRight[0]);
  for (int attempt = 0;; ++attempt) {
    std::string h = random_hex_id(4);
    unsigned long v = std::stoul(h, nullptr, 16);
    std::string n = std::string(kLeft[v % nl]) + "_" + kRight[(v / nl) % nr];
    if (attempt >= 10) n += std::to_string(v % 100);
    bool clash = false;
    for (const auto& t : taken)
      if (t == "/" + n || t == n) clash = true;
    if (!clash) return n;
  }
}

Result<std::string> resolve_reference(std::string_view ref, const std::vector<NameEntry>& all) {
  auto missing = [&] { return make_error(Errc::not_found, "No such container: " + std::string(ref)); };
  if (ref.empty()) return missing();
  for (const auto& e : all)
    if (e.id == ref) return e.id;
  std::string want = ref.front() == '/' ? std::string(ref) : "/" + std::string(ref);
  for (const auto& e : all)
    if (e.name == want) return e.id;
  for (char c : ref)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return missing();
  const NameEntry* hit = nullptr;
  for (const auto& e : all) {
    if (e.id.compare(0, ref.size(), ref) == 0) {
      if (hit)
        return make_error(Errc::invalid,
                          "multiple IDs found with provided prefix: " + std::string(ref));
      hit = &e;
    }
  }
  if (!hit) return missing();
  return hit->id;
}

}  // namespace berth::container
