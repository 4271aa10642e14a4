// The configuration schema: the single source of truth for every key the
// product reads. Parsing, validation, defaults, `trainfleet config
// --print-defaults` and the README's configuration reference are all derived
// from the table in schema.cc.
#pragma once

#include <nlohmann/json.hpp>

#include <limits>
#include <string>
#include <vector>

namespace tf::config {

enum class Type {
  kBool,
  kInt,
  kFloat,
  kString,
  kIntList,
  kFloatList,
  kStringList,
  kFloatOrList,    // a number, or a list of numbers (e.g. focal alpha per class)
  kOptionalFloat,  // a number or null
  kClassWeights,   // null, "balanced", or a map {class id or name: weight}
  kSearchSpace,    // null, "auto", or a map {config key: range}; checked by the tuner
  kFloatOrChoice,  // a number (range-checked) or one of `choices` (e.g. svm gamma: 0.01, "scale")
  kEntries,        // null or a map {name: {...}}; checked by the command that reads it (compare)
};

struct KeySpec {
  std::string path;  // dotted: "training.callbacks.early_stopping_patience"
  Type type;
  nlohmann::json def;
  std::string doc;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
  bool max_exclusive = false;
  std::vector<std::string> choices;  // allowed strings (for kString / kStringList)
};

// Every key, in documentation order.
const std::vector<KeySpec>& schema();

// The spec for a dotted path, or nullptr.
const KeySpec* find_key(const std::string& path);

// Human-readable type name ("integer", "list of numbers", ...).
std::string type_name(Type t);

// "integer >= 1", "one of adam, sgd", ... (empty when unconstrained).
std::string constraint_text(const KeySpec& k);

// Metric names that can be computed and monitored.
const std::vector<std::string>& metric_names();

}  // namespace tf::config
