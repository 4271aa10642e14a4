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
struct Obs {
  double loss;     // sign-adjusted objective: lower is better; running trials: +inf
  json value;
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


struct Parzen {
  std::vector<double> mus, sigmas, weights;
  double lo, hi;

  Parzen(const std::vector<double>& obs, double low, double high, double prior_weight) : lo(low), hi(high) {
    const size_t n = obs.size();
    const double range = hi - lo;
    // As Optuna 3.1: the prior (centre of the range) joins the observations;
    // each point's bandwidth is the larger gap to its sorted neighbours (range
    // ends count), the first and last use their inner gap; the magic clip
    // bounds them to [range / min(100, 1 + points), range]; the prior's is the range.
    mus = obs;
    mus.push_back(0.5 * (lo + hi));
    const size_t m = mus.size();
    std::vector<size_t> order(m);
    for (size_t i = 0; i < m; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mus[a] < mus[b]; });
    std::vector<double> ends;
    ends.push_back(lo);
    for (size_t i : order) ends.push_back(mus[i]);
    ends.push_back(hi);
    std::vector<double> sorted_sigma(m);
    for (size_t k = 0; k < m; ++k) sorted_sigma[k] = std::max(ends[k + 1] - ends[k], ends[k + 2] - ends[k + 1]);
    if (ends.size() >= 4) {
      sorted_sigma[0] = ends[2] - ends[1];
      sorted_sigma[m - 1] = ends[m] - ends[m - 1];
    }
    const double min_sigma = range / std::min(100.0, 1.0 + static_cast<double>(m));
    sigmas.assign(m, 0.0);
    for (size_t k = 0; k < m; ++k) sigmas[order[k]] = std::min(std::max(sorted_sigma[k], min_sigma), range);
    sigmas[n] = range;
    std::vector<double> w = default_weights(n);
    w.push_back(prior_weight);
    double wsum = 0;
    for (double x : w) wsum += x;
    for (double& x : w) x /= wsum;
    weights = w;
  }

  double sample(std::mt19937_64& rng) const {
    std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
    size_t k = pick(rng);
    std::normal_distribution<double> N(mus[k], sigmas[k]);
    for (int tries = 0; tries < 1000; ++tries) {
      double x = N(rng);
      if (x >= lo && x <= hi) return x;
    }
    return std::min(hi, std::max(lo, mus[k]));
  }

  // log density of the mixture of normals truncated to [lo, hi]; the per-component
  // constants (weight, normalisation, truncated mass) are computed once.
  double log_pdf(double x) const {
    if (consts.empty()) {
      consts.resize(mus.size());
      inv.resize(mus.size());
      for (size_t k = 0; k < mus.size(); ++k) {
        double mass = 0.5 * (std::erf((hi - mus[k]) / (sigmas[k] * std::sqrt(2.0))) -
                             std::erf((lo - mus[k]) / (sigmas[k] * std::sqrt(2.0))));
        consts[k] = std::log(weights[k]) - std::log(sigmas[k] * std::sqrt(2 * M_PI)) - std::log(std::max(mass, 1e-300));
        inv[k] = 1.0 / sigmas[k];
      }
    }
    double best = -INFINITY;
    for (size_t k = 0; k < mus.size(); ++k) {
      double z = (x - mus[k]) * inv[k];
      best = std::max(best, consts[k] - 0.5 * z * z);
    }
    double s = 0;
    for (size_t k = 0; k < mus.size(); ++k) {
      double z = (x - mus[k]) * inv[k];
      s += std::exp(consts[k] - 0.5 * z * z - best);
    }
    return best + std::log(s);
  }
  mutable std::vector<double> consts, inv;
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
    for (const auto& p : space) {
      if (!active(p, out, base)) continue;
      if (complete < o_.n_startup_trials) {
        out[p.path] = random_value(p, rng);
        continue;
      }
      std::vector<Obs> obs;
      for (const auto& t : trials) {
        if (t.number == number || !t.params.contains(p.path)) continue;
        if (t.state == "complete" || (t.state == "pruned" && !t.intermediate.empty())) {
          double v = t.state == "complete" ? t.value : t.intermediate.rbegin()->second;
          double loss = maximize ? -v : v;
          if (t.state == "pruned") loss = INFINITY;  // stopped early: counts among the bad trials
          obs.push_back({std::isfinite(loss) ? loss : INFINITY, t.params[p.path], t.number});
        } else if (t.state == "running" && o_.constant_liar) {
          obs.push_back({INFINITY, t.params[p.path], t.number});
        }
      }
      if (obs.size() < 2) {
        out[p.path] = random_value(p, rng);
        continue;
      }
      std::stable_sort(obs.begin(), obs.end(), [](const Obs& a, const Obs& b) { return a.loss < b.loss; });
      size_t n_below = std::min<size_t>(static_cast<size_t>(std::ceil(0.1 * obs.size())), 25);
      n_below = std::max<size_t>(n_below, 1);
      std::vector<Obs> below(obs.begin(), obs.begin() + n_below), above(obs.begin() + n_below, obs.end());
      auto by_number = [](const Obs& a, const Obs& b) { return a.number < b.number; };
      std::sort(below.begin(), below.end(), by_number);
      std::sort(above.begin(), above.end(), by_number);
      out[p.path] = p.kind == Param::Kind::kCategorical || !p.choices.empty() ? categorical(p, below, above, rng)
                                                                             : numeric(p, below, above, rng);
    }
    return out;
  }

 private:
  json numeric(const Param& p, const std::vector<Obs>& below, const std::vector<Obs>& above, std::mt19937_64& rng) {
    double lo = p.low, hi = p.high;
    if (p.kind == Param::Kind::kInt) {
      double half = (p.step > 0 ? p.step : 1.0) / 2;
      if (!p.log) lo -= half, hi += half;
    }
    lo = to_internal(p, lo);
    hi = to_internal(p, hi);
    auto xs = [&](const std::vector<Obs>& v) {
      std::vector<double> r;
      for (const auto& o : v) r.push_back(to_internal(p, o.value.get<double>()));
      return r;
    };
    Parzen l(xs(below), lo, hi, o_.prior_weight), g(xs(above), lo, hi, o_.prior_weight);
    double best_x = l.sample(rng), best_score = -INFINITY;
    for (int64_t i = 0; i < o_.n_ei_candidates; ++i) {
      double x = l.sample(rng);
      double score = l.log_pdf(x) - g.log_pdf(x);
      if (score > best_score) best_score = score, best_x = x;
    }
    return finish(p, from_internal(p, best_x));
  }

  json categorical(const Param& p, const std::vector<Obs>& below, const std::vector<Obs>& above, std::mt19937_64& rng) {
    const size_t k = p.choices.size();
    auto dist = [&](const std::vector<Obs>& v) {
      std::vector<double> w(k, o_.prior_weight / static_cast<double>(k));
      std::vector<double> ow = default_weights(v.size());
      for (size_t i = 0; i < v.size(); ++i)
        for (size_t c = 0; c < k; ++c)
          if (p.choices[c] == v[i].value) w[c] += ow[i];
      double s = 0;
      for (double x : w) s += x;
      for (double& x : w) x /= s;
      return w;
    };
    auto l = dist(below), g = dist(above);
    std::discrete_distribution<size_t> pick(l.begin(), l.end());
    size_t best = pick(rng);
    double best_score = -INFINITY;
    for (int64_t i = 0; i < o_.n_ei_candidates; ++i) {
      size_t c = pick(rng);
      double score = std::log(l[c]) - std::log(g[c]);
      if (score > best_score) best_score = score, best = c;
    }
    return p.choices[best];
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
