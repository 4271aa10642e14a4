#include "train/run_data.h"

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "data/batch_stream.h"
#include "data/cache_budget.h"
#include "data/h5io.h"

namespace tf {

namespace {

void check_shape(const RowList& l, const Dataset& labels) {
  TF_CHECK_INPUT(l.steps == labels.t && l.channels == labels.c,
                 l.file.string() + ": windows are [" + std::to_string(l.steps) + ", " + std::to_string(l.channels) +
                     "] but the training data has [" + std::to_string(labels.t) + ", " + std::to_string(labels.c) +
                     "]");
}

// Training labels, splits.json's row lists (of data.path) and one class count for all.
void finish_split(TrainSplit& s, const std::string& path, const std::vector<int64_t>& val_rows,
                  const std::vector<int64_t>& test_rows) {
  for (auto r : s.train_rows) s.train_labels.push_back(s.labels.y[static_cast<size_t>(r)]);
  s.rows = {{"data", path}, {"train", s.train_rows}, {"val", val_rows}, {"test", test_rows}};
  const int64_t k = std::max({s.labels.num_classes, s.val.num_classes, s.test.num_classes});
  s.labels.num_classes = s.val.num_classes = s.test.num_classes = k;
}

}  // namespace

TrainSplit load_splits(const config::Config& cfg) {
  TrainSplit s;
  const std::string path = cfg.get_string("data.path");
  s.labels = read_labels(path);
  const uint64_t seed = static_cast<uint64_t>(cfg.get_int("experiment.seed"));
  std::vector<int64_t> rows(static_cast<size_t>(s.labels.n));
  for (int64_t i = 0; i < s.labels.n; ++i) rows[i] = i;
  std::vector<int64_t> rest = rows, held;
  if (!cfg.get_string("data.test_path").empty()) {
    s.test = whole_file(cfg.get_string("data.test_path"));
    s.has_test = true;
  } else if (cfg.get_float("data.test_split") > 0) {
    stratified_split(s.labels.y, rows, cfg.get_float("data.test_split"), seed, &rest, &held);
    s.has_test = !held.empty();
    if (s.has_test) s.test = row_list(path, s.labels, held);
  }
  std::vector<int64_t> val_rows;
  s.train_rows = rest;
  if (!cfg.get_string("data.val_path").empty()) {
    s.val = whole_file(cfg.get_string("data.val_path"));
    s.has_val = true;
  } else if (cfg.get_float("data.validation_split") > 0) {
    stratified_split(s.labels.y, rest, cfg.get_float("data.validation_split"), seed + 1, &s.train_rows, &val_rows);
    s.has_val = !val_rows.empty();
    if (s.has_val) s.val = row_list(path, s.labels, val_rows);
  }
  TF_CHECK_INPUT(!s.train_rows.empty(), path + ": no rows left for training after the test and validation splits");
  if (s.has_val) check_shape(s.val, s.labels);
  if (s.has_test) check_shape(s.test, s.labels);
  finish_split(s, path, val_rows, held);
  return s;
}

TrainSplit split_from_rows(const config::Config& cfg, const Dataset& labels, std::vector<int64_t> train,
                           std::vector<int64_t> test) {
  const std::string path = cfg.get_string("data.path");
  TrainSplit s;
  s.labels = labels;
  std::vector<int64_t> val_rows;
  s.train_rows = train;
  if (cv_validation_split(cfg) > 0) {  // classical models train on all of the fold's training rows
    std::sort(train.begin(), train.end());
    stratified_split(labels.y, train, cv_validation_split(cfg),
                     static_cast<uint64_t>(cfg.get_int("experiment.seed")) + 1, &s.train_rows, &val_rows);
  }
  std::sort(s.train_rows.begin(), s.train_rows.end());
  std::sort(test.begin(), test.end());
  s.has_val = !val_rows.empty();
  if (s.has_val) s.val = row_list(path, labels, val_rows);
  s.has_test = true;
  s.test = row_list(path, labels, test);
  finish_split(s, path, val_rows, test);
  return s;
}

namespace {

// Per-channel normaliser over the training rows: each rank reads a contiguous
// share of them (in chunks), and the partial sums are added over the group.
// `keep` (one rank, in memory): that rank reads all rows at once and keeps
// them, normalised, for training.
Normalizer fit_normalizer(const config::Config& cfg, const TrainSplit& s, Communicator& comm, Dataset* keep) {
  const std::string path = cfg.get_string("data.path");
  const int64_t n = static_cast<int64_t>(s.train_rows.size());
  const int64_t lo = n * comm.rank() / comm.size(), hi = n * (comm.rank() + 1) / comm.size();
  std::vector<int64_t> mine(s.train_rows.begin() + lo, s.train_rows.begin() + hi);
  const bool want = cfg.get_bool("data.normalize");
  std::vector<double> sums;
  if (keep) {
    *keep = read_h5(path, mine);  // also validates these rows (NaN/Inf, labels)
    Normalizer::add_sums(*keep, sums);
  } else if (want) {
    const H5Rows part(path, mine, {}, s.labels.t, s.labels.c, Normalizer::identity(s.labels.c), true);
    for_each_chunk(part, 0, part.size(), 256, [&](int64_t, const Dataset& d) { Normalizer::add_sums(d, sums); });
  }
  Normalizer norm = Normalizer::identity(s.labels.c);
  if (want) {
    sums.resize(static_cast<size_t>(2 * s.labels.c + 1), 0.0);
    comm.allreduce_sum(sums.data(), sums.size());
    norm = Normalizer::from_sums(sums, s.labels.c);
  }
  if (keep) {
    norm.apply(*keep);
    keep->num_classes = s.labels.num_classes;
  }
  return norm;
}

// A split read whole into memory, normalised.
Dataset read_normalised(const RowList& l, const Normalizer& norm) {
  Dataset d = read_h5(l.file, l.rows);
  d.num_classes = l.num_classes;
  norm.apply(d);
  return d;
}

}  // namespace

std::unique_ptr<SplitSources> SplitSources::open(const config::Config& cfg, const TrainSplit& s,
                                                 Communicator& comm) {
  auto kept = std::make_unique<SplitSources>();
  SplitSources& o = *kept;
  const int64_t world = comm.size(), n = static_cast<int64_t>(s.train_rows.size());
  const int64_t row_bytes = s.labels.t * s.labels.c * static_cast<int64_t>(sizeof(float));
  o.rank_bytes = (n + world - 1) / world * row_bytes + (s.has_val ? s.val.bytes() : 0) +
                 (s.has_test ? s.test.bytes() : 0);
  o.budget_bytes = cache_budget_bytes(cfg.get_int("data.cache_mb"));
  o.streamed = o.rank_bytes > o.budget_bytes;
  if (comm.rank() == 0)
    spdlog::log(o.streamed ? spdlog::level::info : spdlog::level::debug,
                "data: {} (a rank's rows: {:.1f} MiB, data.cache_mb budget: {:.1f} MiB)",
                o.streamed ? "streamed from the file batch by batch" : "kept in memory", o.rank_bytes / 1048576.0,
                o.budget_bytes / 1048576.0);
  const bool keep = !o.streamed && world == 1;
  o.norm = fit_normalizer(cfg, s, comm, keep ? &o.train_mem : nullptr);
  if (keep) o.train = std::make_unique<MemoryRows>(o.train_mem);
  else
    o.train = std::make_unique<H5Rows>(cfg.get_string("data.path"), s.train_rows, s.train_labels, s.labels.t,
                                       s.labels.c, o.norm, o.streamed);
  auto open_eval = [&](bool has, const RowList& l, Dataset& mem) -> std::unique_ptr<RowSource> {
    if (!has) return nullptr;
    if (o.streamed) return std::make_unique<H5Rows>(l, o.norm, true);
    mem = read_normalised(l, o.norm);
    return std::make_unique<MemoryRows>(mem);
  };
  o.val = open_eval(s.has_val, s.val, o.val_mem);
  o.test = open_eval(s.has_test, s.test, o.test_mem);
  // Streamed, the validation and test rows are read once here, each rank its
  // share, so that a bad value stops the run before its folder exists (the
  // training rows were read for the normaliser).
  if (o.streamed)
    for (const RowSource* src : {o.val.get(), o.test.get()})
      if (src)
        for_each_chunk(*src, src->size() * comm.rank() / world, src->size() * (comm.rank() + 1) / world, 256,
                       [](int64_t, const Dataset&) {});
  return kept;
}

nlohmann::json SplitSources::summary() const {
  return {{"streamed", streamed}, {"rank_mb", rank_bytes / 1048576.0}, {"cache_mb", budget_bytes / 1048576.0}};
}

std::unique_ptr<RowSource> open_for_model(const std::filesystem::path& file, int64_t steps, int64_t channels,
                                          int64_t classes, const Normalizer& norm) {
  RowList l = whole_file(file);
  TF_CHECK_INPUT(l.steps == steps && l.channels == channels,
                 file.string() + ": /X windows are [" + std::to_string(l.steps) + " steps, " +
                     std::to_string(l.channels) + " channels] but the model was trained on [" +
                     std::to_string(steps) + ", " + std::to_string(channels) + "]");
  TF_CHECK_INPUT(l.num_classes <= classes, file.string() + ": /y has labels up to " +
                                               std::to_string(l.num_classes - 1) + " but the model knows " +
                                               std::to_string(classes) + " classes");
  return std::make_unique<H5Rows>(l, norm, true);
}

}  // namespace tf
