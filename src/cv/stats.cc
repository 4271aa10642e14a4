#include "cv/stats.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace tf::cv {

namespace {
// Continued fraction of the incomplete beta function (modified Lentz).
double beta_cf(double a, double b, double x) {
  const double tiny = 1e-300, eps = 1e-15;
  double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < eps) break;
  }
  return h;
}
}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double ln_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return std::exp(ln_front) * beta_cf(a, b, x) / a;
  return 1 - std::exp(ln_front) * beta_cf(b, a, 1 - x) / b;
}

double student_t_two_sided_p(double t, double df) {
  if (!std::isfinite(t)) return 0;
  return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

PairedTest corrected_resampled_t_test(const std::vector<double>& a, const std::vector<double>& b, double n_train,
                                      double n_test) {
  TF_CHECK(a.size() == b.size() && a.size() >= 2, "the t-test needs the same number (>= 2) of folds for both models");
  const double k = static_cast<double>(a.size());
  PairedTest r;
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i], r.mean_diff += d[i];
  r.mean_diff /= k;
  double var = 0;
  for (double x : d) var += (x - r.mean_diff) * (x - r.mean_diff);
  var /= k - 1;
  r.df = k - 1;
  const double se = std::sqrt((1 / k + n_test / n_train) * var);
  if (se == 0) {
    r.t = r.mean_diff == 0 ? 0 : std::copysign(std::numeric_limits<double>::infinity(), r.mean_diff);
    r.p = r.mean_diff == 0 ? 1 : 0;
    return r;
  }
  r.t = r.mean_diff / se;
  r.p = student_t_two_sided_p(r.t, r.df);
  return r;
}

}  // namespace tf::cv
