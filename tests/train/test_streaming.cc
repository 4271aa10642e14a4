// Training rows streamed from the file batch by batch (and validation rows
// in chunks) give bit for bit the fit, evaluation and predictions of rows
// held in memory, also across a stop and resume in the middle of an epoch.
#include <gtest/gtest.h>

#include <numeric>

#include "comm/communicator.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "data/h5io.h"
#include "data/row_source.h"
#include "test_util.h"
#include "train/small_data.h"
#include "train/trainer.h"

namespace tf {

namespace {
struct Files : test::SmallData {
  test::TempDir dir{"tf-stream"};
  Files() : SmallData(160, 3, 0.25) {
    write_h5(dir / "train.h5", train);  // normalised already: an identity normaliser keeps it so
    write_h5(dir / "val.h5", val);
  }
  H5Rows rows(const Dataset& d, const char* file) const {
    std::vector<int64_t> all(static_cast<size_t>(d.n));
    std::iota(all.begin(), all.end(), 0);
    return H5Rows(dir / file, all, d.y, d.t, d.c, Normalizer::identity(d.c), /*stream=*/true);
  }
};

config::Config make_config(nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json doc = {
      {"model", {{"name", "cnn1d"}, {"cnn1d", {{"channels", {8, 8}}, {"kernel_sizes", {5, 3}}, {"dropout", 0.2}}}}},
      {"training", {{"epochs", 3}, {"batch_size", 16}, {"learning_rate", 0.01}}}};
  doc.merge_patch(extra);
  return config::Config::resolve(doc);
}
}  // namespace

TEST(Streaming, StreamedRowsTrainBitForBitAsRowsInMemory) {
  Files f;
  LocalComm comm;
  const auto cfg = make_config();
  Trainer mem(cfg, comm, f.info);
  auto fit_mem = mem.fit(f.train, &f.val, {});
  const H5Rows train = f.rows(f.train, "train.h5"), val = f.rows(f.val, "val.h5");
  ASSERT_TRUE(train.streamed());
  Trainer streamed(cfg, comm, f.info);
  auto fit_streamed = streamed.fit(train, &val, {});
  EXPECT_EQ(streamed.flat_state(), mem.flat_state());
  EXPECT_EQ(fit_streamed.history, fit_mem.history);
  // Every epoch read each training row once; validation once per epoch, evaluation once more.
  EXPECT_EQ(train.rows_read(), 3 * f.train.n);
  const EvalResult e_mem = mem.evaluate(f.val), e_streamed = streamed.evaluate(val);
  EXPECT_EQ(e_streamed.loss, e_mem.loss);
  EXPECT_EQ(e_streamed.cm.as_doubles(), e_mem.cm.as_doubles());
  EXPECT_EQ(val.rows_read(), 4 * f.val.n);
  EXPECT_EQ(streamed.predict_proba(val), mem.predict_proba(f.val));
}

TEST(Streaming, AStreamedFitStoppedMidEpochResumesExactly) {
  Files f;
  LocalComm comm;
  install_stop_handlers();
  const auto cfg = make_config({{"training", {{"epochs", 3}}}});
  test::TempDir ref_run, run;
  Trainer ref(cfg, comm, f.info);
  auto ref_fit = ref.fit(f.train, &f.val, ref_run.path());
  const H5Rows train = f.rows(f.train, "train.h5"), val = f.rows(f.val, "val.h5");
  ::setenv("TRAINFLEET_SIGNAL_AT", "2:3", 1);
  {
    Trainer first(cfg, comm, f.info);
    EXPECT_THROW(first.fit(train, &val, run.path()), Preempted);
  }
  ::unsetenv("TRAINFLEET_SIGNAL_AT");
  set_stop_requested(0);
  Trainer second(cfg, comm, f.info);
  auto fit = second.fit(train, &val, run.path());
  EXPECT_EQ(second.flat_state(), ref.flat_state());
  EXPECT_EQ(fit.history, ref_fit.history);
}

}  // namespace tf

namespace tf {

// A test set's loss, confusion matrix and class probabilities come from one
// pass over its rows: the same values as evaluate and predict_proba apart.
TEST(Streaming, EvaluateWithProbabilitiesReadsTheRowsOnce) {
  Files f;
  LocalComm comm;
  Trainer t(make_config({{"training", {{"epochs", 1}}}}), comm, f.info);
  t.fit(f.train, &f.val, {});
  const H5Rows val = f.rows(f.val, "val.h5");
  std::vector<float> proba;
  const EvalResult both = t.evaluate(val, &proba);
  EXPECT_EQ(val.rows_read(), f.val.n);
  const EvalResult alone = t.evaluate(f.val);
  EXPECT_EQ(both.loss, alone.loss);
  EXPECT_EQ(both.cm.as_doubles(), alone.cm.as_doubles());
  EXPECT_EQ(both.rows, alone.rows);
  ASSERT_EQ(proba.size(), static_cast<size_t>(f.val.n * f.info.classes));
  EXPECT_EQ(proba, t.predict_proba(f.val));
}

}  // namespace tf
