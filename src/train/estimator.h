// One interface for every model that `train`, `evaluate` and `predict` (and
// through them cv, tune and compare) run: neural models (the trainer, on a
// data-parallel group) and classical ones (features + XGBoost / LIBSVM,
// fitted on the group's first rank). train/run.cc has a single path over it.
//
// Rank contract: every rank of the group calls every method, in the same
// order; Scores are the same on every rank, and so are fit summaries but for
// timings (each rank's own); only the group's first rank writes files.
// Internal to train/.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "config/config.h"
#include "train/callbacks.h"
#include "train/run.h"
#include "train/trainer.h"

namespace tf {

// What a model is scored on: the split's validation or test rows (after
// fit), or every row of a data file (after load; checked against the model's
// window shape and classes).
struct ScoreOn {
  enum Kind { kVal, kTest, kFile } kind = kFile;
  std::filesystem::path file;
  static ScoreOn val() { return {kVal, {}}; }
  static ScoreOn test() { return {kTest, {}}; }
  static ScoreOn rows_of(std::filesystem::path f) { return {kFile, std::move(f)}; }
};

// Scores of one set of rows; probabilities are float32 for every model.
struct Scores {
  EvalResult eval;                 // loss, confusion matrix, rows (when asked for)
  std::vector<float> proba;        // [rows, classes] (when asked for)
  std::vector<int64_t> pred;       // the model's class decision per row (with proba)
};

class Estimator {
 public:
  virtual ~Estimator() = default;
  // Opens what fit() reads and checks what it would reject, before any run
  // folder exists (collective).
  virtual void prepare(const TrainSplit& s) = 0;
  // One line naming the model and its size, for the start-of-run log line.
  virtual std::string describe() const = 0;
  // Fits on the split's training rows, writing progress files (history,
  // checkpoints) into `run_dir`. Returns the summary.json fields the fit
  // adds (epochs_run, best_epoch, fit_seconds, ...), the same on every rank.
  virtual nlohmann::json fit(const TrainSplit& s, const std::filesystem::path& run_dir,
                             const std::vector<Callback*>& extra) = 0;
  // Scores rows; `with_eval`: loss and confusion matrix (needs labels);
  // `with_proba`: probabilities and class decisions.
  virtual Scores score(const ScoreOn& on, bool with_eval, bool with_proba) = 0;
  // Writes the fitted model's files into `run_dir` (first rank of the group).
  virtual void save(const std::filesystem::path& run_dir) = 0;
  // Reads them back from a finished run folder.
  virtual void load(const std::filesystem::path& run_dir) = 0;
};

// The estimator for cfg's model.name.
std::unique_ptr<Estimator> make_estimator(const config::Config& cfg, Communicator& comm, const ModelInfo& info);
std::unique_ptr<Estimator> make_neural_estimator(const config::Config& cfg, Communicator& comm, const ModelInfo& info);
std::unique_ptr<Estimator> make_classical_estimator(const config::Config& cfg, Communicator& comm,
                                                    const ModelInfo& info);

// The files every run folder holds, whatever its model (see run.h).
nlohmann::json read_json_file(const std::filesystem::path& p);

}  // namespace tf
