// Fixed-length features of [T, C] windows for the classical models.
//
//   stats    per channel: mean, std, RMS, min, max, skewness, excess kurtosis,
//            zero-crossing rate (of the mean-removed signal) and
//            `fft_bands` log band energies (the one-sided power spectrum of
//            the mean-removed signal, zero-padded to a power of two, split
//            into equal-width bands; log1p of each band's mean power);
//   flatten  the raw window, T * C values.
// Each feature is then standardised with the mean and std of the training
// rows (fit()), which are saved with the model (to_json / from_json).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "data/dataset.h"

namespace tf {

class FeatureExtractor {
 public:
  FeatureExtractor() = default;
  explicit FeatureExtractor(const config::Config& cfg);  // model.features.*

  // Raw (unscaled) features of every row: [n, dim()] row-major.
  std::vector<double> raw(const Dataset& d) const;
  // Fits the standardisation on `train` and returns its scaled features.
  std::vector<double> fit_transform(const Dataset& train);
  // Scaled features (after fit).
  std::vector<double> transform(const Dataset& d) const;

  int64_t dim(int64_t steps, int64_t channels) const;
  std::vector<std::string> names(int64_t channels) const;  // stats only; flatten: x<t>_c<c>
  nlohmann::json to_json() const;
  static FeatureExtractor from_json(const nlohmann::json& j, const std::string& source);

 private:
  std::string kind_ = "stats";
  int64_t bands_ = 4;
  std::vector<double> mean_, scale_;
};

}  // namespace tf
