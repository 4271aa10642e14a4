// Optimizers by name (`training.optimizer`: adam, adamw, sgd, rmsprop) with
// `training.optimizer_config` passed through, and the LR / state helpers the
// trainer needs (LibTorch 1.13's torch::load(optimizer) drops param-group
// options, so they are saved and restored here explicitly).
#pragma once

#include <torch/optim/optimizer.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"

namespace tf {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::Config& cfg,
                                                        const std::vector<torch::Tensor>& params);

void set_lr(torch::optim::Optimizer& opt, double lr);

// Clips the global L2 norm of the gradients to `max_norm` (no-op when <= 0),
// as `training.optimizer_config.clipnorm` asks.
void clip_gradients(const std::vector<torch::Tensor>& params, double max_norm);
double get_lr(const torch::optim::Optimizer& opt);

// Saves the optimizer state (torch archive) and its param-group options (JSON beside it).
void save_optimizer(torch::optim::Optimizer& opt, const std::string& path, bool durable = true);
void load_optimizer(torch::optim::Optimizer& opt, const std::string& path);

}  // namespace tf
