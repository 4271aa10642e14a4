#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "data/dataset.h"
#include "data/h5io.h"
#include "data/normalizer.h"
#include "test_util.h"

namespace tf {

TEST(Dataset, StratifiedSplitKeepsProportionsAndIsDisjoint) {
  std::vector<int64_t> labels, rows;
  for (int i = 0; i < 1000; ++i) {
    labels.push_back(i % 10 < 7 ? 0 : i % 10 - 6);
    rows.push_back(i);
  }
  std::vector<int64_t> rest, held;
  stratified_split(labels, rows, 0.2, 5, &rest, &held);
  EXPECT_EQ(rest.size() + held.size(), 1000u);
  std::set<int64_t> all(rest.begin(), rest.end());
  for (auto h : held) EXPECT_EQ(all.count(h), 0u);
  std::vector<int> per(4, 0);
  for (auto h : held) per[labels[h]]++;
  EXPECT_EQ(per[0], 140);
  EXPECT_EQ(per[1], 20);
  std::vector<int64_t> rest2, held2;
  stratified_split(labels, rows, 0.2, 5, &rest2, &held2);
  EXPECT_EQ(held, held2);
  stratified_split(labels, rows, 0.2, 6, &rest2, &held2);
  EXPECT_NE(held, held2);
}

TEST(Normalizer, FitsOnGivenRowsOnlyAndStandardises) {
  Dataset d;
  d.n = 2;
  d.t = 3;
  d.c = 2;
  d.x = {1, 100, 2, 100, 3, 100, 4, 100, 5, 100, 6, 100};
  Normalizer z = Normalizer::fit(d);
  EXPECT_NEAR(z.mean()[0], 3.5, 1e-12);
  EXPECT_NEAR(z.stddev()[0], std::sqrt(17.5 / 6), 1e-12);
  EXPECT_NEAR(z.mean()[1], 100, 1e-12);
  EXPECT_EQ(z.stddev()[1], 1.0);  // constant channel
  z.apply(d);
  double s = 0;
  for (int i = 0; i < 6; ++i) s += d.x[2 * i];
  EXPECT_NEAR(s, 0, 1e-5);
  auto j = z.to_json();
  Normalizer back = Normalizer::from_json(j, "x");
  EXPECT_EQ(back.mean(), z.mean());
}

// The normaliser of a run comes from its training rows only: each rank reads
// its share of them from the file (read_h5 with a row list), the per-channel
// partial sums are added, and from_sums() turns them into mean and std. Held-out
// rows with extreme values must leave it untouched.
TEST(Normalizer, FittedOnASubsetOfRowsIgnoresTheOthers) {
  test::TempDir tmp;
  Dataset d;
  d.n = 6;
  d.t = 2;
  d.c = 2;
  d.num_classes = 2;
  d.y = {0, 1, 0, 1, 0, 1};
  for (int64_t i = 0; i < d.n; ++i)
    for (int64_t s = 0; s < d.t; ++s) {
      const bool held_out = i == 1 || i == 4;
      d.x.push_back(held_out ? 1000.f : static_cast<float>(i + s));  // channel 0
      d.x.push_back(held_out ? -500.f : static_cast<float>(2 * i));  // channel 1
    }
  write_h5(tmp / "d.h5", d);
  const std::vector<int64_t> train = {0, 2, 3, 5};
  // Two ranks' shares of the training rows, as the trainer reads them.
  std::vector<double> sums = Normalizer::partial_sums(read_h5(tmp / "d.h5", {0, 2}));
  const std::vector<double> other = Normalizer::partial_sums(read_h5(tmp / "d.h5", {3, 5}));
  for (size_t k = 0; k < sums.size(); ++k) sums[k] += other[k];
  const Normalizer z = Normalizer::from_sums(sums, d.c);
  // Expected, by hand over rows 0, 2, 3, 5: channel 0 holds i and i + 1, channel 1 holds 2i twice.
  const std::vector<double> c0 = {0, 1, 2, 3, 3, 4, 5, 6}, c1 = {0, 0, 4, 4, 6, 6, 10, 10};
  auto mean_sd = [](const std::vector<double>& v) {
    double m = 0, q = 0;
    for (double x : v) m += x / v.size();
    for (double x : v) q += (x - m) * (x - m) / v.size();
    return std::make_pair(m, std::sqrt(q));
  };
  EXPECT_NEAR(z.mean()[0], mean_sd(c0).first, 1e-9);
  EXPECT_NEAR(z.stddev()[0], mean_sd(c0).second, 1e-9);
  EXPECT_NEAR(z.mean()[1], mean_sd(c1).first, 1e-9);
  EXPECT_NEAR(z.stddev()[1], mean_sd(c1).second, 1e-9);
  // The same as fitting on those rows in memory, and unlike fitting on all rows.
  const Normalizer direct = Normalizer::fit(d.subset(train));
  EXPECT_NEAR(direct.mean()[0], z.mean()[0], 1e-9);
  EXPECT_NEAR(direct.stddev()[1], z.stddev()[1], 1e-9);
  EXPECT_GT(std::abs(Normalizer::fit(d).mean()[0] - z.mean()[0]), 100);
}

}  // namespace tf
