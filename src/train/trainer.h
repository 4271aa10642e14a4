// The trainer: fit / evaluate / predict / save / load for one model.
//
// Data-parallel by construction: it runs on a Communicator (one group of
// ranks). Each rank takes its slice of every global batch, gradients are
// averaged over the group, and all decisions (metrics, callbacks) come from
// group-reduced values. With LocalComm it is plain single-process training.
// Rank contract: every rank of the group calls fit/evaluate/predict with the
// same config and the same global data order; only rank 0 writes files.
// LibTorch stays behind the pimpl so callers need not include it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "config/config.h"
#include "data/dataset.h"
#include "data/row_source.h"
#include "train/callbacks.h"
#include "train/metrics.h"

namespace tf {

struct ModelInfo {
  int64_t steps = 0, channels = 0, classes = 0;
  std::vector<std::string> class_names;
  std::vector<int64_t> class_counts;  // training rows per class (for losses)
  nlohmann::json to_json() const;
  static ModelInfo from_json(const nlohmann::json& j, const std::string& source);
};

struct FitResult {
  int epochs_run = 0;
  bool stopped_early = false;
  int best_epoch = 0;
  double seconds = 0;
  std::vector<std::map<std::string, double>> history;
};

struct EvalResult {
  double loss = 0;
  ConfusionMatrix cm;
  int64_t rows = 0;
};

class Trainer {
 public:
  Trainer(const config::Config& cfg, Communicator& comm, const ModelInfo& info);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Checks what fit() would reject, before any file is written: callbacks
  // that monitor validation values need validation data.
  void validate_fit(bool has_validation) const;

  // Trains on `train` (normalised already), validating on `val` when given.
  // `run_dir` empty: no files are written.
  // `extra` callbacks (e.g. a tuning pruner) run after the configured ones.
  FitResult fit(const Dataset& train, const Dataset* val, const std::filesystem::path& run_dir,
                const std::vector<Callback*>& extra = {});
  // The same, reading only the training rows this rank needs: a whole
  // epoch's share at a time, or batch by batch ahead of use when
  // `train.streamed()`. A streamed `val` is read in chunks each epoch.
  FitResult fit(const RowSource& train, const Dataset* val, const std::filesystem::path& run_dir,
                const std::vector<Callback*>& extra = {});
  FitResult fit(const RowSource& train, const RowSource* val, const std::filesystem::path& run_dir,
                const std::vector<Callback*>& extra = {});
  // Group-reduced loss and confusion matrix; each rank reads only its share.
  EvalResult evaluate(const Dataset& d);
  EvalResult evaluate(const RowSource& d);
  // The same, also giving the class probabilities (as predict_proba) from the
  // same forward pass.
  EvalResult evaluate(const RowSource& d, std::vector<float>* proba);
  // Class probabilities, row-major [n, classes], on every rank.
  std::vector<float> predict_proba(const Dataset& d);
  std::vector<float> predict_proba(const RowSource& d);

  void save_weights(const std::filesystem::path& path);
  void load_weights(const std::filesystem::path& path);
  void save_optimizer(const std::filesystem::path& path);
  // Flat copy of every parameter and buffer (for equivalence tests).
  std::vector<float> flat_state() const;
  int64_t parameter_count() const;

  struct Impl;  // train/trainer_impl.h: internal (LibTorch types)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tf
