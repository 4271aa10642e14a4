// Tuning building blocks: search spaces, samplers, importances (the journal: test_replay.cc).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "core/fs.h"
#include "tune/sampler.h"
#include "tune/space.h"
#include "tune/study.h"
#include "test_util.h"

namespace tf::tune {

TEST(Space, ParsesRangesAndRejectsBadOnes) {
  auto base = config::Config::defaults();
  auto space = parse_space(nlohmann::json::parse(R"({
      "training.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": true},
      "training.batch_size": {"type": "int", "low": 16, "high": 64, "step": 16},
      "model.name": {"type": "categorical", "choices": ["cnn1d", "lstm"]},
      "model.lstm.hidden_size": {"type": "int", "low": 8, "high": 32, "when": {"model.name": "lstm"}}})"),
                           base);
  ASSERT_EQ(space.size(), 4u);
  EXPECT_EQ(space.back().path, "model.lstm.hidden_size");  // conditional parameters last
  for (const auto& p : space) {
    if (p.path == "training.learning_rate") {
      EXPECT_EQ(grid_values(p).size(), 0u);
    }
    if (p.path == "training.batch_size") {
      EXPECT_EQ(grid_values(p).size(), 4u);
    }
  }
  auto error_of = [&](const char* text) {
    try {
      parse_space(nlohmann::json::parse(text), base);
    } catch (const BadInput& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of(R"({"training.learnin_rate": {"type": "float", "low": 1, "high": 2}})").find("did you mean training.learning_rate"), std::string::npos);
  EXPECT_NE(error_of(R"({"training.learning_rate": {"type": "float", "low": 0.1, "high": 50}})").find("tuning.space.training.learning_rate"), std::string::npos);
  EXPECT_NE(error_of(R"({"training.optimizer": {"type": "categorical", "choices": ["adam", "lion"]}})").find("lion"), std::string::npos);
  EXPECT_NE(error_of(R"({"training.epochs": {"type": "integer", "low": 1, "high": 5}})").find("type must be"), std::string::npos);
  for (const char* m : {"mlp", "cnn1d", "lstm", "svm", "random_forest", "gradient_boosting"}) {
    auto cfg = config::Config::resolve(nlohmann::json{{"model", {{"name", m}}}});
    EXPECT_FALSE(parse_space(suggest_space(m), cfg).empty()) << m;
  }
}

namespace {
std::vector<TrialState> finished(const Space& space, Sampler& s, const config::Config& base, int n,
                                 double (*f)(const nlohmann::json&)) {
  std::vector<TrialState> trials;
  for (int i = 0; i < n; ++i) {
    TrialState t;
    t.number = i;
    t.params = s.sample(space, base, trials, i, false);
    t.value = f(t.params);
    t.state = "complete";
    trials.push_back(t);
  }
  return trials;
}
double bowl(const nlohmann::json& p) {
  double x = std::log10(p["training.learning_rate"].get<double>()) + 2.5;  // best at 10^-2.5
  double d = p["model.cnn1d.dropout"].get<double>() - 0.2;
  return x * x + 4 * d * d;
}
// A narrow diagonal valley: good values of one parameter depend on the other.
double valley(const nlohmann::json& p) {
  double a = p["model.cnn1d.dropout"].get<double>(), b = p["model.mlp.dropout"].get<double>();
  return 50 * (a - b) * (a - b) + (a + b - 0.6) * (a + b - 0.6);
}
}  // namespace

TEST(Samplers, GridIsExhaustiveAndRandomIsDeterministicPerTrial) {
  auto base = config::Config::defaults();
  auto space = parse_space(nlohmann::json::parse(R"({
      "training.batch_size": {"type": "int", "low": 16, "high": 48, "step": 16},
      "training.optimizer": {"type": "categorical", "choices": ["adam", "sgd"]}})"),
                           base);
  auto grid = make_sampler("grid", 0, {});
  ASSERT_EQ(grid->size(space), 6);
  std::set<std::string> seen;
  for (int i = 0; i < 6; ++i) seen.insert(grid->sample(space, base, {}, i, false).dump());
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_EQ(grid->sample(space, base, {}, 0, false)["training.batch_size"], 16);
  EXPECT_EQ(grid->sample(space, base, {}, 0, false)["training.optimizer"], "adam");
  EXPECT_EQ(grid->sample(space, base, {}, 1, false)["training.optimizer"], "sgd");  // the last key varies fastest
  EXPECT_EQ(grid->sample(space, base, {}, 2, false)["training.batch_size"], 32);
  auto r1 = make_sampler("random", 7, {}), r2 = make_sampler("random", 7, {});
  EXPECT_EQ(r1->sample(space, base, {}, 3, false), r2->sample(space, base, {}, 3, false));
  EXPECT_THROW(make_sampler("tpee", 0, {}), BadInput);
}

// A finite space (the seed's param_dist: C and gamma as lists) is sampled
// without replacement: every point once per round, in a seeded order.
TEST(Samplers, RandomTriesEveryPointOfAFiniteSpaceBeforeRepeating) {
  auto base = config::Config::defaults();
  auto space = parse_space(nlohmann::json::parse(R"({
      "model.svm.C": [0.001, 0.01, 0.1, 1, 10, 100],
      "model.svm.gamma": ["scale", "auto"]})"),
                           base);
  auto r1 = make_sampler("random", 5, {}), r2 = make_sampler("random", 5, {}), other = make_sampler("random", 6, {});
  std::vector<std::string> order1, order2;
  for (int round = 0; round < 3; ++round) {
    std::set<std::string> seen;
    for (int i = 0; i < 12; ++i) {
      const int64_t n = round * 12 + i;
      const std::string p = r1->sample(space, base, {}, n, false).dump();
      EXPECT_EQ(p, r2->sample(space, base, {}, n, false).dump());  // deterministic per seed and trial number
      EXPECT_TRUE(seen.insert(p).second) << "trial " << n << " repeats " << p;
      if (round == 0) order1.push_back(p), order2.push_back(other->sample(space, base, {}, n, false).dump());
    }
    EXPECT_EQ(seen.size(), 12u);
  }
  EXPECT_NE(order1, order2);  // another seed, another order
  // Inactive parameters do not make repeats: {cnn1d} and three lstm sizes are 4 points.
  auto cond = parse_space(nlohmann::json::parse(R"({
      "model.name": ["cnn1d", "lstm"],
      "model.lstm.hidden_size": {"type": "int", "low": 8, "high": 10, "when": {"model.name": "lstm"}}})"),
                          base);
  std::set<std::string> seen;
  for (int i = 0; i < 4; ++i) seen.insert(r1->sample(cond, base, {}, i, false).dump());
  EXPECT_EQ(seen.size(), 4u);
}

TEST(Samplers, ConditionalParametersOnlyWhenActive) {
  auto base = config::Config::defaults();
  auto space = parse_space(nlohmann::json::parse(R"({
      "model.name": {"type": "categorical", "choices": ["cnn1d", "lstm"]},
      "model.lstm.hidden_size": {"type": "int", "low": 8, "high": 32, "when": {"model.name": "lstm"}}})"),
                           base);
  auto rnd = make_sampler("random", 1, {});
  int with = 0;
  for (int i = 0; i < 40; ++i) {
    auto p = rnd->sample(space, base, {}, i, false);
    EXPECT_EQ(p.contains("model.lstm.hidden_size"), p["model.name"] == "lstm");
    with += p.contains("model.lstm.hidden_size");
  }
  EXPECT_GT(with, 5);
}

TEST(Samplers, TpeBeatsRandomOnASmoothObjectiveAndAvoidsRunningTrials) {
  auto base = config::Config::defaults();
  auto space = parse_space(nlohmann::json::parse(R"({
      "training.learning_rate": {"type": "float", "low": 1e-5, "high": 1e-1, "log": true},
      "model.cnn1d.dropout": {"type": "float", "low": 0.0, "high": 0.9}})"),
                           base);
  double tpe_sum = 0, rnd_sum = 0;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    auto tpe = make_sampler("tpe", seed, {});
    auto rnd = make_sampler("random", seed, {});
    auto best = [](const std::vector<TrialState>& ts) {
      double b = 1e9;
      for (auto& t : ts) b = std::min(b, t.value);
      return b;
    };
    tpe_sum += best(finished(space, *tpe, base, 60, bowl));
    rnd_sum += best(finished(space, *rnd, base, 60, bowl));
  }
  EXPECT_LT(tpe_sum, rnd_sum);
  // Constant liar: a trial still running at the very point trial 31 would get
  // moves trial 31 elsewhere; without the liar the running trial is ignored.
  // Both suggestions are for trial 31, so they share one random stream: only
  // the running trial can make them differ.
  TpeOptions no_liar;
  no_liar.constant_liar = false;
  auto tpe = make_sampler("tpe", 3, {});
  auto plain = make_sampler("tpe", 3, no_liar);
  auto trials = finished(space, *tpe, base, 30, bowl);
  const auto next = tpe->sample(space, base, trials, 31, false);
  ASSERT_EQ(plain->sample(space, base, trials, 31, false), next);
  TrialState running;  // state "running"
  running.number = 30;
  running.params = next;
  trials.push_back(running);
  EXPECT_EQ(plain->sample(space, base, trials, 31, false), next);
  EXPECT_NE(tpe->sample(space, base, trials, 31, false), next);
}

// Multivariate TPE (tuning.tpe_multivariate): beats random search on a
// correlated objective, handles int/categorical/conditional parameters, and
// keeps the values inside the space.
TEST(Samplers, MultivariateTpeFollowsInteractions) {
  auto base = config::Config::defaults();
  auto space = parse_space(nlohmann::json::parse(R"({
      "model.cnn1d.dropout": {"type": "float", "low": 0.0, "high": 0.9},
      "model.mlp.dropout": {"type": "float", "low": 0.0, "high": 0.9}})"),
                           base);
  TpeOptions mv;
  mv.multivariate = true;
  double tpe_sum = 0, rnd_sum = 0;
  auto best = [](const std::vector<TrialState>& ts) {
    double b = 1e9;
    for (auto& t : ts) b = std::min(b, t.value);
    return b;
  };
  for (uint64_t seed = 0; seed < 6; ++seed) {
    auto tpe = make_sampler("tpe", seed, mv);
    auto rnd = make_sampler("random", seed, {});
    tpe_sum += best(finished(space, *tpe, base, 60, valley));
    rnd_sum += best(finished(space, *rnd, base, 60, valley));
  }
  EXPECT_LT(tpe_sum, rnd_sum);

  auto mixed = parse_space(nlohmann::json::parse(R"({
      "training.batch_size": {"type": "int", "low": 16, "high": 128, "step": 16},
      "training.learning_rate": {"type": "float", "low": 1e-5, "high": 1e-1, "log": true},
      "model.name": {"type": "categorical", "choices": ["cnn1d", "lstm"]},
      "model.lstm.hidden_size": {"type": "int", "low": 8, "high": 64, "log": true, "when": {"model.name": "lstm"}}})"),
                           base);
  auto tpe = make_sampler("tpe", 1, mv);
  std::vector<TrialState> trials;
  for (int i = 0; i < 40; ++i) {
    TrialState t;
    t.number = i;
    t.params = tpe->sample(mixed, base, trials, i, false);
    const int64_t bs = t.params["training.batch_size"].get<int64_t>();
    EXPECT_EQ(bs % 16, 0);
    EXPECT_GE(bs, 16);
    EXPECT_LE(bs, 128);
    const double lr = t.params["training.learning_rate"].get<double>();
    EXPECT_GE(lr, 1e-5);
    EXPECT_LE(lr, 1e-1);
    EXPECT_EQ(t.params.contains("model.lstm.hidden_size"), t.params["model.name"] == "lstm");
    // Better with lstm, small batches and a learning rate near 1e-3.
    t.value = (t.params["model.name"] == "lstm" ? 0 : 1) + bs / 128.0 + std::fabs(std::log10(lr) + 3);
    t.state = "complete";
    trials.push_back(t);
  }
  int lstm_late = 0;
  for (int i = 30; i < 40; ++i) lstm_late += trials[i].params["model.name"] == "lstm";
  EXPECT_GE(lstm_late, 6);
}

TEST(Importances, TheParameterThatMattersRanksFirst) {
  std::vector<TrialState> trials;
  for (int i = 0; i < 40; ++i) {
    TrialState t;
    t.number = i;
    t.state = "complete";
    double lr = 0.001 * (1 + i % 8), noise = (i * 37 % 11) / 11.0;
    t.params = {{"lr", lr}, {"noise", noise}};
    t.value = 100 * lr + 0.01 * noise;
    trials.push_back(t);
  }
  auto imp = importances(trials);
  EXPECT_GT(imp["lr"], 0.9);
  EXPECT_NEAR(imp["lr"] + imp["noise"], 1.0, 1e-12);
}

}  // namespace tf::tune
