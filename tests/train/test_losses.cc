#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "train/losses.h"
#include "test_util.h"

namespace tf {

// Values and gradients of every loss against python3-torch to 1e-6, with and
// without class_weights (Keras's class_weight: every loss, focal and
// leak-aware included, weights each sample by its class's weight).
TEST(Losses, MatchTorchReferencesValueAndGradient) {
  auto ref = test::references()["losses"];
  int64_t k = ref["classes"];
  auto logits0 = torch::tensor(ref["logits"].get<std::vector<float>>()).view({-1, k});
  auto target = torch::tensor(ref["target"].get<std::vector<int64_t>>());
  LossContext ctx{ref["class_counts"].get<std::vector<int64_t>>(), {"a", "b", "c", "d"}, 0};
  ASSERT_GE(ref["cases"].size(), 14u);
  for (const auto& c : ref["cases"]) {
    auto cfg = config::Config::resolve(c["config"]);
    ctx.no_leak_class = cfg.get_int("data.no_leak_class");
    auto loss = make_loss(cfg, ctx);
    auto x = logits0.clone().requires_grad_(true);
    auto v = loss->forward(x, target);
    v.backward();
    EXPECT_NEAR(v.item<double>(), c["value"].get<double>(), 1e-6) << c["name"];
    auto g = c["grad"].get<std::vector<double>>();
    auto gx = x.grad().view(-1);
    for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(gx[i].item<double>(), g[i], 1e-6) << c["name"] << " grad " << i;
  }
}

// The seed's combination: focal_loss with class_weights 1/1/1/1 and 1/9/9/9 differ.
TEST(Losses, ClassWeightsChangeFocalLoss) {
  auto ref = test::references()["losses"];
  int64_t k = ref["classes"];
  auto logits = torch::tensor(ref["logits"].get<std::vector<float>>()).view({-1, k});
  auto target = torch::tensor(ref["target"].get<std::vector<int64_t>>());
  LossContext ctx{ref["class_counts"].get<std::vector<int64_t>>(), {}, 0};
  auto value = [&](const nlohmann::json& w) {
    nlohmann::json doc = {{"training", {{"loss", "focal_loss"}}}, {"class_weights", w}};
    return make_loss(config::Config::resolve(doc), ctx)->forward(logits, target).item<double>();
  };
  const double ones = value({{"0", 1.0}, {"1", 1.0}, {"2", 1.0}, {"3", 1.0}});
  EXPECT_NEAR(ones, value(nullptr), 1e-7);
  EXPECT_GT(std::abs(value({{"0", 1.0}, {"1", 9.0}, {"2", 9.0}, {"3", 9.0}}) - ones), 0.1 * ones);
}

TEST(Losses, BalancedClassWeightsMatchScikitLearn) {
  auto ref = test::references()["losses"];
  LossContext ctx{ref["class_counts"].get<std::vector<int64_t>>(), {}, 0};
  auto cfg = config::Config::resolve(nlohmann::json{{"class_weights", "balanced"}});
  auto w = resolve_class_weights(cfg, ctx);
  auto want = ref["balanced_weights"].get<std::vector<double>>();
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(w[i], want[i], 1e-12);
}

TEST(Losses, ClassWeightsByNameAndBadKeys) {
  LossContext ctx{{10, 5, 5}, {"none", "small", "big"}, 0};
  auto cfg = config::Config::resolve(nlohmann::json{{"class_weights", {{"small", 3.0}, {"2", 4.0}}}});
  EXPECT_EQ(resolve_class_weights(cfg, ctx), (std::vector<double>{1.0, 3.0, 4.0}));
  auto bad = config::Config::resolve(nlohmann::json{{"class_weights", {{"huge", 3.0}}}});
  try {
    resolve_class_weights(bad, ctx);
    FAIL();
  } catch (const BadInput& e) {
    EXPECT_NE(std::string(e.what()).find("class_weights.huge"), std::string::npos);
  }
}

TEST(Losses, FocalAlphaListMustMatchClasses) {
  LossContext ctx{{10, 5, 5}, {}, 0};
  auto cfg = config::Config::resolve(
      nlohmann::json{{"training", {{"loss", "focal_loss"}, {"loss_config", {{"alpha", {0.1, 0.2}}}}}}});
  EXPECT_THROW(make_loss(cfg, ctx), BadInput);
}

}  // namespace tf
