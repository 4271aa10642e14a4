#include <gtest/gtest.h>
#include <torch/torch.h>

#include "train/optim.h"
#include "test_util.h"

namespace tf {

// Every optimizer, configured through training.optimizer_config, against
// torch.optim after 7 steps on a least-squares problem.
TEST(Optimizers, MatchTorchReferences) {
  auto ref = test::references()["optimizers"];
  auto A = torch::tensor(ref["A"].get<std::vector<float>>()).view({8, 6});
  auto b = torch::tensor(ref["b"].get<std::vector<float>>());
  int steps = ref["steps"];
  for (const auto& c : ref["cases"]) {
    auto cfg = config::Config::resolve(nlohmann::json{{"training", c["training"]}});
    auto w = torch::tensor(ref["w0"].get<std::vector<float>>()).requires_grad_(true);
    auto opt = make_optimizer(cfg, {w});
    for (int s = 0; s < steps; ++s) {
      opt->zero_grad();
      auto loss = (torch::matmul(A, w) - b).pow(2).mean() * 3.0;
      loss.backward();
      clip_gradients({w}, cfg.get_float("training.optimizer_config.clipnorm"));
      opt->step();
    }
    auto want = c["w"].get<std::vector<double>>();
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(w[i].item<double>(), want[i], 1e-5) << c["name"] << " w" << i;
  }
}

TEST(Optimizers, LrIsSetOnEveryGroupAndSurvivesSaveLoad) {
  test::TempDir dir;
  auto w = torch::ones({3}).requires_grad_(true);
  auto cfg = config::Config::resolve(nlohmann::json{{"training", {{"optimizer", "adam"}}}});
  auto opt = make_optimizer(cfg, {w});
  w.sum().backward();
  opt->step();
  set_lr(*opt, 0.0123);
  save_optimizer(*opt, (dir / "opt.pt").string());
  auto w2 = torch::ones({3}).requires_grad_(true);
  auto opt2 = make_optimizer(cfg, {w2});
  load_optimizer(*opt2, (dir / "opt.pt").string());
  EXPECT_DOUBLE_EQ(get_lr(*opt2), 0.0123);  // torch::load alone would leave 1e-3
}

}  // namespace tf
