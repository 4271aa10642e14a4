#include "data/normalizer.h"

#include <cmath>

#include "core/error.h"

namespace tf {

Normalizer Normalizer::fit(const Dataset& d) {
  TF_CHECK(d.n > 0, "cannot fit a normaliser on an empty data set");
  Normalizer z;
  std::vector<double> sum(d.c, 0.0), sq(d.c, 0.0);
  // Two passes around a per-channel shift (the first value) keep the
  // variance accurate for channels with large offsets.
  std::vector<double> shift(d.c);
  for (int64_t c = 0; c < d.c; ++c) shift[c] = d.x[c];
  const int64_t rows = d.n * d.t;
  for (int64_t r = 0; r < rows; ++r) {
    const float* v = d.x.data() + r * d.c;
    for (int64_t c = 0; c < d.c; ++c) {
      double x = v[c] - shift[c];
      sum[c] += x;
      sq[c] += x * x;
    }
  }
  z.mean_.resize(d.c);
  z.std_.resize(d.c);
  for (int64_t c = 0; c < d.c; ++c) {
    double m = sum[c] / rows;
    double var = std::max(0.0, sq[c] / rows - m * m);
    z.mean_[c] = m + shift[c];
    z.std_[c] = var > 1e-24 ? std::sqrt(var) : 1.0;
  }
  return z;
}

Normalizer Normalizer::identity(int64_t channels) {
  Normalizer z;
  z.mean_.assign(channels, 0.0);
  z.std_.assign(channels, 1.0);
  return z;
}

void Normalizer::apply(Dataset& d) const {
  TF_CHECK_INPUT(static_cast<int64_t>(mean_.size()) == d.c,
                 d.source + ": data has " + std::to_string(d.c) + " channels but the model was trained on " +
                     std::to_string(mean_.size()));
  std::vector<float> m(d.c), inv(d.c);
  for (int64_t c = 0; c < d.c; ++c) {
    m[c] = static_cast<float>(mean_[c]);
    inv[c] = static_cast<float>(1.0 / std_[c]);
  }
  const int64_t rows = d.n * d.t;
  for (int64_t r = 0; r < rows; ++r) {
    float* v = d.x.data() + r * d.c;
    for (int64_t c = 0; c < d.c; ++c) v[c] = (v[c] - m[c]) * inv[c];
  }
}

nlohmann::json Normalizer::to_json() const { return {{"mean", mean_}, {"std", std_}}; }

Normalizer Normalizer::from_json(const nlohmann::json& j, const std::string& source) {
  Normalizer z;
  try {
    z.mean_ = j.at("mean").get<std::vector<double>>();
    z.std_ = j.at("std").get<std::vector<double>>();
  } catch (const std::exception& e) {
    throw BadInput(source + ": not a normaliser file (" + e.what() + ")", __FILE__, __LINE__);
  }
  TF_CHECK_INPUT(z.mean_.size() == z.std_.size(), source + ": mean and std differ in length");
  return z;
}

}  // namespace tf
