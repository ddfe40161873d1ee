#include "container/storage_opt.h"

#include <map>

#include "snapshot/quota.h"

namespace berth::container {

Status apply_storage_opt(const Json& host_config, const std::string& data_root, const RootfsDirs& d) {
  auto it = host_config.find("StorageOpt");
  if (it == host_config.end() || !it->is_object() || it->empty()) return ok();
  std::map<std::string, std::string> opts;
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return make_error(Errc::invalid, "json: cannot unmarshal into Go struct field HostConfig.StorageOpt of type string");
    opts[k] = v.get<std::string>();
  }
  const bool supported = snapshot::project_quota_supported(data_root + "/overlay");
  auto so = BERTH_TRY(snapshot::parse_storage_opts(opts, supported));
  if (so.size_bytes == 0) return ok();
  return snapshot::set_project_quota({d.base, d.upper, d.work}, data_root + "/quota-projects", so.size_bytes);
}

}  // namespace berth::container
