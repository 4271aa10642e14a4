// TPE quality and speed on standard test functions, for the side-by-side
// comparison with Optuna in bench/tpe_vs_optuna.py.
//   tpe_bench quality FUNC TRIALS SEED [SEEDS] -> one JSON line per seed SEED..SEED+SEEDS-1:
//                                                the best value after every trial
//   tpe_bench speed HISTORY                    -> JSON: ms per sample() with HISTORY finished trials
// FUNC: branin, hartmann6 (the reported ones), rosenbrock4, ackley5, levy6 (to choose settings on).
// Environment: TPE_MULTIVARIATE=1 (tuning.tpe_multivariate); TPE_PRIOR_SHARE=x
// (tuning.tpe_prior_share; 0: the Optuna-compatible estimator).
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>

#include "config/config.h"
#include "tune/sampler.h"

using namespace tf::tune;

namespace {
double branin(const std::vector<double>& x) {
  const double a = 1, b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, r = 6, s = 10, t = 1 / (8 * M_PI);
  return a * std::pow(x[1] - b * x[0] * x[0] + c * x[0] - r, 2) + s * (1 - t) * std::cos(x[0]) + s;
}
double hartmann6(const std::vector<double>& x) {
  static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
  static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8}, {0.05, 10, 17, 0.1, 8, 14}, {3, 3.5, 1.7, 10, 17, 8}, {17, 8, 0.05, 10, 0.1, 14}};
  static const double P[4][6] = {{1312, 1696, 5569, 124, 8283, 5886}, {2329, 4135, 8307, 3736, 1004, 9991},
                                 {2348, 1451, 3522, 2883, 3047, 6650}, {4047, 8828, 8732, 5743, 1091, 381}};
  double outer = 0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0;
    for (int j = 0; j < 6; ++j) inner += A[i][j] * std::pow(x[j] - 1e-4 * P[i][j], 2);
    outer += alpha[i] * std::exp(-inner);
  }
  return -outer;
}
double rosenbrock(const std::vector<double>& x) {
  double s = 0;
  for (size_t i = 0; i + 1 < x.size(); ++i) s += 100 * std::pow(x[i + 1] - x[i] * x[i], 2) + std::pow(1 - x[i], 2);
  return s;
}
double ackley(const std::vector<double>& x) {
  double sq = 0, cs = 0;
  for (double v : x) sq += v * v, cs += std::cos(2 * M_PI * v);
  const double d = static_cast<double>(x.size());
  return -20 * std::exp(-0.2 * std::sqrt(sq / d)) - std::exp(cs / d) + 20 + M_E;
}
double levy(const std::vector<double>& x) {
  auto w = [](double v) { return 1 + (v - 1) / 4; };
  const size_t d = x.size();
  double s = std::pow(std::sin(M_PI * w(x[0])), 2);
  for (size_t i = 0; i + 1 < d; ++i)
    s += std::pow(w(x[i]) - 1, 2) * (1 + 10 * std::pow(std::sin(M_PI * w(x[i]) + 1), 2));
  return s + std::pow(w(x[d - 1]) - 1, 2) * (1 + std::pow(std::sin(2 * M_PI * w(x[d - 1])), 2));
}
double evaluate(const std::string& f, const std::vector<double>& x) {
  if (f == "branin") return branin(x);
  if (f == "hartmann6") return hartmann6(x);
  if (f == "rosenbrock4") return rosenbrock(x);
  if (f == "ackley5") return ackley(x);
  return levy(x);
}
Space box(int dims, double low, double high) {
  Space s;
  for (int i = 0; i < dims; ++i) {
    Param p;
    p.path = "x" + std::to_string(i);
    p.low = low;
    p.high = high;
    s.push_back(p);
  }
  return s;
}
// The usual domains: Branin [-5, 10] x [0, 15], Hartmann-6 [0, 1]^6,
// Rosenbrock [-5, 10]^4, Ackley [-32.768, 32.768]^5, Levy [-10, 10]^6.
Space space_for(const std::string& f) {
  if (f == "branin") {
    Space s = box(2, -5, 10);
    s[1].low = 0;
    s[1].high = 15;
    return s;
  }
  if (f == "hartmann6") return box(6, 0, 1);
  if (f == "rosenbrock4") return box(4, -5, 10);
  if (f == "ackley5") return box(5, -32.768, 32.768);
  if (f == "levy6") return box(6, -10, 10);
  throw std::runtime_error("unknown function " + f);
}
double env_or(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v ? std::stod(v) : fallback;
}
}  // namespace

int main(int argc, char** argv) {
  // TPE_MULTIVARIATE=1: the joint estimator (tuning.tpe_multivariate).
  TpeOptions opts;
  opts.multivariate = std::getenv("TPE_MULTIVARIATE") && std::string(std::getenv("TPE_MULTIVARIATE")) == "1";
  opts.shape.prior_share = env_or("TPE_PRIOR_SHARE", opts.shape.prior_share);
  std::string mode = argc > 1 ? argv[1] : "";
  auto base = tf::config::Config::defaults();
  if (mode == "quality" && (argc == 5 || argc == 6)) {
    const std::string f = argv[2];
    const int trials = std::stoi(argv[3]);
    const uint64_t first = std::stoull(argv[4]), seeds = argc == 6 ? std::stoull(argv[5]) : 1;
    const Space space = space_for(f);
    for (uint64_t seed = first; seed < first + seeds; ++seed) {
      auto tpe = make_sampler("tpe", seed, opts);
      std::vector<TrialState> hist;
      double best = INFINITY, dist_sum = 0;
      std::vector<double> best_x;
      std::string curve;
      for (int i = 0; i < trials; ++i) {
        TrialState t;
        t.number = i;
        t.params = tpe->sample(space, base, hist, i, false);
        std::vector<double> x;
        for (auto& p : space) x.push_back(t.params[p.path].get<double>());
        if (i >= 10) {  // how far the model's suggestion lies from the best point so far (unit-cube units)
          double d2 = 0;
          for (size_t d = 0; d < x.size(); ++d)
            d2 += std::pow((x[d] - best_x[d]) / (space[d].high - space[d].low), 2);
          dist_sum += std::sqrt(d2 / static_cast<double>(x.size()));
        }
        t.value = evaluate(f, x);
        t.state = "complete";
        if (t.value < best) best_x = x;
        best = std::min(best, t.value);
        hist.push_back(t);
        char buf[32];
        std::snprintf(buf, sizeof buf, "%s%.10g", i ? "," : "", best);
        curve += buf;
      }
      std::printf("{\"function\":\"%s\",\"trials\":%d,\"seed\":%llu,\"best\":%.10g,\"distance_to_best\":%.6g,"
                  "\"curve\":[%s]}\n",
                  f.c_str(), trials, static_cast<unsigned long long>(seed), best,
                  trials > 10 ? dist_sum / (trials - 10) : 0.0, curve.c_str());
    }
    return 0;
  }
  if (mode == "speed" && argc == 3) {
    int n = std::stoi(argv[2]);
    Space space = space_for("hartmann6");
    auto tpe = make_sampler("tpe", 0, opts);
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> U(0, 1);
    std::vector<TrialState> hist;
    for (int i = 0; i < n; ++i) {
      TrialState t;
      t.number = i;
      for (auto& p : space) t.params[p.path] = U(rng);
      std::vector<double> x;
      for (auto& p : space) x.push_back(t.params[p.path].get<double>());
      t.value = hartmann6(x);
      t.state = "complete";
      hist.push_back(t);
    }
    int reps = 20;
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) tpe->sample(space, base, hist, n + r, false);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
    std::printf("{\"history\":%d,\"ms_per_trial\":%.4f}\n", n, ms);
    return 0;
  }
  std::fprintf(stderr, "usage: tpe_bench quality FUNC TRIALS SEED [SEEDS] | speed HISTORY\n");
  return 2;
}
