// The Parzen estimators of the TPE sampler, after Optuna 3.1's
// _ParzenEstimator (a test compares their log densities with Optuna's on
// random cases; Optuna 3.1.0's own truncated-normal log-pdf never subtracts
// log(sigma), so its kernels integrate to sigma instead of 1 and wide kernels
// weigh more (upstream issue #5109); the comparison swaps in scipy's truncnorm).
// The estimator follows Optuna 3.1's _ParzenEstimator: one kernel per
// observation plus a prior kernel, weights = default_weights + prior_weight.
//   numeric dims live in an internal space (log for log-scaled; quantised
//   dims widened by half a step at each end, Optuna's parzen bounds) as
//   truncated normals; quantised dims (int, float with step) score the mass
//   of their bin [x - q/2, x + q/2] rather than a density;
//   bandwidths: univariate — the larger gap to the sorted neighbours (range
//   ends count; the outermost use their inner gap), multivariate — Scott's
//   rule 0.2 * n^(-1/(d+4)) * range; both clipped to [range/min(100, 1+n+1), range],
//   the prior's is the range;
//   categorical dims: per kernel, prior_weight/(n+1) on every choice plus 1 on
//   the observed one, normalised; the prior kernel is uniform.
// Multivariate: a candidate takes every dimension from one kernel, and its
// score sums the dimensions' log densities inside each kernel (a product kernel).
#pragma once

#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "tune/space.h"

namespace tf::tune {

// `x` snapped to the parameter's grid (int, step) and clipped to its range.
nlohmann::json quantize(const Param& p, double x);

// Optuna's default_weights: 1 each, with a linear ramp for all but the newest 25.
std::vector<double> default_weights(size_t n);

bool is_categorical(const Param& p);

// One dimension of the search space as the estimator sees it.
struct Dim {
  const Param* p;
  bool cat = false;
  double lo = 0, hi = 1, q = 0;  // internal bounds; q > 0: quantised
  explicit Dim(const Param& param);
  // A trial's value as an internal coordinate (a choice's index for categoricals), and back.
  double encode(const nlohmann::json& v) const;
  nlohmann::json decode(double u) const;
};

// Where the estimator departs from Optuna 3.1's; the defaults are Optuna's
// estimator with the normalised density (the `optuna_parzen` oracle's mode).
struct ParzenShape {
  // > 0 (tuning.tpe_prior_share): in the density that scores candidates, the
  // prior kernel holds this share of the mass and the observations' kernels
  // the rest, in their weights' proportions. A floor under both l(x) and g(x),
  // it keeps l/g from rewarding a candidate only for lying far from every bad
  // trial. Candidates are still drawn from the mixture's own weights.
  double prior_share = 0;
};

class Parzen {
 public:
  // `obs[i][d]`: observation i's internal coordinate in dimension d, oldest first.
  Parzen(const std::vector<Dim>& dims, const std::vector<std::vector<double>>& obs, bool multivariate,
         double prior_weight, const ParzenShape& shape = {});
  std::vector<double> sample(std::mt19937_64& rng) const;
  double log_pdf(const std::vector<double>& x) const;

 private:
  struct PerDim {
    std::vector<double> mus, sigmas, log_mass, log_rows;
  };
  std::vector<Dim> dims_;
  std::vector<double> logw_, weights_;  // scoring (log) and sampling weights
  std::vector<PerDim> per_dim_;
};

}  // namespace tf::tune
