#include "models/features.h"

#include <algorithm>
#include <cmath>
#include <complex>

#include "core/error.h"

namespace tf {

namespace {

constexpr int kStats = 8;  // mean, std, rms, min, max, skew, kurtosis, zero-crossing rate

// In-place iterative radix-2 FFT (size a power of two).
void fft(std::vector<std::complex<double>>& a) {
  const size_t n = a.size();
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    const double ang = -2 * M_PI / static_cast<double>(len);
    const std::complex<double> wl(std::cos(ang), std::sin(ang));
    for (size_t i = 0; i < n; i += len) {
      std::complex<double> w(1);
      for (size_t k = 0; k < len / 2; ++k) {
        auto u = a[i + k], v = a[i + k + len / 2] * w;
        a[i + k] = u + v;
        a[i + k + len / 2] = u - v;
        w *= wl;
      }
    }
  }
}

}  // namespace

FeatureExtractor::FeatureExtractor(const config::Config& cfg)
    : kind_(cfg.get_string("model.features.kind")), bands_(cfg.get_int("model.features.fft_bands")) {}

int64_t FeatureExtractor::dim(int64_t steps, int64_t channels) const {
  return kind_ == "flatten" ? steps * channels : channels * (kStats + bands_);
}

std::vector<std::string> FeatureExtractor::names(int64_t channels) const {
  static const char* stat[kStats] = {"mean", "std", "rms", "min", "max", "skew", "kurtosis", "zcr"};
  std::vector<std::string> out;
  for (int64_t c = 0; c < channels; ++c) {
    for (const char* s : stat) out.push_back("c" + std::to_string(c) + "_" + s);
    for (int64_t b = 0; b < bands_; ++b) out.push_back("c" + std::to_string(c) + "_band" + std::to_string(b));
  }
  return out;
}

std::vector<double> FeatureExtractor::raw(const Dataset& d) const {
  const int64_t D = dim(d.t, d.c);
  std::vector<double> out(static_cast<size_t>(d.n * D));
  if (kind_ == "flatten") {
    for (size_t i = 0; i < out.size(); ++i) out[i] = d.x[i];
    return out;
  }
  size_t nfft = 1;
  while (nfft < static_cast<size_t>(d.t)) nfft <<= 1;
  std::vector<double> sig(static_cast<size_t>(d.t));
  std::vector<std::complex<double>> spec(nfft);
  for (int64_t i = 0; i < d.n; ++i) {
    const float* w = d.row(i);
    for (int64_t c = 0; c < d.c; ++c) {
      double* f = out.data() + i * D + c * (kStats + bands_);
      double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
      for (int64_t t = 0; t < d.t; ++t) {
        const double v = w[t * d.c + c];
        sig[t] = v;
        sum += v;
        sq += v * v;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      const double n = static_cast<double>(d.t), mean = sum / n;
      double m2 = 0, m3 = 0, m4 = 0, zc = 0;
      for (int64_t t = 0; t < d.t; ++t) {
        const double z = sig[t] - mean;
        m2 += z * z;
        m3 += z * z * z;
        m4 += z * z * z * z;
        if (t > 0 && ((sig[t - 1] - mean) < 0) != (z < 0)) zc += 1;
      }
      m2 /= n, m3 /= n, m4 /= n;
      const double sd = std::sqrt(m2);
      f[0] = mean;
      f[1] = sd;
      f[2] = std::sqrt(sq / n);
      f[3] = lo;
      f[4] = hi;
      f[5] = sd > 0 ? m3 / (sd * sd * sd) : 0.0;
      f[6] = m2 > 0 ? m4 / (m2 * m2) - 3.0 : 0.0;
      f[7] = d.t > 1 ? zc / (n - 1) : 0.0;
      if (bands_ > 0) {
        std::fill(spec.begin(), spec.end(), std::complex<double>(0));
        for (int64_t t = 0; t < d.t; ++t) spec[t] = sig[t] - mean;
        fft(spec);
        const size_t half = nfft / 2 + 1;
        for (int64_t b = 0; b < bands_; ++b) {
          const size_t k0 = half * b / bands_, k1 = std::max(k0 + 1, half * (b + 1) / bands_);
          double p = 0;
          for (size_t k = k0; k < k1; ++k) p += std::norm(spec[k]) / (n * n);
          f[kStats + b] = std::log1p(p / static_cast<double>(k1 - k0));
        }
      }
    }
  }
  return out;
}

std::vector<double> FeatureExtractor::fit_transform(const Dataset& train) {
  std::vector<double> f = raw(train);
  const int64_t D = dim(train.t, train.c);
  TF_CHECK_INPUT(train.n > 0, "no training rows to fit the features on");
  mean_.assign(static_cast<size_t>(D), 0.0);
  scale_.assign(static_cast<size_t>(D), 0.0);
  for (int64_t i = 0; i < train.n; ++i)
    for (int64_t j = 0; j < D; ++j) mean_[j] += f[i * D + j];
  for (auto& m : mean_) m /= static_cast<double>(train.n);
  for (int64_t i = 0; i < train.n; ++i)
    for (int64_t j = 0; j < D; ++j) scale_[j] += (f[i * D + j] - mean_[j]) * (f[i * D + j] - mean_[j]);
  for (auto& s : scale_) {
    s = std::sqrt(s / static_cast<double>(train.n));
    if (!(s > 1e-12)) s = 1.0;  // constant feature: centred only (as scikit-learn's StandardScaler)
  }
  for (int64_t i = 0; i < train.n; ++i)
    for (int64_t j = 0; j < D; ++j) f[i * D + j] = (f[i * D + j] - mean_[j]) / scale_[j];
  return f;
}

std::vector<double> FeatureExtractor::transform(const Dataset& d) const {
  std::vector<double> f = raw(d);
  const int64_t D = dim(d.t, d.c);
  TF_CHECK(static_cast<int64_t>(mean_.size()) == D, "feature extractor used before fit, or on windows of another shape");
  for (int64_t i = 0; i < d.n; ++i)
    for (int64_t j = 0; j < D; ++j) f[i * D + j] = (f[i * D + j] - mean_[j]) / scale_[j];
  return f;
}

nlohmann::json FeatureExtractor::to_json() const {
  return {{"kind", kind_}, {"fft_bands", bands_}, {"mean", mean_}, {"scale", scale_}};
}

FeatureExtractor FeatureExtractor::from_json(const nlohmann::json& j, const std::string& source) {
  FeatureExtractor f;
  try {
    f.kind_ = j.at("kind").get<std::string>();
    f.bands_ = j.at("fft_bands").get<int64_t>();
    f.mean_ = j.at("mean").get<std::vector<double>>();
    f.scale_ = j.at("scale").get<std::vector<double>>();
  } catch (const std::exception& e) {
    throw BadInput(source + ": not a feature description (" + e.what() + ")", __FILE__, __LINE__);
  }
  return f;
}

}  // namespace tf
