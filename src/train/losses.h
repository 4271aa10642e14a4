// Loss functions by name (`training.loss`), all taking logits [B, K] and
// integer targets [B] and returning a scalar. With class_weights set, every
// loss but the weighted one weights sample i by its class's weight c_{y_i}
// (Keras's class_weight: mean_i c_{y_i} l_i, divided by B, not by the weights):
//   categorical_crossentropy           mean_i c_{y_i} CE_i, optional label smoothing (as torch)
//   focal_loss                         mean_i -c_{y_i} alpha_{y_i} (1 - p_{i,y_i})^gamma log p_{i,y_i}
//   weighted_categorical_crossentropy  sum_i w_{y_i} CE_i / sum_i w_{y_i}  (torch's weighted mean;
//                                      w = class_weights, balanced when null)
//   leak_aware_loss                    mean_i c_{y_i} v_i CE_i, v_i = leak_penalty if y_i is a
//                                      leak class, else non_leak_penalty
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"

namespace tf {

class Loss {
 public:
  virtual ~Loss() = default;
  virtual torch::Tensor forward(const torch::Tensor& logits, const torch::Tensor& target) const = 0;
};

struct LossContext {
  std::vector<int64_t> class_counts;  // training rows per class
  std::vector<std::string> class_names;
  int64_t no_leak_class = 0;
};

std::unique_ptr<Loss> make_loss(const config::Config& cfg, const LossContext& ctx);

// Per-class weights from `class_weights` (null or "balanced": n / (K * count_k),
// as scikit-learn's compute_class_weight; a map: given weights, 1 for classes not named).
std::vector<double> resolve_class_weights(const config::Config& cfg, const LossContext& ctx);

// The per-sample class weights of the losses: empty (no weighting) when
// class_weights is null, else resolve_class_weights.
std::vector<double> sample_class_weights(const config::Config& cfg, const LossContext& ctx);

}  // namespace tf
