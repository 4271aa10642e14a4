// Statistics for comparing models on the same cross-validation folds.
//
// The corrected resampled t-test of Nadeau & Bengio (2003): for k folds with
// per-fold score differences d_j between two models,
//   t = mean(d) / sqrt((1/k + n_test/n_train) * var(d)),  var with k-1 d.o.f.,
// and a two-sided p-value from Student's t with k-1 degrees of freedom. The
// n_test/n_train term corrects for the overlap of the training sets between
// folds, which makes the plain paired t-test far too eager to call a
// difference significant.
#pragma once

#include <vector>

namespace tf::cv {

// P(|T| >= |t|) for Student's t with `df` degrees of freedom.
double student_t_two_sided_p(double t, double df);

// The regularised incomplete beta function I_x(a, b).
double incomplete_beta(double a, double b, double x);

struct PairedTest {
  double mean_diff = 0;  // mean(a - b)
  double t = 0;
  double df = 0;
  double p = 1;
};

// `a`, `b`: scores of two models on the same folds (same order);
// `n_train`, `n_test`: rows used for training and testing per fold (means).
PairedTest corrected_resampled_t_test(const std::vector<double>& a, const std::vector<double>& b, double n_train,
                                      double n_test);

}  // namespace tf::cv
