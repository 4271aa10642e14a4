// Samplers behind one interface: grid (exhaustive, deterministic order),
// random (seeded per trial number, so a trial's values do not depend on which
// trials ran before; a finite space is sampled without replacement until every
// point has been tried), tpe (Tree-structured Parzen Estimator as in Optuna 3.1:
// n_startup_trials random trials, a gamma split of the finished trials into
// good and bad, Parzen estimators with a prior kernel and Optuna's "magic
// clip" bandwidths, n_ei_candidates drawn from the good estimator and the one
// maximising l(x)/g(x) kept; univariate by default, or multivariate — one
// joint estimator over the unconditional parameters). Trials still running
// count as bad ("constant liar"), so parallel groups do not all sample the
// same point.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"
#include "tune/parzen.h"
#include "tune/space.h"

namespace tf::tune {

struct TrialState {
  int64_t number = 0;
  std::string state = "running";  // running, complete, pruned, failed
  nlohmann::json params = nlohmann::json::object();
  double value = 0;                       // complete (and pruned: last reported)
  std::map<int64_t, double> intermediate;  // step -> value
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  // Values for trial `number`, given the other trials (finished and running).
  // `maximize`: the objective's direction.
  virtual nlohmann::json sample(const Space& space, const config::Config& base, const std::vector<TrialState>& trials,
                                int64_t number, bool maximize) = 0;
  // Total trials the sampler can produce (grid), or -1 for unbounded.
  virtual int64_t size(const Space&) const { return -1; }
};

struct TpeOptions {
  int64_t n_startup_trials = 10;
  int64_t n_ei_candidates = 24;
  double prior_weight = 1.0;
  bool constant_liar = true;
  bool multivariate = false;  // joint Parzen estimator over the unconditional parameters
  ParzenShape shape = {0.9};  // tune/parzen.h; tuning.tpe_prior_share
};

std::unique_ptr<Sampler> make_sampler(const std::string& name, uint64_t seed, const TpeOptions& tpe);

}  // namespace tf::tune
