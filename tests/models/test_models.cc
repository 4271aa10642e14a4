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
// textbook conv -> BN -> ReLU -> MaxPool1d network, with the same weights:
// value for value, with BN on batch statistics (training) and on its running
// statistics (evaluation). Dropout is 0 so that both modes are deterministic.
TEST(Models, Cnn1dEqualsTheTextbookLayerOrder) {
  auto cfg = config::Config::resolve(nlohmann::json{
      {"model",
       {{"name", "cnn1d"}, {"cnn1d", {{"channels", {6, 5}}, {"kernel_sizes", {5, 3}}, {"pool_size", 3}, {"dropout", 0.0}}}}}});
  auto m = make_model(cfg, InputShape{50, 4, 3});
  auto x = torch::randn({7, 50, 4});
  auto params = m->named_parameters();
  auto buffers = m->named_buffers();
  auto textbook = [&](bool training) {
    auto h = x.transpose(1, 2);
    for (int i = 0; i < 2; ++i) {
      auto si = std::to_string(i);
      h = torch::conv1d(h, params["convs." + si + ".weight"], {}, 1, i == 0 ? 2 : 1);
      torch::Tensor rm, rv;
      if (!training) rm = buffers["norms." + si + ".running_mean"], rv = buffers["norms." + si + ".running_var"];
      h = torch::batch_norm(h, params["norms." + si + ".weight"], params["norms." + si + ".bias"], rm, rv, training,
                            0.1, 1e-5, false);
      h = torch::max_pool1d(torch::relu(h), 3);
    }
    return torch::linear(h.mean(2), params["head.weight"], params["head.bias"]);
  };
  torch::NoGradGuard ng;
  auto ref = textbook(true);  // before the model's training pass moves the running statistics
  m->train();
  auto fast = m->forward(x);
  ASSERT_EQ(fast.sizes(), ref.sizes());
  EXPECT_TRUE(torch::allclose(fast, ref, 1e-5, 1e-6)) << (fast - ref).abs().max().item<double>();
  m->eval();
  auto fast_eval = m->forward(x), ref_eval = textbook(false);
  EXPECT_TRUE(torch::allclose(fast_eval, ref_eval, 1e-5, 1e-6)) << (fast_eval - ref_eval).abs().max().item<double>();
  EXPECT_FALSE(torch::allclose(fast_eval, fast, 1e-3, 1e-3));  // the two modes really differ
}

}  // namespace tf
