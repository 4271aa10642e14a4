// Cross-validation over rank groups (`trainfleet cv`).
//
// Every fold (and, in nested mode, every inner fold) is an independent
// training run. Tasks go to rank groups dynamically: a group's first rank
// takes the next task from a counter shared by the whole world (MPI one-sided
// fetch-and-add, nobody has to answer), so a group that finishes early takes
// more. Each task trains data-parallel inside its group with the full trainer
// (normaliser fitted on the fold's training rows only, a stratified seeded
// validation split taken from them for the callbacks) and writes its result
// atomically to folds/<task>.json; a rerun of the same command skips tasks
// whose result exists. The folder is locked while a CV uses it. World rank 0 then aggregates cv_results.json and
// oof_predictions.csv.
//
// Rank contract: every rank of the world calls run_cv with the same config;
// `group` is this rank's group (world split by ranks per run).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "config/config.h"
#include "data/dataset.h"
#include "jobs/queue.h"
#include "train/run.h"

namespace tf::cv {

struct Task {
  std::string name;    // "fold_02" or "outer_01_inner_02"
  int64_t outer = 0;   // outer fold
  int64_t inner = -1;  // inner fold (nested mode), -1 for an outer fold
  std::vector<int64_t> train, test;  // rows of data.path
};

// The tasks the config asks for, after the leakage checks (group folds share
// no group; time-series training rows come strictly before test rows with the
// gap; inner folds lie inside their outer training rows). `warnings` gets
// scikit-learn's warnings. BadInput names the splitter and the numbers.
std::vector<Task> plan(const config::Config& cfg, const Dataset& labels, std::vector<std::string>* warnings);

// The folds of cv.method / cv.n_splits over `rows` of data.path only (nested
// CV: the folds a study scores its trials on inside an outer training set),
// with the same leakage checks; task names fold_00, fold_01, ...
std::vector<Task> plan_folds(const config::Config& cfg, const Dataset& labels, const std::vector<int64_t>& rows,
                             std::vector<std::string>* warnings);

// Trains one task on `group` (the full trainer; a stratified, seeded validation
// split of the task's training rows), evaluating on its test rows, into `task_dir`.
TrainOutput train_task(const config::Config& cfg, Communicator& group, const Dataset& labels, const Task& task,
                       const std::filesystem::path& task_dir, const std::vector<Callback*>& extra = {});

// Trains `task` on this group into run_dir/folds/<task>/; returns, on the
// group's first rank, the task's record (test rows, labels, probabilities, metrics).
nlohmann::json run_task(const config::Config& cfg, Communicator& group, int group_id, const Dataset& labels,
                        const Task& task, const std::filesystem::path& run_dir);

// Writes a record of run_task to run_dir/folds/<task>.json and logs its scores.
void save_task(const config::Config& cfg, const nlohmann::json& record, const std::filesystem::path& run_dir);

// Reads every task's folds/<task>.json under `run_dir` and writes cv_results.json
// (per-fold and mean/std scores, pooled out-of-fold metrics, and the keys of
// `extra`) and oof_predictions.csv.
nlohmann::json aggregate(const config::Config& cfg, const Dataset& labels, const std::vector<Task>& tasks,
                         const std::filesystem::path& run_dir, const nlohmann::json& extra = nlohmann::json::object());

// Runs the CV as a job over rank groups (jobs/queue.h); returns cv_results.json's
// content on world rank 0 (empty elsewhere). A failure on any rank aborts it.
// `only`: run just these task indices (a Slurm array task's share) and return
// without aggregating; empty means every task, then aggregate.
nlohmann::json run_cv(const config::Config& cfg, const jobs::Job& job, const std::vector<int64_t>& only = {});

// The run folder of a CV: experiment.run_id, or "cv-" + a hash of the resolved
// config, so that rerunning the same command resumes it.
std::filesystem::path cv_run_dir(const config::Config& cfg);

// Printed summary of cv_results.json.
std::string results_table(const nlohmann::json& results);

}  // namespace tf::cv
