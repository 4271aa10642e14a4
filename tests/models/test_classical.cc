// Window features and the classical models (XGBoost, LIBSVM).
#include <gtest/gtest.h>

#include <cmath>

#include "config/config.h"
#include "core/error.h"
#include "core/fs.h"
#include "data/synth.h"
#include "models/classical.h"
#include "models/features.h"
#include "test_util.h"

namespace tf {

namespace {
config::Config cfg_with(nlohmann::json extra) {
  nlohmann::json doc = nlohmann::json::object();
  doc.merge_patch(extra);
  return config::Config::resolve(doc);
}

// One window of 2 channels x 256 steps: a sine of 8 cycles, and a constant 3.
Dataset sine_window() {
  Dataset d;
  d.n = 1, d.t = 256, d.c = 2, d.num_classes = 1;
  d.y = {0};
  for (int t = 0; t < 256; ++t) {
    d.x.push_back(static_cast<float>(std::sin(2 * M_PI * 8 * t / 256.0)));
    d.x.push_back(3.0f);
  }
  return d;
}
}  // namespace

TEST(Features, StatisticsAndSpectrumOfKnownSignals) {
  FeatureExtractor fx(cfg_with({{"model", {{"features", {{"kind", "stats"}, {"fft_bands", 4}}}}}}));
  Dataset d = sine_window();
  ASSERT_EQ(fx.dim(256, 2), 24);
  auto f = fx.raw(d);
  ASSERT_EQ(f.size(), 24u);
  // sine: mean 0, std = rms = 1/sqrt(2), min -1, max 1, skew 0, kurtosis -1.5, 16 sign changes in 255 steps
  EXPECT_NEAR(f[0], 0.0, 1e-6);
  EXPECT_NEAR(f[1], 1 / std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(f[2], 1 / std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(f[3], -1.0, 1e-3);
  EXPECT_NEAR(f[4], 1.0, 1e-3);
  EXPECT_NEAR(f[5], 0.0, 1e-6);
  EXPECT_NEAR(f[6], -1.5, 1e-3);
  EXPECT_NEAR(f[7], 16.0 / 255.0, 1.5 / 255.0);
  // All the power sits at bin 8 of 129: the first of 4 bands.
  EXPECT_NEAR(f[8], std::log1p(0.25 / 32), 1e-9);  // |X_8|^2 / n^2 = 1/4, over band 0 = bins 0..31
  EXPECT_NEAR(f[9], 0.0, 1e-9);
  EXPECT_NEAR(f[10], 0.0, 1e-9);
  // constant channel: mean 3, no spread, no crossings, no power
  EXPECT_NEAR(f[12], 3.0, 1e-6);
  EXPECT_NEAR(f[13], 0.0, 1e-6);
  EXPECT_NEAR(f[19], 0.0, 1e-9);
  EXPECT_EQ(fx.names(2)[8], "c0_band0");
  FeatureExtractor flat(cfg_with({{"model", {{"features", {{"kind", "flatten"}}}}}}));
  EXPECT_EQ(flat.dim(256, 2), 512);
}

TEST(Features, StandardisedWithTrainingRowsOnlyAndSavedWithTheModel) {
  SynthOptions o;
  o.samples = 80;
  o.steps = 64;
  Dataset all = make_airleak_data(o);
  std::vector<int64_t> a, b;
  for (int64_t i = 0; i < all.n; ++i) (i < 60 ? a : b).push_back(i);
  Dataset train = all.subset(a), test = all.subset(b);
  FeatureExtractor fx(cfg_with(nlohmann::json::object()));
  auto ftr = fx.fit_transform(train);
  const int64_t D = fx.dim(64, all.c);
  for (int64_t j = 0; j < D; ++j) {  // training features: mean 0, std 1 (or constant)
    double m = 0, v = 0;
    for (int64_t i = 0; i < train.n; ++i) m += ftr[i * D + j];
    m /= train.n;
    for (int64_t i = 0; i < train.n; ++i) v += (ftr[i * D + j] - m) * (ftr[i * D + j] - m);
    EXPECT_NEAR(m, 0.0, 1e-9);
    EXPECT_TRUE(std::fabs(v / train.n - 1.0) < 1e-6 || v == 0.0);
  }
  auto restored = FeatureExtractor::from_json(fx.to_json(), "features.json");
  EXPECT_EQ(restored.transform(test), fx.transform(test));
  EXPECT_THROW(FeatureExtractor::from_json(nlohmann::json{{"kind", "stats"}}, "f.json"), BadInput);
}

class Classical : public ::testing::TestWithParam<std::string> {};

TEST_P(Classical, LearnsSeparableClassesAndSavesAndLoads) {
  // Three Gaussian blobs in 5-D.
  Features f;
  f.d = 5;
  std::vector<int64_t> y;
  uint64_t s = 12345;
  auto u = [&] {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((s >> 11) & ((1ULL << 53) - 1)) / static_cast<double>(1ULL << 53);
  };
  for (int i = 0; i < 300; ++i) {
    int c = i % 3;
    y.push_back(c);
    for (int j = 0; j < 5; ++j) f.x.push_back((j == c ? 3.0 : 0.0) + (u() - 0.5));
  }
  f.n = 300;
  auto cfg = cfg_with({{"model", {{"name", GetParam()}, {"random_forest", {{"n_estimators", 20}}},
                                  {"gradient_boosting", {{"n_estimators", 20}}}}}});
  auto m = make_classical(cfg, 1);
  m->fit(f, y, 3);
  auto pred = m->predict(f);
  int right = 0;
  for (int i = 0; i < 300; ++i) right += pred[i] == y[i];
  EXPECT_GE(right, 295) << GetParam();
  auto p = m->predict_proba(f);
  ASSERT_EQ(p.size(), 900u);
  for (int i = 0; i < 300; ++i) EXPECT_NEAR(p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2], 1.0, 1e-5);
  test::TempDir dir;
  const auto file = dir / ("model" + m->file_extension());
  m->save(file);
  auto again = make_classical(cfg, 1);
  again->load(file, 3);
  EXPECT_EQ(again->predict(f), pred);
  auto q = again->predict_proba(f);
  for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(q[i], p[i], 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Models, Classical, ::testing::Values("svm", "random_forest", "gradient_boosting"));

TEST(Classical, SvmGammaScaleIsScikitLearnsDefinition) {
  Features f;
  f.d = 2;
  f.n = 40;
  std::vector<int64_t> y;
  for (int i = 0; i < 40; ++i) {
    f.x.push_back(i % 2 ? 1.0 + 0.01 * i : -1.0 - 0.02 * i);
    f.x.push_back(0.5 * (i % 3));
    y.push_back(i % 2);
  }
  double mean = 0, var = 0;
  for (double v : f.x) mean += v;
  mean /= f.x.size();
  for (double v : f.x) var += (v - mean) * (v - mean);
  var /= f.x.size();
  auto scale = make_classical(cfg_with({{"model", {{"name", "svm"}, {"svm", {{"gamma", "scale"}}}}}}), 1);
  auto fixed = make_classical(cfg_with({{"model", {{"name", "svm"}, {"svm", {{"gamma", 1.0 / (2 * var)}}}}}}), 1);
  scale->fit(f, y, 2);
  fixed->fit(f, y, 2);
  EXPECT_EQ(scale->predict_proba(f), fixed->predict_proba(f));
  EXPECT_THROW(cfg_with({{"model", {{"svm", {{"gamma", "median"}}}}}}), BadInput);
  EXPECT_THROW(cfg_with({{"model", {{"svm", {{"gamma", -1.0}}}}}}), BadInput);
}

}  // namespace tf
