#include <gtest/gtest.h>

#include "train/metrics.h"
#include "test_util.h"

namespace tf {

// Every metric against scikit-learn 1.2 on the same predictions
// (tests/reference/make_references.py, 25 random cases incl. missing classes).
TEST(Metrics, MatchScikitLearn) {
  auto cases = test::references()["metrics"];
  ASSERT_GE(cases.size(), 20u);
  for (const auto& c : cases) {
    ConfusionMatrix cm(4);
    cm.add_all(c["y_true"].get<std::vector<int64_t>>(), c["y_pred"].get<std::vector<int64_t>>());
    for (const char* m : {"accuracy", "precision_macro", "recall_macro", "f1_macro", "precision_weighted",
                          "recall_weighted", "f1_weighted", "balanced_accuracy", "leak_recall"})
      EXPECT_NEAR(cm.metric(m, 0), c[m].get<double>(), 1e-12) << m << " case " << c["y_true"].dump();
    auto pc = cm.per_class();
    for (int k = 0; k < 4; ++k) {
      EXPECT_NEAR(pc[k].precision, c["per_class"]["precision"][k].get<double>(), 1e-12);
      EXPECT_NEAR(pc[k].recall, c["per_class"]["recall"][k].get<double>(), 1e-12);
      EXPECT_NEAR(pc[k].f1, c["per_class"]["f1"][k].get<double>(), 1e-12);
      EXPECT_EQ(pc[k].support, c["per_class"]["support"][k].get<int64_t>());
      for (int j = 0; j < 4; ++j) EXPECT_EQ(cm.at(k, j), c["confusion_matrix"][k][j].get<int64_t>());
    }
  }
}

TEST(Metrics, CountsSurviveSummingAcrossRanks) {
  ConfusionMatrix a(3), b(3);
  a.add(0, 0);
  a.add(1, 2);
  b.add(2, 2);
  auto va = a.as_doubles(), vb = b.as_doubles();
  for (size_t i = 0; i < va.size(); ++i) va[i] += vb[i];
  auto sum = ConfusionMatrix::from_doubles(va, 3);
  EXPECT_EQ(sum.total(), 3);
  EXPECT_NEAR(sum.metric("accuracy"), 2.0 / 3.0, 1e-12);
}

TEST(Metrics, Direction) {
  EXPECT_FALSE(higher_is_better("val_loss"));
  EXPECT_FALSE(higher_is_better("loss"));
  EXPECT_TRUE(higher_is_better("val_f1_macro"));
  EXPECT_TRUE(higher_is_better("accuracy"));
}

}  // namespace tf
