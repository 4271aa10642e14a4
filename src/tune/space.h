// Search spaces for tuning (`tuning.space`): any config key, by its dotted
// path, as a float (optionally log-scaled), an int (optional step, log) or a
// categorical; a parameter with `when: {path: value}` is active only when
// those keys have those values (e.g. lstm sizes only when model.name is lstm).
//
//   tuning:
//     space:
//       training.learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
//       training.batch_size:    {type: int, low: 16, high: 128, step: 16}
//       model.name:             {type: categorical, choices: [cnn1d, lstm]}
//       model.lstm.hidden_size: {type: int, low: 16, high: 128, when: {model.name: lstm}}
//       model.random_forest.max_depth: [5, 10, 20]   # a plain list: a categorical
//
// `values: [...]` on a float or int gives the grid sampler its points.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"

namespace tf::tune {

struct Param {
  enum class Kind { kFloat, kInt, kCategorical };
  std::string path;
  Kind kind = Kind::kFloat;
  double low = 0, high = 1, step = 0;
  bool log = false;
  std::vector<nlohmann::json> choices;  // categorical choices, or explicit grid values
  std::vector<std::pair<std::string, nlohmann::json>> when;
};
using Space = std::vector<Param>;

// Parses and checks `tuning.space` against the schema: every path must be a
// config key, and the extreme values must give a valid config. Parameters come
// in key order, those with a `when` last.
Space parse_space(const nlohmann::json& space, const config::Config& base);

// The parsed `tuning.space` of `cfg` ("auto": the suggested space of
// model.name); BadInput when it is empty or invalid. `tune` and `config
// --check` both call it.
Space space_of(const config::Config& cfg);

// A sensible space for a model type (mlp, cnn1d, lstm): `tune --suggest-space`.
nlohmann::json suggest_space(const std::string& model);

// Whether `p` is active for the values chosen so far (falling back to `base`).
bool active(const Param& p, const nlohmann::json& params, const config::Config& base);

// Grid points of a parameter (categorical choices, `values`, or int range by step).
std::vector<nlohmann::json> grid_values(const Param& p);

}  // namespace tf::tune
