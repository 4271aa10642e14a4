// Gradient averaging across the ranks of one training run.
//
// Gradients are packed into flat buckets (default 25 MB, TRAINFLEET_BUCKET_MB)
// and each bucket is all-reduced once: a handful of collectives per step
// instead of one per parameter. With a single rank every call returns at once.
// Rank contract: all ranks call average() once per optimizer step, in the same
// order, with the same parameter list.
// Streams: with a device communicator (NCCL) the buckets live in GPU memory
// and are packed and unpacked on LibTorch's current CUDA stream; average() and
// broadcast_parameters() hand that stream to the communicator (set_stream), which
// orders each collective after the packing and before the unpacking.
#pragma once

#include <torch/types.h>

#include <vector>

#include "comm/communicator.h"

namespace tf {

class GradSync {
 public:
  GradSync(Communicator& comm, const std::vector<torch::Tensor>& params, size_t bucket_bytes = 0);

  // Replaces every gradient g by sum over ranks of (weight_r * g_r). With
  // weight_r = local rows / global rows this is the gradient of the global
  // batch mean. Undefined gradients count as zeros.
  void average(std::vector<torch::Tensor>& params, double weight);

  // Copies rank 0's parameters and buffers to every rank.
  void broadcast_parameters(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& buffers);

  size_t buckets() const { return bounds_.size(); }
  size_t collectives_per_step() const { return comm_.is_distributed() ? bounds_.size() : 0; }

 private:
  Communicator& comm_;
  std::vector<std::pair<size_t, size_t>> bounds_;  // [first param, last param) per bucket
  std::vector<torch::Tensor> flat_;                 // one float32 CPU buffer per bucket
};

}  // namespace tf
