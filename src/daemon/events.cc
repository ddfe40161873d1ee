#include "daemon/events.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "common/strings.h"
#include "common/time.h"

namespace berth::daemon {

namespace {

// Subscribers that do not read are cut off rather than grow without bound.
constexpr size_t kMaxQueued = 10000;

const std::vector<std::string>* values_of(const EventFilters& f, std::string_view key) {
  for (const auto& [k, v] : f)
    if (k == key && !v.empty()) return &v;
  return nullptr;
}

// filters.Args.ExactMatch: no values for the key → true.
bool exact(const EventFilters& f, std::string_view key, std::string_view source) {
  auto* v = values_of(f, key);
  if (!v) return true;
  return std::find(v->begin(), v->end(), source) != v->end();
}

// filters.Args.FuzzyMatch: exact, or the source starts with a value.
bool fuzzy(const EventFilters& f, std::string_view key, std::string_view source) {
  auto* v = values_of(f, key);
  if (!v) return true;
  for (const auto& x : *v)
    if (source == x || str::starts_with(source, x)) return true;
  return false;
}

std::string attr(const Event& e, const std::string& k) {
  auto it = e.attrs.find(k);
  return it == e.attrs.end() ? std::string() : it->second;
}

bool fuzzy_name(const Event& e, const EventFilters& f, std::string_view type) {
  if (!values_of(f, type)) return true;
  // A name filter only selects events of that type.
  if (e.type != type) return false;
  return fuzzy(f, type, e.id) || fuzzy(f, type, attr(e, "name"));
}

// "busybox:latest" → "busybox"; a digest or a registry port stays.
std::string strip_tag(const std::string& ref) {
  auto at = ref.find('@');
  if (at != std::string::npos) return ref.substr(0, at);
  auto colon = ref.rfind(':');
  auto slash = ref.rfind('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
    return ref.substr(0, colon);
  return ref;
}

bool match_image(const Event& e, const EventFilters& f) {
  if (!values_of(f, "image")) return true;
  std::string name = attr(e, e.type == "image" ? "name" : "image");
  return (!e.id.empty() && exact(f, "image", e.id)) || (!name.empty() && exact(f, "image", name)) ||
         (!e.id.empty() && exact(f, "image", strip_tag(e.id))) ||
         (!name.empty() && exact(f, "image", strip_tag(name)));
}

// label=key or label=key=value against the actor's attributes.
bool match_labels(const Event& e, const EventFilters& f) {
  auto* v = values_of(f, "label");
  if (!v) return true;
  for (const auto& want : *v) {
    auto eq = want.find('=');
    std::string k = want.substr(0, eq);
    auto it = e.attrs.find(k);
    if (it == e.attrs.end()) return false;
    if (eq != std::string::npos && it->second != want.substr(eq + 1)) return false;
  }
  return true;
}

bool match_event(const Event& e, const EventFilters& f) {
  auto* v = values_of(f, "event");
  if (!v) return true;
  // moby #25798: "health_status", "exec_create", "exec_start" match their
  // "action: detail" forms.
  for (const auto& x : *v)
    if (x == "health_status" || x == "exec_create" || x == "exec_start") return fuzzy(f, "event", e.action);
  return exact(f, "event", e.action);
}

}  // namespace

OrderedJson event_json(const Event& e) {
  OrderedJson j = OrderedJson::object();
  if (e.type == "container") {
    j["status"] = e.action;
    j["id"] = e.id;
    j["from"] = attr(e, "image");
  } else if (e.type == "image") {
    j["status"] = e.action;
    j["id"] = e.id;
  }
  j["Type"] = e.type;
  j["Action"] = e.action;
  OrderedJson attrs = OrderedJson::object();
  for (const auto& [k, v] : e.attrs) attrs[k] = v;
  j["Actor"] = OrderedJson{{"ID", e.id}, {"Attributes", std::move(attrs)}};
  j["scope"] = e.scope;
  j["time"] = e.time_nano / 1000000000;
  j["timeNano"] = e.time_nano;
  return j;
}

Status validate_event_filters(const EventFilters& f) {
  static const char* kKeys[] = {"config", "container", "daemon", "event", "image", "label", "network",
                                "node", "plugin", "scope", "secret", "service", "type", "volume"};
  for (const auto& [k, vals] : f) {
    bool known = false;
    for (const char* kk : kKeys) known |= k == kk;
    if (!known) return make_error(Errc::invalid, "invalid filter '" + k + "'");
    if (k == "scope")
      for (const auto& v : vals)
        if (v != "local" && v != "swarm")
          return make_error(Errc::invalid, "invalid filter 'scope=" + v + "'");
  }
  return ok();
}

bool event_matches(const Event& e, const EventFilters& f) {
  return match_event(e, f) && exact(f, "type", e.type) && exact(f, "scope", e.scope) &&
         fuzzy_name(e, f, "daemon") && fuzzy_name(e, f, "container") && fuzzy_name(e, f, "plugin") &&
         match_image(e, f) && match_labels(e, f) && fuzzy_name(e, f, "volume") &&
         fuzzy_name(e, f, "network") && fuzzy_name(e, f, "service") && fuzzy_name(e, f, "node") &&
         fuzzy_name(e, f, "secret") && fuzzy_name(e, f, "config");
}

EventBus::Subscription::Subscription() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void EventBus::Subscription::push(const Event& e) {
  std::lock_guard g(mu_);
  if (q_.size() >= kMaxQueued) {
    overflow_ = true;
  } else {
    q_.push_back(e);
  }
  uint64_t one = 1;
  (void)!::write(fd_.get(), &one, sizeof one);
}

std::vector<Event> EventBus::Subscription::drain() {
  std::lock_guard g(mu_);
  uint64_t v;
  (void)!::read(fd_.get(), &v, sizeof v);
  std::vector<Event> out(std::make_move_iterator(q_.begin()), std::make_move_iterator(q_.end()));
  q_.clear();
  return out;
}

void EventBus::publish(Event e) {
  if (e.time_nano == 0) e.time_nano = timeutil::now_unix_nano();
  std::lock_guard g(mu_);
  ring_.push_back(e);
  while (ring_.size() > capacity_) ring_.pop_front();
  for (auto& s : subs_) s->push(e);
}

EventBus::SubPtr EventBus::subscribe(int64_t since_ns, int64_t until_ns, bool live,
                                     std::vector<Event>* backlog) {
  std::lock_guard g(mu_);
  if (backlog && (since_ns || until_ns)) {
    for (const auto& e : ring_) {
      if (since_ns && e.time_nano < since_ns) continue;
      if (until_ns && e.time_nano > until_ns) continue;
      backlog->push_back(e);
    }
  }
  if (!live) return nullptr;
  auto s = std::make_shared<Subscription>();
  subs_.push_back(s);
  return s;
}

void EventBus::unsubscribe(const SubPtr& s) {
  std::lock_guard g(mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
}

size_t EventBus::size() {
  std::lock_guard g(mu_);
  return ring_.size();
}

}  // namespace berth::daemon
