#include "tune/sampler.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "core/error.h"
#include "core/registry.h"
#include "tune/parzen.h"

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
  return quantize(p, from_internal(p, u));
}

// The distinct points of a finite space (every parameter categorical, listed
// values, or an int / stepped float range that is not log-scaled) in a seeded
// random order: the full grid shuffled, inactive parameters dropped, repeats
// skipped. Empty when the space is not finite or its grid exceeds kMaxGrid.
constexpr int64_t kMaxGrid = 20000;
std::vector<json> shuffled_points(const Space& space, const config::Config& base, uint64_t seed) {
  std::vector<std::vector<json>> values;
  int64_t n = 1;
  for (const auto& p : space) {
    const bool finite = !p.choices.empty() || (!p.log && (p.kind == Param::Kind::kInt || p.step > 0));
    if (!finite) return {};
    values.push_back(grid_values(p));
    if (values.back().empty()) return {};
    n *= static_cast<int64_t>(values.back().size());
    if (n > kMaxGrid) return {};
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(seed);
  for (size_t i = order.size(); i > 1; --i)  // Fisher-Yates with our own draws: the same order on every platform
    std::swap(order[i - 1], order[static_cast<size_t>(rng() % i)]);
  std::vector<json> out;
  std::set<std::string> seen;
  for (int64_t idx : order) {
    json point = json::object();
    std::vector<size_t> pick(space.size());
    for (size_t i = space.size(); i-- > 0;) {  // mixed-radix digits, as the grid sampler's
      pick[i] = static_cast<size_t>(idx % static_cast<int64_t>(values[i].size()));
      idx /= static_cast<int64_t>(values[i].size());
    }
    for (size_t i = 0; i < space.size(); ++i)
      if (active(space[i], point, base)) point[space[i].path] = values[i][pick[i]];
    if (seen.insert(point.dump()).second) out.push_back(std::move(point));
  }
  return out;
}

// Random search. A finite space is sampled without replacement: trial k takes
// point k mod M of the seed's shuffled list of its M points (a new shuffle for
// each further round), so no point repeats before every point has been tried.
// Otherwise each value is drawn from the trial's own stream. Either way a
// trial's values depend only on the seed and its number.
class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(uint64_t seed) : seed_(seed) {}
  json sample(const Space& space, const config::Config& base, const std::vector<TrialState>&, int64_t number,
              bool) override {
    auto round_points = [&](int64_t round) {
      return shuffled_points(space, base, mix(seed_, ~static_cast<uint64_t>(round)));
    };
    std::vector<json> points = round_points(0);
    if (!points.empty()) {
      const int64_t m = static_cast<int64_t>(points.size());
      if (number >= m) points = round_points(number / m);
      return points[static_cast<size_t>(number % m)];
    }
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

// ---------------------------------------------------------------- TPE (estimator: tune/parzen.h)
struct Obs {
  double loss;  // sign-adjusted objective: lower is better; running or pruned trials: +inf
  const json* params;
  int64_t number;
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
    Parzen l(dims, coords(below), multivariate, o_.prior_weight, o_.shape);
    Parzen g(dims, coords(above), multivariate, o_.prior_weight, o_.shape);
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
