// Data-parallel equivalence under mpirun: N ranks each taking B/N rows of
// every global batch end with the same weights as one rank taking all B rows.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cmath>

#include "comm/mpi_comm.h"
#include "core/fs.h"
#include "core/interrupt.h"
#include "data/h5io.h"
#include "data/normalizer.h"
#include "data/synth.h"
#include "train/trainer.h"
#include "train/small_data.h"

namespace tf {

namespace {
MpiComm& world() {
  static MpiComm w(MPI_COMM_WORLD, false, 120.0);
  return w;
}

// 150 windows: 118 training rows, so the last global batch of 16 is uneven.
struct Data : test::SmallData {
  Data() : SmallData(150, 11, 0.21) {}
};

config::Config cfg_for(const std::string& model, const std::string& optimizer) {
  // Dropout off and no batch norm: both draw per-rank randomness or statistics
  // by design (as in PyTorch DDP without SyncBatchNorm).
  return config::Config::resolve(nlohmann::json{
      {"model",
       {{"name", model},
        {"mlp", {{"dropout", 0.0}, {"hidden_units", {32}}}},
        {"cnn1d", {{"channels", {8, 8}}, {"kernel_sizes", {5, 3}}, {"batch_norm", false}, {"dropout", 0.0}}},
        {"lstm", {{"hidden_size", 16}, {"downsample", 4}}}}},
      {"training",
       {{"epochs", 2},
        {"batch_size", 16},
        {"optimizer", optimizer},
        {"learning_rate", optimizer == "sgd" ? 0.05 : 0.003},
        {"optimizer_config", {{"momentum", optimizer == "sgd" ? 0.9 : 0.0}}},
        {"callbacks", {{"model_checkpoint", false}, {"early_stopping", false}}}}}});
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
  return d;
}
}  // namespace

class Equivalence : public ::testing::TestWithParam<std::string> {};

TEST_P(Equivalence, NRanksMatchOneRankWithTheFullBatch) {
  Data d;
  auto cfg = cfg_for(GetParam(), "sgd");
  Trainer dp(cfg, world(), d.info);
  auto fit_dp = dp.fit(d.train, &d.val, {});
  LocalComm local;
  Trainer one(cfg, local, d.info);
  auto fit_one = one.fit(d.train, &d.val, {});
  double diff = max_abs_diff(dp.flat_state(), one.flat_state());
  EXPECT_LE(diff, 1e-5) << GetParam() << " on " << world().size() << " ranks";
  // Every rank ends with identical weights.
  auto mine = dp.flat_state();
  std::vector<float> first = mine;
  world().broadcast(first.data(), first.size() * sizeof(float), 0);
  EXPECT_EQ(max_abs_diff(mine, first), 0.0);
  // Epoch statistics come from all rows, as in the single-rank run.
  for (size_t e = 0; e < fit_one.history.size(); ++e) {
    EXPECT_NEAR(fit_dp.history[e].at("loss"), fit_one.history[e].at("loss"), 1e-5);
    EXPECT_NEAR(fit_dp.history[e].at("val_loss"), fit_one.history[e].at("val_loss"), 1e-5);
    EXPECT_EQ(fit_dp.history[e].at("val_accuracy"), fit_one.history[e].at("val_accuracy"));
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Equivalence, ::testing::Values("mlp", "cnn1d", "lstm"));

// Training rows read from the file by each rank: only its slices of the batches.
TEST(Ddp, EachRankReadsOnlyItsRowsFromTheFile) {
  Data d;
  std::string path = "/tmp/tf-ddp-" + std::to_string(::getpid() - world().rank()) + ".h5";
  if (world().rank() == 0) {
    Dataset raw = d.train;  // already normalised: an identity normaliser keeps it so
    std::remove(path.c_str());
    write_h5(path, raw);
  }
  world().barrier();
  std::vector<int64_t> rows(static_cast<size_t>(d.train.n));
  for (int64_t i = 0; i < d.train.n; ++i) rows[i] = i;
  H5Rows source(path, rows, d.train.y, d.train.t, d.train.c, Normalizer::identity(d.train.c));
  auto cfg = cfg_for("cnn1d", "sgd");
  Trainer dp(cfg, world(), d.info);
  dp.fit(source, &d.val, {});
  LocalComm local;
  Trainer one(cfg, local, d.info);
  one.fit(d.train, &d.val, {});
  EXPECT_LE(max_abs_diff(dp.flat_state(), one.flat_state()), 1e-5);
  // 2 epochs; each rank's share of every batch of 16, plus at most one row of rounding per batch.
  const int64_t steps = (d.train.n + 15) / 16;
  EXPECT_LE(source.rows_read(), 2 * (d.train.n / world().size() + steps));
  EXPECT_GT(source.rows_read(), 0);
  world().barrier();
  if (world().rank() == 0) std::remove(path.c_str());
}

// The same ranks reading their rows batch by batch (streamed, with
// validation in chunks) end bit for bit where whole-epoch reads end.
TEST(Ddp, StreamedRowsTrainBitForBitAsEpochReads) {
  Data d;
  const std::string stem = "/tmp/tf-ddp-stream-" + std::to_string(::getpid() - world().rank());
  if (world().rank() == 0) {
    std::remove((stem + "-train.h5").c_str());
    std::remove((stem + "-val.h5").c_str());
    write_h5(stem + "-train.h5", d.train);
    write_h5(stem + "-val.h5", d.val);
  }
  world().barrier();
  auto rows = [](const Dataset& ds, const std::string& file, bool stream) {
    std::vector<int64_t> all(static_cast<size_t>(ds.n));
    for (int64_t i = 0; i < ds.n; ++i) all[i] = i;
    return H5Rows(file, all, ds.y, ds.t, ds.c, Normalizer::identity(ds.c), stream);
  };
  auto cfg = cfg_for("cnn1d", "adam");
  const H5Rows epochwise = rows(d.train, stem + "-train.h5", false);
  Trainer a(cfg, world(), d.info);
  auto fit_a = a.fit(epochwise, &d.val, {});
  const H5Rows streamed = rows(d.train, stem + "-train.h5", true), val = rows(d.val, stem + "-val.h5", true);
  Trainer b(cfg, world(), d.info);
  auto fit_b = b.fit(streamed, &val, {});
  EXPECT_EQ(a.flat_state(), b.flat_state());
  EXPECT_EQ(fit_a.history, fit_b.history);
  EXPECT_EQ(a.predict_proba(d.val), b.predict_proba(val));
  world().barrier();
  if (world().rank() == 0) {
    std::remove((stem + "-train.h5").c_str());
    std::remove((stem + "-val.h5").c_str());
  }
}

TEST(Ddp, AdamStaysCloseAndPredictionsAreGathered) {
  Data d;
  auto cfg = cfg_for("cnn1d", "adam");
  Trainer dp(cfg, world(), d.info);
  dp.fit(d.train, &d.val, {});
  LocalComm local;
  Trainer one(cfg, local, d.info);
  one.fit(d.train, &d.val, {});
  EXPECT_LE(max_abs_diff(dp.flat_state(), one.flat_state()), 1e-4);
  auto p_dp = dp.predict_proba(d.val);
  auto p_one = one.predict_proba(d.val);
  ASSERT_EQ(p_dp.size(), p_one.size());
  EXPECT_LE(max_abs_diff(p_dp, p_one), 1e-4);
}

// SIGUSR1 on rank 0 alone, mid-epoch: every rank stops after the same step
// (they agree through an all-reduce), rank 0 writes the checkpoint, and a
// resumed data-parallel fit ends with the uninterrupted fit's weights.
TEST(Ddp, ASignalOnOneRankStopsAllAndTheResumedFitMatches) {
  Data d;
  install_stop_handlers();
  auto cfg = cfg_for("cnn1d", "adam");
  Trainer ref(cfg, world(), d.info);
  ref.fit(d.train, &d.val, {});
  std::string dir = "/tmp/tf-ddp-resume-" + std::to_string(::getpid() - world().rank());
  if (world().rank() == 0) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  world().barrier();
  ::setenv("TRAINFLEET_SIGNAL_AT", "2:3", 1);
  {
    Trainer first(cfg, world(), d.info);
    EXPECT_THROW(first.fit(d.train, &d.val, dir), Preempted);
  }
  ::unsetenv("TRAINFLEET_SIGNAL_AT");
  EXPECT_EQ(stop_requested(), world().rank() == 0 ? SIGUSR1 : 0);
  set_stop_requested(0);
  world().barrier();
  Trainer second(cfg, world(), d.info);
  second.fit(d.train, &d.val, dir);
  EXPECT_LE(max_abs_diff(second.flat_state(), ref.flat_state()), 1e-6);
  world().barrier();
  if (world().rank() == 0) fs::remove_all(dir);
}

}  // namespace tf
