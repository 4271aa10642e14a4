// Shared by the GPU tests: a small trainer config on a chosen device, with
// dropout off (the CPU and CUDA generators draw different masks) and no
// callbacks, so that runs on different devices or rank counts are comparable.
#pragma once

#include <string>

#include "config/config.h"

namespace tf::test {

inline config::Config gpu_cfg(const std::string& model, const std::string& device, int epochs) {
  return config::Config::resolve(nlohmann::json{
      {"runtime", {{"device", device}}},
      {"model",
       {{"name", model},
        {"mlp", {{"dropout", 0.0}, {"hidden_units", {32}}}},
        {"cnn1d", {{"channels", {8, 8}}, {"kernel_sizes", {5, 3}}, {"batch_norm", false}, {"dropout", 0.0}}},
        {"lstm", {{"hidden_size", 16}, {"downsample", 4}}}}},
      {"training",
       {{"epochs", epochs},
        {"batch_size", 16},
        {"optimizer", "sgd"},
        {"learning_rate", 0.05},
        {"optimizer_config", {{"momentum", 0.9}}},
        {"callbacks", {{"model_checkpoint", false}, {"early_stopping", false}}}}}});
}

}  // namespace tf::test
