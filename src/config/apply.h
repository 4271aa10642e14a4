// Config overrides from data: the one helper that sets keys of a resolved
// config from a {dotted key: value} mapping (tuning trials, compare entries,
// retraining the best trial), validated like a config file.
#pragma once

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace tf::config {

// `base` with `values` ({"training.epochs": 5, ...}) applied, resolved and
// validated (BadInput naming the key on a bad value).
Config apply(const Config& base, const nlohmann::json& values);

}  // namespace tf::config
