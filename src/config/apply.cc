#include "config/apply.h"

namespace tf::config {

Config apply(const Config& base, const nlohmann::json& values) {
  nlohmann::json doc = base.doc();
  for (auto it = values.begin(); it != values.end(); ++it) doc[pointer(it.key())] = it.value();
  return Config::resolve(doc, "tuned config");
}

}  // namespace tf::config
