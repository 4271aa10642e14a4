// The vocabulary around the schema (config/schema.h): value aliases, hints for
// names that are not keys (scikit-learn's and Keras's among them), and
// defaults derived from other keys.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "config/schema.h"

namespace tf::config {

// The value aliases of a key: {alias, choice}, e.g. tuning.sampler's {bayesian, tpe}.
const std::vector<std::pair<std::string, std::string>>& value_aliases(const std::string& path);

// A user value in the key's canonical form: a value alias replaced by its
// choice ("bayesian" -> "tpe"), a single string given for a list of strings
// wrapped in a list (cv.scoring: f1_weighted). Anything else is returned as is.
nlohmann::json normalize_value(const KeySpec& k, const nlohmann::json& v);

// A hint for a dotted path that is not a key (empty when there is none): the
// keys whose last part is the same name, model sections first ("C" -> "did
// you mean model.svm.C?"), the nearest knob for a scikit-learn or Keras name
// with no equivalent (min_samples_split), or where a misplaced key lives
// (training.class_weights -> class_weights).
std::string key_hint(const std::string& path);

// Defaults that depend on other keys, filled into a resolved document:
// tuning.objective "auto" becomes val_f1_macro when training.metrics lists
// f1_macro, else val_loss (logged when the config tunes).
void derive_defaults(nlohmann::json& doc);

}  // namespace tf::config
