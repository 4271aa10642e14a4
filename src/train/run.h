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
#include <nlohmann/json.hpp>

#include "comm/communicator.h"
#include "config/config.h"

namespace tf {

// Trains the config's model; returns summary.json's content (with "run_dir").
nlohmann::json run_train(const config::Config& cfg, Communicator& comm);

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
