// Pieces of the training loop (fit.cc), one concern each: the progress bar
// on a terminal and the epoch's training statistics. Internal to the trainer.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <vector>

#include "comm/communicator.h"
#include "train/metrics.h"
#include "train/resume.h"

namespace tf {

// On rank 0 at a terminal, a bar redrawn in place within the epoch (twice a
// second; TRAINFLEET_PROGRESS_INTERVAL_S changes it, TRAINFLEET_NO_PROGRESS_BAR
// turns it off). Logs written to files get only the one line per epoch.
class ProgressBar {
 public:
  ProgressBar(bool rank0, int64_t epochs, int64_t steps);
  void start_epoch(int64_t epoch);
  void update(int64_t step);  // redraws when due
  void finish_epoch();        // clears the bar for the epoch's log line

 private:
  using Clock = std::chrono::steady_clock;
  bool on_;
  double every_;
  int64_t epochs_, steps_, epoch_ = 0;
  Clock::time_point t_epoch_, last_;
  bool shown_ = false;
};

// This rank's loss sum and predictions of the epoch so far, plus, on rank 0
// only, what a resumed checkpoint had counted (it is group-reduced).
class EpochStats {
 public:
  EpochStats(int64_t classes, torch::Device device, const ResumePoint* resumed, bool rank0);
  void add(const torch::Tensor& logits, const torch::Tensor& y, const torch::Tensor& loss, int64_t m);
  // Collective: the group's confusion matrix and loss sum so far.
  void reduce(Communicator& comm, ConfusionMatrix* cm, double* loss_sum) const;

 private:
  int64_t classes_;
  ConfusionMatrix start_;
  torch::Tensor loss_sum_;
  std::vector<torch::Tensor> preds_, truths_;
};

}  // namespace tf
