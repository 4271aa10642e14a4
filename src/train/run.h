// The commands behind `trainfleet train | evaluate | predict`: data loading,
// splitting, normalisation, the trainer, and the run folder.
//
// Run folder (runs/<experiment>/<id>/): config.yaml (resolved), model.json,
// normalizer.json, history.csv, metrics.jsonl, best.pt, checkpoints/,
// model.pt (final weights, best restored), optimizer.pt, summary.json.
// Rank contract: every rank of the communicator calls these with the same
// arguments; rank 0 alone writes files and prints.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "comm/communicator.h"
#include "config/config.h"
#include "data/dataset.h"
#include "data/row_source.h"
#include "train/callbacks.h"

namespace tf {

// The rows of one training run: row lists only, no windows. The trainer
// reads the rows when it needs them, keeping them in memory when a rank's
// rows fit data.cache_mb and streaming them from the file otherwise.
struct TrainSplit {
  std::vector<int64_t> train_rows, train_labels;  // rows of data.path
  Dataset labels;  // /y (and /groups, /time) of data.path, with the shape and class names
  RowList val, test;  // rows of data.path, or every row of data.val_path / data.test_path
  bool has_val = false, has_test = false;
  nlohmann::json rows;  // row numbers of data.path in each split (splits.json)
};

// The split `train` uses: data.test_split / data.test_path, then
// data.validation_split / data.val_path; stratified and seeded.
TrainSplit load_splits(const config::Config& cfg);

// A split of data.path given by its row lists (CV folds): `train` is split
// further by data.validation_split (seeded, stratified) when it is > 0.
TrainSplit split_from_rows(const config::Config& cfg, const Dataset& labels, std::vector<int64_t> train,
                           std::vector<int64_t> test);

// The share of a CV task's training rows set aside as validation rows:
// data.validation_split for neural models (their callbacks watch them), 0 for
// classical models, which never look at validation rows and so train on all
// of them (as scikit-learn's cross_val_score does).
double cv_validation_split(const config::Config& cfg);

struct TrainOutput {
  nlohmann::json summary;         // summary.json's content, with "run_dir"
  std::vector<float> test_proba;  // [test rows, classes] when asked for
};

// Fits the normaliser on the training rows (streamed partial sums), trains,
// evaluates on val and test (in chunks),
// and writes the run folder that `make_run_dir` creates (called on the
// group's first rank only, after every check of the config has passed).
TrainOutput train_split(const config::Config& cfg, Communicator& comm, TrainSplit& split,
                        const std::function<std::filesystem::path()>& make_run_dir, bool keep_test_proba = false,
                        const std::vector<Callback*>& extra_callbacks = {});

// Trains the config's model into the folder `make_run_dir` returns (see
// train_split; jobs::TrainFolder); returns summary.json's content (with "run_dir").
nlohmann::json run_train(const config::Config& cfg, Communicator& comm,
                         const std::function<std::filesystem::path()>& make_run_dir);

// Loads a finished run and evaluates it on `data`; returns the metrics.
nlohmann::json run_evaluate(const std::filesystem::path& run_dir, const std::filesystem::path& data,
                            Communicator& comm);

// Writes class predictions and probabilities for `data` to `out` (.h5: /pred,
// /proba; .csv: one row per window). Refuses to overwrite `out`.
void run_predict(const std::filesystem::path& run_dir, const std::filesystem::path& data,
                 const std::filesystem::path& out, Communicator& comm);

// Prints a per-class table and the headline metrics of an evaluation.
std::string metrics_table(const nlohmann::json& metrics);

}  // namespace tf
