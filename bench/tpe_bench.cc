// TPE quality and speed on standard test functions (Branin, Hartmann-6), for
// the side-by-side comparison with Optuna in bench/tpe_vs_optuna.py.
//   tpe_bench quality FUNC TRIALS SEED   -> JSON: best value found
//   tpe_bench speed HISTORY              -> JSON: ms per sample() with HISTORY finished trials
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <random>
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
Space space_for(const std::string& f) {
  Space s;
  if (f == "branin") {
    Param a; a.path = "x0"; a.low = -5; a.high = 10; s.push_back(a);
    Param b; b.path = "x1"; b.low = 0; b.high = 15; s.push_back(b);
  } else {
    for (int i = 0; i < 6; ++i) { Param p; p.path = "x" + std::to_string(i); p.low = 0; p.high = 1; s.push_back(p); }
  }
  return s;
}
}  // namespace

int main(int argc, char** argv) {
  // TPE_MULTIVARIATE=1: the joint estimator (tuning.tpe_multivariate).
  TpeOptions opts;
  opts.multivariate = std::getenv("TPE_MULTIVARIATE") && std::string(std::getenv("TPE_MULTIVARIATE")) == "1";
  std::string mode = argc > 1 ? argv[1] : "";
  auto base = tf::config::Config::defaults();
  if (mode == "quality" && argc == 5) {
    std::string f = argv[2];
    int trials = std::stoi(argv[3]);
    uint64_t seed = std::stoull(argv[4]);
    Space space = space_for(f);
    auto tpe = make_sampler("tpe", seed, opts);
    std::vector<TrialState> hist;
    double best = INFINITY;
    for (int i = 0; i < trials; ++i) {
      TrialState t;
      t.number = i;
      t.params = tpe->sample(space, base, hist, i, false);
      std::vector<double> x;
      for (auto& p : space) x.push_back(t.params[p.path].get<double>());
      t.value = f == "branin" ? branin(x) : hartmann6(x);
      t.state = "complete";
      best = std::min(best, t.value);
      hist.push_back(t);
    }
    std::printf("{\"function\":\"%s\",\"trials\":%d,\"seed\":%llu,\"best\":%.10g}\n", f.c_str(), trials,
                static_cast<unsigned long long>(seed), best);
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
  std::fprintf(stderr, "usage: tpe_bench quality branin|hartmann6 TRIALS SEED | speed HISTORY\n");
  return 2;
}
