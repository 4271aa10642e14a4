// Nested cross-validation with tuning inside (`trainfleet cv` with
// cv.nested: true and a tuning: section with a space).
//
// Every outer fold of cv.method / cv.n_splits runs a study of its own
// (<cv folder>/studies/fold_KK/, any sampler and pruner) whose trials are
// scored by cross-validation on cv.inner_n_splits folds of that outer fold's
// training rows only; the outer test rows never reach the study. The best
// trial (the first best in trial order, as scikit-learn's GridSearchCV picks
// among ties) is then retrained on the whole outer training set and scored on
// the outer test rows (folds/fold_KK.json), and cv_results.json reports the
// outer scores, the parameters each outer fold chose and how stable that
// choice is.
//
// Scheduling: one job over rank groups (jobs/queue.h) whose tasks are the
// trials of every outer fold's study and the retraining of each outer fold,
// handed out dynamically: a group takes a trial of the first study that has
// one left, else the retraining of a finished study nobody has taken, else
// waits while other groups finish trials. A rerun of the same command
// resumes: finished trials and outer folds are kept, interrupted ones go on
// from their resume checkpoints.
//
// Rank contract: every rank of the world calls run_nested_cv with the same config.
#pragma once

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "jobs/queue.h"

namespace tf::tune {

// Whether `cfg` asks for nested CV with tuning (cv.nested and a tuning.space).
bool is_nested_tuning(const config::Config& cfg);

// Runs (or resumes) it; returns cv_results.json's content on world rank 0.
nlohmann::json run_nested_cv(const config::Config& cfg, const jobs::Job& job);

}  // namespace tf::tune
