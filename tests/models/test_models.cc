#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/model.h"

namespace tf {

TEST(Models, EveryModelMapsWindowsToLogits) {
  for (const std::string name : {"mlp", "cnn1d", "lstm"}) {
    auto cfg = config::Config::resolve(nlohmann::json{{"model", {{"name", name}}}});
    auto m = make_model(cfg, InputShape{64, 9, 4});
    auto out = m->forward(torch::randn({5, 64, 9}));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{5, 4})) << name;
    EXPECT_GT(parameter_count(*m), 0) << name;
  }
}

TEST(Models, OptionsShapeTheNetwork) {
  auto small = config::Config::resolve(nlohmann::json{
      {"model", {{"name", "cnn1d"}, {"cnn1d", {{"channels", {4}}, {"kernel_sizes", {3}}, {"batch_norm", false}}}}}});
  auto big = config::Config::resolve(nlohmann::json{
      {"model", {{"name", "cnn1d"}, {"cnn1d", {{"channels", {16, 16}}, {"kernel_sizes", {5, 5}}}}}}});
  EXPECT_EQ(parameter_count(*make_model(small, {32, 9, 4})), 9 * 4 * 3 + 4 + 4 * 4 + 4);
  EXPECT_GT(parameter_count(*make_model(big, {32, 9, 4})), 1000);
  auto bi = config::Config::resolve(
      nlohmann::json{{"model", {{"name", "lstm"}, {"lstm", {{"bidirectional", true}, {"num_layers", 2}, {"hidden_size", 8}}}}}});
  auto m = make_model(bi, {32, 9, 3});
  EXPECT_EQ(m->forward(torch::randn({2, 32, 9})).sizes(), (std::vector<int64_t>{2, 3}));
}

}  // namespace tf

namespace tf {

// The optimised cnn1d block order (conv, BN, window max, ReLU) computes the
// textbook conv -> BN -> ReLU -> MaxPool1d network, with the same weights.
TEST(Models, Cnn1dEqualsTheTextbookLayerOrder) {
  auto cfg = config::Config::resolve(nlohmann::json{
      {"model", {{"name", "cnn1d"}, {"cnn1d", {{"channels", {6, 5}}, {"kernel_sizes", {5, 3}}, {"pool_size", 3}}}}}});
  auto m = make_model(cfg, InputShape{50, 4, 3});
  m->train();
  auto x = torch::randn({7, 50, 4});
  auto fast = m->forward(x);
  // Textbook path from the same parameters (BN in training mode, batch statistics).
  auto params = m->named_parameters();
  auto h = x.transpose(1, 2);
  for (int i = 0; i < 2; ++i) {
    auto si = std::to_string(i);
    h = torch::conv1d(h, params["convs." + si + ".weight"], {}, 1, i == 0 ? 2 : 1);
    h = torch::batch_norm(h, params["norms." + si + ".weight"], params["norms." + si + ".bias"], {}, {}, true, 0.1,
                          1e-5, false);
    h = torch::max_pool1d(torch::relu(h), 3);
  }
  auto ref = torch::linear(h.mean(2), params["head.weight"], params["head.bias"]);
  m->eval();  // dropout off for the comparison: rerun with BN in train mode but no dropout
  EXPECT_EQ(fast.sizes(), ref.sizes());
  torch::NoGradGuard ng;
  auto cfg0 = config::Config::resolve(nlohmann::json{
      {"model",
       {{"name", "cnn1d"}, {"cnn1d", {{"channels", {6, 5}}, {"kernel_sizes", {5, 3}}, {"pool_size", 3}, {"dropout", 0.0}}}}}});
  auto m0 = make_model(cfg0, InputShape{50, 4, 3});
  auto p0 = m0->named_parameters();
  for (auto& kv : params) p0[kv.key()].copy_(kv.value());
  m0->train();
  EXPECT_TRUE(torch::allclose(m0->forward(x), ref, 1e-5, 1e-6));
}

}  // namespace tf
