// The corrected resampled t-test and the Student t distribution behind it
// (python3-scipy checks them on real compare output: tests/cv/test_compare_scipy.py).
#include <gtest/gtest.h>

#include <cmath>

#include "cv/stats.h"

namespace tf::cv {

TEST(Stats, IncompleteBetaAndStudentT) {
  EXPECT_NEAR(incomplete_beta(2, 3, 0.5), 0.6875, 1e-12);  // 11/16
  EXPECT_NEAR(incomplete_beta(1, 1, 0.3), 0.3, 1e-12);
  // Two-sided p of Student's t (values from scipy.stats.t.sf * 2).
  EXPECT_NEAR(student_t_two_sided_p(2.0, 4), 0.11611652351681556, 1e-10);
  EXPECT_NEAR(student_t_two_sided_p(-3.5, 9), 0.006723515763058952, 1e-10);
  EXPECT_NEAR(student_t_two_sided_p(0.0, 4), 1.0, 1e-12);
  EXPECT_NEAR(student_t_two_sided_p(1.0, 1), 0.5, 1e-12);  // Cauchy
}

TEST(Stats, CorrectedTestIsMoreCautiousThanThePairedOne) {
  std::vector<double> a = {0.81, 0.84, 0.80, 0.86, 0.83}, b = {0.78, 0.80, 0.79, 0.81, 0.80};
  PairedTest t = corrected_resampled_t_test(a, b, 400, 100);
  PairedTest plain = corrected_resampled_t_test(a, b, 1e300, 0);  // n_test/n_train -> 0: the plain paired t-test
  EXPECT_NEAR(t.mean_diff, 0.032, 1e-12);
  EXPECT_EQ(t.df, 4);
  EXPECT_GT(t.p, plain.p);
  EXPECT_NEAR(plain.t / t.t, std::sqrt((0.2 + 0.25) / 0.2), 1e-9);
  PairedTest swapped = corrected_resampled_t_test(b, a, 400, 100);
  EXPECT_NEAR(swapped.p, t.p, 1e-15);
  EXPECT_NEAR(swapped.t, -t.t, 1e-12);
  PairedTest same = corrected_resampled_t_test(a, a, 400, 100);
  EXPECT_EQ(same.p, 1.0);
}

}  // namespace tf::cv
