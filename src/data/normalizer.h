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
  // Per-channel sums, sums of squares and the value count of `d`, laid out
  // [sum_0..sum_{C-1}, sq_0..sq_{C-1}, count]: partial results that ranks
  // holding different rows add up (all-reduce) before from_sums().
  static std::vector<double> partial_sums(const Dataset& d);
  // Adds `d`'s sums to `sums` (empty: started), so that rows read in chunks
  // give the same sums, bit for bit, as partial_sums() of all of them.
  static void add_sums(const Dataset& d, std::vector<double>& sums);
  static Normalizer from_sums(const std::vector<double>& sums, int64_t channels);

  void apply(Dataset& d) const;  // in place: (x - mean) / std
  nlohmann::json to_json() const;
  static Normalizer from_json(const nlohmann::json& j, const std::string& source);

  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& stddev() const { return std_; }

 private:
  std::vector<double> mean_, std_;
};

}  // namespace tf
