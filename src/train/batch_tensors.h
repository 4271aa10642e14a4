// Rows as tensors in the layout the models take, and a rank's evaluation
// rows in chunks. Internal to the trainer (LibTorch types).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <utility>

#include "data/dataset.h"
#include "data/row_source.h"

namespace tf {

// X of rows [begin, end) as [m, C, T] (channels-first, so the conv input
// needs no copy) and y as [m], on `device`.
std::pair<torch::Tensor, torch::Tensor> to_tensors(const Dataset& d, torch::Device device, int64_t begin = 0,
                                                   int64_t end = -1);

// One rank's share [begin, end) of an evaluation set, handed out in chunks
// of `chunk` rows. In memory, the share becomes tensors once, when the set is
// opened (a validation set is opened once per fit, not once per epoch);
// streamed, each pass reads the chunks ahead of use.
class EvalRows {
 public:
  EvalRows(const RowSource& source, int rank, int world, int64_t chunk, torch::Device device);
  int64_t size() const { return source_.size(); }
  int64_t begin() const { return begin_; }
  int64_t end() const { return end_; }
  // fn(first row, x, y) for each chunk of this rank's share, in order.
  void for_each(const std::function<void(int64_t, const torch::Tensor&, const torch::Tensor&)>& fn) const;

 private:
  const RowSource& source_;
  int64_t begin_, end_, chunk_;
  torch::Device device_;
  torch::Tensor x_, y_;  // the share, when in memory
};

}  // namespace tf
