#include "tune/sampler.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "core/registry.h"

namespace tf::tune {

namespace {

using nlohmann::json;

uint64_t mix(uint64_t a, uint64_t b) {  // splitmix64 of a combined seed
  uint64_t z = a * 0x9E3779B97F4A7C15ULL + b + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double to_internal(const Param& p, double x) { return p.log ? std::log(x) : x; }
double from_internal(const Param& p, double u) { return p.log ? std::exp(u) : u; }

json finish(const Param& p, double x) {
  if (p.kind == Param::Kind::kInt) {
    double step = p.step > 0 ? p.step : 1.0;
    double v = std::round((x - p.low) / step) * step + p.low;
    v = std::min(std::max(v, p.low), p.high);
    return static_cast<int64_t>(std::llround(v));
  }
  if (p.step > 0) x = std::min(p.high, std::max(p.low, std::round((x - p.low) / p.step) * p.step + p.low));
  return x;
}

json random_value(const Param& p, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> U(0.0, 1.0);
  if (p.kind == Param::Kind::kCategorical || !p.choices.empty())
    return p.choices[static_cast<size_t>(U(rng) * p.choices.size()) % p.choices.size()];
  double lo = p.low, hi = p.high;
  if (p.kind == Param::Kind::kInt && !p.log) {
    lo -= 0.5;
    hi += 0.5;
  }
  double u = to_internal(p, lo) + U(rng) * (to_internal(p, hi) - to_internal(p, lo));
  return finish(p, from_internal(p, u));
}

class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(uint64_t seed) : seed_(seed) {}
  json sample(const Space& space, const config::Config& base, const std::vector<TrialState>&, int64_t number,
              bool) override {
    std::mt19937_64 rng(mix(seed_, static_cast<uint64_t>(number)));
    json out = json::object();
    for (const auto& p : space) {
      json v = random_value(p, rng);  // drawn even when inactive, so later values keep their stream position
      if (active(p, out, base)) out[p.path] = v;
    }
    return out;
  }

 private:
  uint64_t seed_;
};

class GridSampler : public Sampler {
 public:
  json sample(const Space& space, const config::Config& base, const std::vector<TrialState>&, int64_t number,
              bool) override {
    json out = json::object();
    int64_t rest = number;  // mixed-radix digits; the last parameter varies fastest
    std::vector<std::vector<json>> values;
    for (const auto& p : space) values.push_back(grid_values(p));
    std::vector<size_t> pick(space.size());
    for (size_t i = space.size(); i-- > 0;) {
      pick[i] = static_cast<size_t>(rest % static_cast<int64_t>(values[i].size()));
      rest /= static_cast<int64_t>(values[i].size());
    }
    for (size_t i = 0; i < space.size(); ++i)
      if (active(space[i], out, base)) out[space[i].path] = values[i][pick[i]];
    return out;
  }
  int64_t size(const Space& space) const override {
    int64_t n = 1;
    for (const auto& p : space) {
      auto v = grid_values(p);
      if (v.empty())
        throw BadInput("tuning.space." + p.path + ": the grid sampler needs finite values (a step, values: [...], "
                                                   "or a categorical)",
                       __FILE__, __LINE__);
      n *= static_cast<int64_t>(v.size());
    }
    return n;
  }
};

// ---------------------------------------------------------------- TPE
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
struct Obs {
  double loss;  // sign-adjusted objective: lower is better; running or pruned trials: +inf
  const json* params;
  int64_t number;
};

std::vector<double> default_weights(size_t n) {  // Optuna's: recent trials weigh more past 25
  std::vector<double> w(n, 1.0);
  if (n >= 25) {
    size_t ramp = n - 25;
    for (size_t i = 0; i < ramp; ++i) w[i] = ramp > 1 ? 1.0 / n + (1.0 - 1.0 / n) * i / (ramp - 1) : 1.0 / n;
  }
  return w;
}

bool is_categorical(const Param& p) { return p.kind == Param::Kind::kCategorical || !p.choices.empty(); }

// One dimension of the search space as the estimator sees it.
struct Dim {
  const Param* p;
  bool cat = false;
  double lo = 0, hi = 1, q = 0;  // internal bounds; q > 0: quantised
  explicit Dim(const Param& param) : p(&param), cat(is_categorical(param)) {
    if (cat) return;
    const double step = param.step > 0 ? param.step : (param.kind == Param::Kind::kInt ? 1.0 : 0.0);
    if (param.log) {
      const double half = param.kind == Param::Kind::kInt ? 0.5 : 0.0;
      lo = std::log(param.low - half);
      hi = std::log(param.high + half);
    } else {
      q = step;
      lo = param.low - 0.5 * q;
      hi = param.high + 0.5 * q;
    }
  }
  // A value of the trial's params as an internal coordinate (a choice's index for categoricals).
  double encode(const json& v) const {
    if (cat) {
      for (size_t c = 0; c < p->choices.size(); ++c)
        if (p->choices[c] == v) return static_cast<double>(c);
      return -1;
    }
    const double x = v.get<double>();
    return p->log ? std::log(x) : x;
  }
  json decode(double u) const {
    if (cat) return p->choices[static_cast<size_t>(u)];
    return finish(*p, p->log ? std::exp(u) : u);
  }
};

double norm_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

class Parzen {
 public:
  Parzen(const std::vector<Dim>& dims, const std::vector<std::vector<double>>& obs, bool multivariate,
         double prior_weight)
      : dims_(dims) {
    const size_t n = obs.size(), m = n + 1;
    std::vector<double> w = default_weights(n);
    w.push_back(prior_weight);
    double wsum = 0;
    for (double x : w) wsum += x;
    for (double x : w) logw_.push_back(std::log(x / wsum));
    weights_.resize(m);
    for (size_t k = 0; k < m; ++k) weights_[k] = w[k] / wsum;
    const double sigma0 = 0.2 * std::pow(static_cast<double>(std::max<size_t>(n, 1)), -1.0 / (dims.size() + 4.0));
    per_dim_.resize(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) {
      auto& pd = per_dim_[d];
      const Dim& dim = dims[d];
      if (dim.cat) {
        const size_t k = dim.p->choices.size();
        pd.log_rows.assign(m * k, 0.0);
        const double base = prior_weight / static_cast<double>(m);
        for (size_t i = 0; i < m; ++i) {
          std::vector<double> row(k, base);
          if (i < n && obs[i][d] >= 0) row[static_cast<size_t>(obs[i][d])] += 1.0;
          double rs = 0;
          for (double x : row) rs += x;
          for (size_t c = 0; c < k; ++c) pd.log_rows[i * k + c] = std::log(row[c] / rs);
        }
        continue;
      }
      const double range = dim.hi - dim.lo;
      pd.mus.resize(m);
      for (size_t i = 0; i < n; ++i) pd.mus[i] = obs[i][d];
      pd.mus[n] = 0.5 * (dim.lo + dim.hi);
      pd.sigmas.assign(m, sigma0 * range);
      if (!multivariate) {
        std::vector<size_t> order(m);
        for (size_t i = 0; i < m; ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return pd.mus[a] < pd.mus[b]; });
        std::vector<double> ends{dim.lo};
        for (size_t i : order) ends.push_back(pd.mus[i]);
        ends.push_back(dim.hi);
        std::vector<double> sorted(m);
        for (size_t i = 0; i < m; ++i) sorted[i] = std::max(ends[i + 1] - ends[i], ends[i + 2] - ends[i + 1]);
        if (ends.size() >= 4) {
          sorted[0] = ends[2] - ends[1];
          sorted[m - 1] = ends[m] - ends[m - 1];
        }
        for (size_t i = 0; i < m; ++i) pd.sigmas[order[i]] = sorted[i];
      }
      const double min_sigma = range / std::min(100.0, 1.0 + static_cast<double>(m));
      for (double& sg : pd.sigmas) sg = std::min(std::max(sg, min_sigma), range);
      pd.sigmas[n] = range;
      pd.log_mass.resize(m);
      for (size_t i = 0; i < m; ++i) {
        double mass = norm_cdf((dim.hi - pd.mus[i]) / pd.sigmas[i]) - norm_cdf((dim.lo - pd.mus[i]) / pd.sigmas[i]);
        pd.log_mass[i] = std::log(std::max(mass, 1e-300));
      }
    }
  }

  // One candidate: a kernel by weight, then every dimension from that kernel.
  std::vector<double> sample(std::mt19937_64& rng) const {
    std::discrete_distribution<size_t> pick(weights_.begin(), weights_.end());
    const size_t k = pick(rng);
    std::vector<double> x(dims_.size());
    std::uniform_real_distribution<double> U(0.0, 1.0);
    for (size_t d = 0; d < dims_.size(); ++d) {
      const auto& pd = per_dim_[d];
      if (dims_[d].cat) {
        const size_t nc = dims_[d].p->choices.size();
        double u = U(rng), acc = 0;
        size_t c = 0;
        for (; c + 1 < nc; ++c) {
          acc += std::exp(pd.log_rows[k * nc + c]);
          if (u < acc) break;
        }
        x[d] = static_cast<double>(c);
        continue;
      }
      std::normal_distribution<double> N(pd.mus[k], pd.sigmas[k]);
      double v = std::min(dims_[d].hi, std::max(dims_[d].lo, pd.mus[k]));
      for (int tries = 0; tries < 1000; ++tries) {
        double t = N(rng);
        if (t >= dims_[d].lo && t <= dims_[d].hi) {
          v = t;
          break;
        }
      }
      // Quantised: the value a trial would get, so that its bin is scored.
      if (dims_[d].q > 0)
        v = std::min(dims_[d].p->high, std::max(dims_[d].p->low, std::round((v - dims_[d].p->low) / dims_[d].q) *
                                                                          dims_[d].q + dims_[d].p->low));
      x[d] = v;
    }
    return x;
  }

  double log_pdf(const std::vector<double>& x) const {
    const size_t m = logw_.size();
    std::vector<double> comp(logw_);
    for (size_t d = 0; d < dims_.size(); ++d) {
      const auto& pd = per_dim_[d];
      const Dim& dim = dims_[d];
      if (dim.cat) {
        const size_t nc = dim.p->choices.size(), c = static_cast<size_t>(x[d]);
        for (size_t k = 0; k < m; ++k) comp[k] += pd.log_rows[k * nc + c];
        continue;
      }
      if (dim.q > 0) {
        const double ub = std::min(x[d] + dim.q / 2, dim.hi), lb = std::max(x[d] - dim.q / 2, dim.lo);
        for (size_t k = 0; k < m; ++k) {
          double mass = norm_cdf((ub - pd.mus[k]) / pd.sigmas[k]) - norm_cdf((lb - pd.mus[k]) / pd.sigmas[k]);
          comp[k] += std::log(std::max(mass, 1e-300)) - pd.log_mass[k];
        }
      } else {
        for (size_t k = 0; k < m; ++k) {
          const double z = (x[d] - pd.mus[k]) / pd.sigmas[k];
          comp[k] += -0.5 * z * z - std::log(pd.sigmas[k] * std::sqrt(2 * M_PI)) - pd.log_mass[k];
        }
      }
    }
    double best = -INFINITY;
    for (double c : comp) best = std::max(best, c);
    double s = 0;
    for (double c : comp) s += std::exp(c - best);
    return best + std::log(s);
  }

 private:
  struct PerDim {
    std::vector<double> mus, sigmas, log_mass, log_rows;
  };
  std::vector<Dim> dims_;
  std::vector<double> logw_, weights_;
  std::vector<PerDim> per_dim_;
};

class TpeSampler : public Sampler {
 public:
  TpeSampler(uint64_t seed, TpeOptions o) : seed_(seed), o_(o) {}

  json sample(const Space& space, const config::Config& base, const std::vector<TrialState>& trials, int64_t number,
              bool maximize) override {
    std::mt19937_64 rng(mix(seed_, static_cast<uint64_t>(number)));
    int64_t complete = 0;
    for (const auto& t : trials)
      if (t.state == "complete") ++complete;
    json out = json::object();
    if (complete < o_.n_startup_trials) {
      for (const auto& p : space)
        if (active(p, out, base)) out[p.path] = random_value(p, rng);
      return out;
    }
    // Multivariate: the parameters without conditions, jointly; then each
    // conditional one on its own (Optuna's multivariate mode falls back to
    // independent sampling outside the common search space the same way).
    std::vector<const Param*> joint;
    if (o_.multivariate)
      for (const auto& p : space)
        if (p.when.empty()) joint.push_back(&p);
    if (joint.size() > 1) {
      std::vector<Dim> dims;
      for (const Param* p : joint) dims.emplace_back(*p);
      json vals = suggest(dims, trials, number, maximize, true, rng);
      for (size_t d = 0; d < dims.size(); ++d) out[joint[d]->path] = vals[d];
    }
    for (const auto& p : space) {
      if (out.contains(p.path) || !active(p, out, base)) continue;
      out[p.path] = suggest({Dim(p)}, trials, number, maximize, false, rng)[0];
    }
    return out;
  }

 private:
  // Values for `dims` from the trials that have all of them: random below two
  // observations, else the best of n_ei_candidates by l(x) / g(x).
  json suggest(const std::vector<Dim>& dims, const std::vector<TrialState>& trials, int64_t number, bool maximize,
               bool multivariate, std::mt19937_64& rng) {
    std::vector<Obs> obs;
    for (const auto& t : trials) {
      if (t.number == number) continue;
      bool has_all = true;
      for (const auto& d : dims) has_all = has_all && t.params.contains(d.p->path);
      if (!has_all) continue;
      if (t.state == "complete") {
        const double loss = maximize ? -t.value : t.value;
        obs.push_back({std::isfinite(loss) ? loss : INFINITY, &t.params, t.number});
      } else if (t.state == "pruned" || (t.state == "running" && o_.constant_liar)) {
        obs.push_back({INFINITY, &t.params, t.number});  // stopped early or still running: among the bad
      }
    }
    json out = json::array();
    if (obs.size() < 2) {
      for (const auto& d : dims) out.push_back(random_value(*d.p, rng));
      return out;
    }
    std::stable_sort(obs.begin(), obs.end(), [](const Obs& a, const Obs& b) { return a.loss < b.loss; });
    size_t n_below = std::min<size_t>(static_cast<size_t>(std::ceil(0.1 * obs.size())), 25);
    n_below = std::max<size_t>(n_below, 1);
    std::vector<Obs> below(obs.begin(), obs.begin() + n_below), above(obs.begin() + n_below, obs.end());
    auto coords = [&](std::vector<Obs>& v) {
      std::sort(v.begin(), v.end(), [](const Obs& a, const Obs& b) { return a.number < b.number; });
      std::vector<std::vector<double>> r;
      for (const auto& o : v) {
        std::vector<double> x;
        for (const auto& d : dims) x.push_back(d.encode((*o.params)[d.p->path]));
        r.push_back(x);
      }
      return r;
    };
    Parzen l(dims, coords(below), multivariate, o_.prior_weight), g(dims, coords(above), multivariate, o_.prior_weight);
    std::vector<double> best_x;
    double best_score = -INFINITY;
    for (int64_t i = 0; i < o_.n_ei_candidates; ++i) {
      std::vector<double> x = l.sample(rng);
      const double score = l.log_pdf(x) - g.log_pdf(x);
      if (best_x.empty() || score > best_score) best_score = score, best_x = x;
    }
    for (size_t d = 0; d < dims.size(); ++d) out.push_back(dims[d].decode(best_x[d]));
    return out;
  }

  uint64_t seed_;
  TpeOptions o_;
};

}  // namespace

std::unique_ptr<Sampler> make_sampler(const std::string& name, uint64_t seed, const TpeOptions& tpe) {
  using R = Registry<std::unique_ptr<Sampler>, uint64_t, const TpeOptions&>;
  static const R r = [] {
    R m("tuning.sampler");
    m.add("grid", [](uint64_t, const TpeOptions&) -> std::unique_ptr<Sampler> { return std::make_unique<GridSampler>(); });
    m.add("random", [](uint64_t s, const TpeOptions&) -> std::unique_ptr<Sampler> {
      return std::make_unique<RandomSampler>(s);
    });
    m.add("tpe", [](uint64_t s, const TpeOptions& o) -> std::unique_ptr<Sampler> {
      return std::make_unique<TpeSampler>(s, o);
    });
    return m;
  }();
  return r.create(name, seed, tpe);
}

}  // namespace tf::tune
