#include <gtest/gtest.h>

#include <cmath>

#include "data/synth.h"

namespace tf {

TEST(Synth, ShapeImbalanceGroupsAndDeterminism) {
  SynthOptions o;
  o.samples = 400;
  o.steps = 128;
  Dataset a = make_airleak_data(o);
  Dataset b = make_airleak_data(o);
  EXPECT_EQ(a.n, 400);
  EXPECT_EQ(a.t, 128);
  EXPECT_EQ(a.c, 9);
  EXPECT_EQ(a.num_classes, 4);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.y, b.y);
  auto counts = a.class_counts();
  EXPECT_GT(counts[0], 0.6 * a.n);
  EXPECT_LT(counts[0], 0.8 * a.n);
  for (int k = 1; k < 4; ++k) EXPECT_GT(counts[k], 0.05 * a.n);
  EXPECT_EQ(a.groups.size(), 400u);
  EXPECT_EQ(a.time.size(), 400u);
  for (size_t i = 1; i < a.time.size(); ++i) EXPECT_GT(a.time[i], a.time[i - 1]);
  for (float v : a.x) ASSERT_TRUE(std::isfinite(v));
  o.seed = 8;
  EXPECT_NE(make_airleak_data(o).x, a.x);
}

TEST(Synth, LeakAddsHighFrequencyEnergyOnAcousticChannels) {
  SynthOptions o;
  o.samples = 600;
  o.steps = 256;
  Dataset d = make_airleak_data(o);
  // mean squared first difference of channel 0, per class: grows with leak size
  std::vector<double> sum(4, 0), cnt(4, 0);
  for (int64_t i = 0; i < d.n; ++i) {
    double e = 0;
    for (int64_t t = 1; t < d.t; ++t) {
      double dv = d.row(i)[t * d.c] - d.row(i)[(t - 1) * d.c];
      e += dv * dv;
    }
    sum[d.y[i]] += e / (d.t - 1);
    cnt[d.y[i]] += 1;
  }
  for (int k = 1; k < 4; ++k) EXPECT_GT(sum[k] / cnt[k], sum[k - 1] / cnt[k - 1]) << "class " << k;
}

}  // namespace tf
