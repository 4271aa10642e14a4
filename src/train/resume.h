// Resume checkpoints of a fit (run_dir/resume/): weights, optimizer state, the
// early-stopping snapshot, the CPU random generator, and state.json with the
// position in the run, partial epoch statistics, history and callback states.
// state.json names the generation of its tensor files, which are written
// first; it is replaced last, atomically, so a kill at any moment leaves the
// previous complete checkpoint. The files are not fsync'd (they are rewritten
// often); a checkpoint torn by a machine crash reads as kUnreadable.
// Internal to the trainer (LibTorch types).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <vector>

#include "comm/communicator.h"
#include "config/config.h"
#include "train/callbacks.h"
#include "train/trainer.h"

namespace tf {

// Where a fit stands when it is checkpointed: `epoch` is the epoch in progress
// (1-based) and `batch` the steps of it already done (0 at an epoch boundary);
// the partial sums of the epoch's training statistics are group-reduced.
struct ResumePoint {
  int64_t epoch = 1, batch = 0;
  std::vector<double> cm;  // partial confusion matrix of the epoch (empty at a boundary)
  double loss_sum = 0;
};

// The trainer's state a checkpoint saves and restores, by reference.
struct ResumeTarget {
  torch::nn::Module& model;
  torch::optim::Optimizer& opt;
  std::vector<torch::Tensor>& best;
  int64_t& step;
  double& lr_scale;
  bool& stop;
  torch::Device device;
};

std::filesystem::path resume_dir(const std::filesystem::path& run_dir);

// The model's weights as a LibTorch archive, written atomically.
void write_weights(torch::nn::Module& model, const std::filesystem::path& path, bool durable);

// Writes the checkpoint (call on the group's first rank only).
void save_resume(const std::filesystem::path& run_dir, const config::Config& cfg, const ResumePoint& at,
                 const ResumeTarget& t, const FitResult& result, const std::vector<Callback*>& cbs);

enum class ResumeLoad { kNone, kLoaded, kUnreadable };

// Collective over `comm`: the first rank decides whether run_dir holds a
// checkpoint of this config and tells the others; every rank then loads the
// tensors into `t`, the history into `result` and the callbacks' states, and
// `at` gets the point to continue from.
ResumeLoad load_resume(const std::filesystem::path& run_dir, const config::Config& cfg, Communicator& comm,
                       const ResumeTarget& t, FitResult& result, const std::vector<Callback*>& cbs, ResumePoint* at);

}  // namespace tf
