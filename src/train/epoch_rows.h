// Sharding of the training rows: rank r of a group of W takes its slice of
// every global batch of the epoch's seeded order (the ranks' slices together
// are the batch one rank would take alone). Where the rows come from is the
// source's business: all in memory, this epoch's share read at the epoch's
// start, or (streamed) read batch by batch ahead of use by a background
// reader, so that memory stays a few batches whatever the data set's size.
// Internal to the trainer (LibTorch types).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <utility>
#include <vector>

#include "data/batch_stream.h"
#include "data/row_source.h"

namespace tf {

class EpochRows {
 public:
  EpochRows(const RowSource& source, int rank, int world, int64_t batch, torch::Device device);
  int64_t steps() const { return steps_; }
  bool streamed() const { return source_.streamed(); }
  // This rank's rows [lo, hi) of global step b, whose batch has gn rows.
  struct Share {
    int64_t lo, hi, gn;
  };
  Share share(int64_t b) const;
  // Starts an epoch in the order `perm` (positions of the source) at step `first`.
  void begin_epoch(const std::vector<int64_t>& perm, int64_t first, int64_t epoch);
  // X [m, C, T] and y [m] of this rank's rows of step b (steps in order; m > 0).
  std::pair<torch::Tensor, torch::Tensor> step(int64_t b);
  // Stops the epoch's reader; returns the seconds training waited for it.
  double end_epoch();

 private:
  const RowSource& source_;
  int rank_, world_;
  int64_t n_, batch_, steps_;
  torch::Device device_;
  const std::vector<int64_t>* perm_ = nullptr;
  torch::Tensor x_all_, y_all_;  // in memory: all rows, or this epoch's share
  std::vector<int64_t> local_;   // local_[pos]: row of x_all_ holding source position pos
  std::vector<int64_t> idx_buf_;
  std::unique_ptr<BatchStream> stream_;
};

}  // namespace tf
