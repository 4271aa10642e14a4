// `trainfleet compare`: several models — neural, classical and soft-voting
// ensembles of them — on the same cross-validation folds, ranked by one
// metric with pairwise corrected resampled t-tests (cv/stats.h). Built on
// cv/ (folds, training a fold) and the job layer (jobs/: folder, queue).
//
//   compare:
//     metric: f1_macro
//     entries:
//       cnn: {model: cnn1d, set: {training.epochs: 30}}
//       svm: {model: svm, set: {model.svm.C: 10}}
//       vote: {ensemble: [cnn, svm], weights: [2, 1]}
//
// Every (model entry, fold) pair is one task, handed out dynamically to the
// rank groups; the folds come from the base config's cv.* and seed, which
// an entry may not change. The folder (experiment.run_id, or "compare-" + a
// hash of the config; locked while in use) holds entries/<name>/ (each a CV folder with
// cv_results.json), compare.json and compare.csv; rerunning resumes.
// Rank contract: every rank of the world calls run_compare with the same config.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "comm/communicator.h"
#include "config/config.h"
#include "jobs/queue.h"

namespace tf::compare {

// Runs the comparison as a job over rank groups (a failure on any rank aborts
// it); returns compare.json's content on world rank 0 (empty elsewhere).
nlohmann::json run_compare(const config::Config& cfg, const jobs::Job& job);

// Checks compare.entries as `compare` reads them (BadInput with the same
// messages); `config --check` calls it.
void check_entries(const config::Config& cfg);

// The ranking, the p-value matrix and the verdict as text.
std::string compare_table(const nlohmann::json& result);

// experiment.run_id, or "compare-" + a hash of the resolved config.
std::filesystem::path compare_dir(const config::Config& cfg);

}  // namespace tf::compare
