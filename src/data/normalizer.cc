#include "data/normalizer.h"

#include <cmath>

#include "core/error.h"

namespace tf {

std::vector<double> Normalizer::partial_sums(const Dataset& d) {
  std::vector<double> s(static_cast<size_t>(2 * d.c + 1), 0.0);
  add_sums(d, s);
  return s;
}

void Normalizer::add_sums(const Dataset& d, std::vector<double>& s) {
  if (s.empty()) s.assign(static_cast<size_t>(2 * d.c + 1), 0.0);
  TF_CHECK(static_cast<int64_t>(s.size()) == 2 * d.c + 1, "normaliser sums of another channel count");
  const int64_t rows = d.n * d.t;
  for (int64_t r = 0; r < rows; ++r) {
    const float* v = d.x.data() + r * d.c;
    for (int64_t c = 0; c < d.c; ++c) {
      double x = v[c];
      s[c] += x;
      s[d.c + c] += x * x;
    }
  }
  s[2 * d.c] += static_cast<double>(rows);
}

Normalizer Normalizer::from_sums(const std::vector<double>& s, int64_t channels) {
  TF_CHECK(static_cast<int64_t>(s.size()) == 2 * channels + 1 && s.back() > 0,
           "cannot fit a normaliser on an empty data set");
  Normalizer z;
  z.mean_.resize(channels);
  z.std_.resize(channels);
  const double n = s.back();
  for (int64_t c = 0; c < channels; ++c) {
    double m = s[c] / n;
    double var = std::max(0.0, s[channels + c] / n - m * m);
    z.mean_[c] = m;
    z.std_[c] = var > 1e-12 * std::max(1.0, m * m) ? std::sqrt(var) : 1.0;
  }
  return z;
}

Normalizer Normalizer::fit(const Dataset& d) {
  TF_CHECK(d.n > 0, "cannot fit a normaliser on an empty data set");
  return from_sums(partial_sums(d), d.c);
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
