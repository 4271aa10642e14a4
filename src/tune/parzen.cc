#include "tune/parzen.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace tf::tune {

using nlohmann::json;

json quantize(const Param& p, double x) {
  if (p.kind == Param::Kind::kInt) {
    double step = p.step > 0 ? p.step : 1.0;
    double v = std::round((x - p.low) / step) * step + p.low;
    v = std::min(std::max(v, p.low), p.high);
    return static_cast<int64_t>(std::llround(v));
  }
  if (p.step > 0) x = std::min(p.high, std::max(p.low, std::round((x - p.low) / p.step) * p.step + p.low));
  return x;
}

std::vector<double> default_weights(size_t n) {  // Optuna's: recent trials weigh more past 25
  std::vector<double> w(n, 1.0);
  if (n >= 25) {
    size_t ramp = n - 25;
    for (size_t i = 0; i < ramp; ++i) w[i] = ramp > 1 ? 1.0 / n + (1.0 - 1.0 / n) * i / (ramp - 1) : 1.0 / n;
  }
  return w;
}

bool is_categorical(const Param& p) { return p.kind == Param::Kind::kCategorical || !p.choices.empty(); }

Dim::Dim(const Param& param) : p(&param), cat(is_categorical(param)) {
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

double Dim::encode(const json& v) const {
  if (cat) {
    for (size_t c = 0; c < p->choices.size(); ++c)
      if (p->choices[c] == v) return static_cast<double>(c);
    return -1;
  }
  const double x = v.get<double>();
  return p->log ? std::log(x) : x;
}

json Dim::decode(double u) const {
  if (cat) return p->choices[static_cast<size_t>(u)];
  return quantize(*p, p->log ? std::exp(u) : u);
}


namespace {
double norm_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
}  // namespace

Parzen::Parzen(const std::vector<Dim>& dims, const std::vector<std::vector<double>>& obs, bool multivariate,
               double prior_weight, const ParzenShape& shape)
    : dims_(dims) {
  const size_t n = obs.size(), m = n + 1;
  std::vector<double> w = default_weights(n);
  w.push_back(prior_weight);
  double wsum = 0;
  for (double x : w) wsum += x;
  for (double x : w) logw_.push_back(std::log(x / wsum));
  weights_.resize(m);
  for (size_t k = 0; k < m; ++k) weights_[k] = w[k] / wsum;
  if (shape.prior_share > 0 && n > 0) {
    const double obs_sum = wsum - prior_weight;
    for (size_t k = 0; k < n; ++k) logw_[k] = std::log((1 - shape.prior_share) * w[k] / obs_sum);
    logw_[n] = std::log(shape.prior_share);
  }
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
std::vector<double> Parzen::sample(std::mt19937_64& rng) const {
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

double Parzen::log_pdf(const std::vector<double>& x) const {
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

}  // namespace tf::tune
