#include <gtest/gtest.h>

#include <set>

#include "data/dataset.h"
#include "data/normalizer.h"

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

}  // namespace tf
