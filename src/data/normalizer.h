// Per-channel standardisation, fitted on training rows only and saved with
// the model (normalizer.json in the run folder).
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

#include "data/dataset.h"

namespace tf {

class Normalizer {
 public:
  // Mean and std of every channel over all rows and steps of `d`
  // (std of a constant channel is taken as 1).
  static Normalizer fit(const Dataset& d);
  static Normalizer identity(int64_t channels);

  void apply(Dataset& d) const;  // in place: (x - mean) / std
  nlohmann::json to_json() const;
  static Normalizer from_json(const nlohmann::json& j, const std::string& source);

  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& stddev() const { return std_; }

 private:
  std::vector<double> mean_, std_;
};

}  // namespace tf
