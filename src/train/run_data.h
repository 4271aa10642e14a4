// The data side of a training run (train/run.cc): where each split's rows
// are read from, and the normaliser. Internal to train/.
#pragma once

#include <memory>

#include "comm/communicator.h"
#include "config/config.h"
#include "data/normalizer.h"
#include "data/row_source.h"
#include "train/run.h"

namespace tf {

// The split's rows as the trainer reads them. Every rank decides alone (the
// results do not depend on it): when the rows it needs (its share of the
// training rows, and the validation and test rows) fit its cache budget
// (data.cache_mb), they are read once and kept in memory; otherwise they are
// streamed: training rows batch by batch, validation and test in chunks.
struct SplitSources {
  SplitSources() = default;
  SplitSources(const SplitSources&) = delete;  // the in-memory sources point into *_mem
  SplitSources& operator=(const SplitSources&) = delete;

  bool streamed = false;
  int64_t rank_bytes = 0, budget_bytes = 0;
  Normalizer norm;
  Dataset train_mem, val_mem, test_mem;  // the in-memory case
  std::unique_ptr<RowSource> train, val, test;

  // Decides, fits the normaliser (group-reduced partial sums, read in chunks
  // when streaming) and opens the sources. Collective over `comm`.
  static std::unique_ptr<SplitSources> open(const config::Config& cfg, const TrainSplit& s, Communicator& comm);
  nlohmann::json summary() const;
};

// Every row of `file` as a streamed source, checked against the model's
// window shape and class count (evaluate, predict).
std::unique_ptr<RowSource> open_for_model(const std::filesystem::path& file, int64_t steps, int64_t channels,
                                          int64_t classes, const Normalizer& norm);

}  // namespace tf
