#include "container/restart.h"

namespace berth::container {

RestartPolicy restart_policy_of(const Json& hc) {
  RestartPolicy p;
  if (!hc.is_object()) return p;
  auto it = hc.find("RestartPolicy");
  if (it == hc.end() || !it->is_object()) return p;
  auto n = it->find("Name");
  if (n != it->end() && n->is_string() && !n->get<std::string>().empty()) p.name = n->get<std::string>();
  auto m = it->find("MaximumRetryCount");
  if (m != it->end() && m->is_number_integer()) p.max_retry = m->get<int>();
  return p;
}

Status check_restart_policy(Json& hc) {
  auto invalid = [](std::string m) { return make_error(Errc::invalid, std::move(m)); };
  Json rp = Json{{"Name", "no"}, {"MaximumRetryCount", 0}};
  if (auto it = hc.find("RestartPolicy"); it != hc.end() && !it->is_null()) {
    if (!it->is_object())
      return invalid("json: cannot unmarshal " + std::string(it->type_name()) +
                     " into Go struct field HostConfig.HostConfig.RestartPolicy of type container.RestartPolicy");
    auto n = it->find("Name");
    if (n != it->end() && !n->is_null() && !n->is_string())
      return invalid("json: cannot unmarshal " + std::string(n->type_name()) +
                     " into Go struct field RestartPolicy.HostConfig.RestartPolicy.Name of type container.RestartPolicyMode");
    auto m = it->find("MaximumRetryCount");
    if (m != it->end() && !m->is_null() && !m->is_number_integer())
      return invalid("json: cannot unmarshal " + std::string(m->type_name()) +
                     " into Go struct field RestartPolicy.HostConfig.RestartPolicy.MaximumRetryCount of type int");
    std::string name = n != it->end() && n->is_string() ? n->get<std::string>() : "";
    int max = m != it->end() && m->is_number_integer() ? m->get<int>() : 0;
    if (name == "always" || name == "unless-stopped" || name == "no") {
      if (max != 0)
        return invalid("maximum retry count cannot be used with restart policy '" + name + "'");
    } else if (name == "on-failure") {
      if (max < 0) return invalid("maximum retry count cannot be negative");
    } else if (!name.empty()) {
      return invalid("invalid restart policy '" + name + "'");
    }
    // dockerd stores an empty name as given; inspect shows "no" for absent.
    rp = Json{{"Name", name.empty() ? "no" : name}, {"MaximumRetryCount", max}};
  }
  bool auto_remove = hc.value("AutoRemove", Json(false)).is_boolean() && hc.value("AutoRemove", false);
  if (auto_remove && rp["Name"] != "no")
    return make_error(Errc::invalid, "can't create 'AutoRemove' container with restart policy");
  hc["RestartPolicy"] = rp;
  return ok();
}

std::optional<int64_t> RestartManager::should_restart(const RestartPolicy& p, int exit_code,
                                                      bool manually_stopped, int64_t ran_ns,
                                                      int restart_count) {
  if (p.name == "no" || p.name.empty()) return std::nullopt;
  if (ran_ns >= kResetAfterNs) delay_ns_ = 0;
  if (delay_ns_ == 0)
    delay_ns_ = kInitialDelayNs;
  else if (delay_ns_ < kMaxDelayNs)
    delay_ns_ *= 2;
  if (delay_ns_ > kMaxDelayNs) delay_ns_ = kMaxDelayNs;
  bool restart = false;
  if (p.name == "always") {
    restart = true;  // a user's stop cancels through the caller, not here
  } else if (p.name == "unless-stopped") {
    restart = !manually_stopped;
  } else if (p.name == "on-failure") {
    if (p.max_retry == 0 || restart_count < p.max_retry) restart = exit_code != 0;
  }
  if (!restart) return std::nullopt;
  return delay_ns_;
}

}  // namespace berth::container
