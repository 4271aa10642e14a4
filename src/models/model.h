// Neural classifiers for windows [B, T, C] -> logits [B, K], created by name
// (`model.name`) through one registry: mlp, cnn1d, lstm.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"

namespace tf {

struct InputShape {
  int64_t steps = 0, channels = 0, classes = 0;
};

class Classifier : public torch::nn::Module {
 public:
  // x: [B, T, C] float32 -> logits [B, K].
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

using ClassifierPtr = std::shared_ptr<Classifier>;

ClassifierPtr make_model(const config::Config& cfg, const InputShape& shape);
std::vector<std::string> model_names();

// Number of trainable scalars.
int64_t parameter_count(const Classifier& m);

}  // namespace tf
