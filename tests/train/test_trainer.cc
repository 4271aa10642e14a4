#include <gtest/gtest.h>

#include <algorithm>

#include "comm/communicator.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/interrupt.h"
#include "data/normalizer.h"
#include "data/synth.h"
#include "train/trainer.h"
#include "train/small_data.h"
#include "test_util.h"

namespace tf {

namespace {
struct Small : test::SmallData {
  Small() : SmallData(160, 3, 0.25) {}
};

config::Config small_config(nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json doc = {
      {"model", {{"name", "cnn1d"}, {"cnn1d", {{"channels", {8, 8}}, {"kernel_sizes", {5, 3}}}}}},
      {"training",
       {{"epochs", 4}, {"batch_size", 16}, {"learning_rate", 0.01}, {"callbacks", {{"model_checkpoint", false}}}}}};
  doc.merge_patch(extra);
  return config::Config::resolve(doc);
}
}  // namespace

TEST(Trainer, SeededRunsAreBitForBitReproducible) {
  Small s;
  LocalComm comm;
  auto cfg = small_config();
  Trainer a(cfg, comm, s.info), b(cfg, comm, s.info);
  auto ha = a.fit(s.train, &s.val, {});
  auto hb = b.fit(s.train, &s.val, {});
  EXPECT_EQ(a.flat_state(), b.flat_state());
  EXPECT_EQ(ha.history, hb.history);
  Trainer c(small_config({{"experiment", {{"seed", 43}}}}), comm, s.info);
  c.fit(s.train, &s.val, {});
  EXPECT_NE(a.flat_state(), c.flat_state());
}

TEST(Trainer, LearnsAndRestoresBestWeights) {
  Small s;
  LocalComm comm;
  for (const std::string model : {"mlp", "cnn1d", "lstm"}) {
    auto cfg = small_config({{"model", {{"name", model}}},
                             {"training", {{"epochs", 6}, {"callbacks", {{"early_stopping_patience", 100}}}}}});
    Trainer t(cfg, comm, s.info);
    auto fit = t.fit(s.train, &s.val, {});
    ASSERT_EQ(fit.history.size(), 6u);
    EXPECT_LT(fit.history.back().at("loss"), fit.history.front().at("loss")) << model;
    double best = 1e30;
    for (auto& h : fit.history) best = std::min(best, h.at("val_loss"));
    // restore_best_weights: the model now is the one of the best epoch.
    EXPECT_NEAR(t.evaluate(s.val).loss, best, 1e-5) << model;
  }
}

TEST(Trainer, SaveAndLoadGiveTheSamePredictions) {
  Small s;
  LocalComm comm;
  test::TempDir dir;
  auto cfg = small_config();
  Trainer a(cfg, comm, s.info);
  a.fit(s.train, &s.val, {});
  a.save_weights(dir / "w.pt");
  Trainer b(cfg, comm, s.info);
  b.load_weights(dir / "w.pt");
  EXPECT_EQ(a.predict_proba(s.val), b.predict_proba(s.val));
  EXPECT_THROW(b.load_weights(dir / "missing.pt"), BadInput);
}

TEST(Trainer, ValidationMonitorWithoutValidationDataIsBadInput) {
  Small s;
  LocalComm comm;
  Trainer t(small_config({{"training", {{"callbacks", {{"early_stopping", true}}}}}}), comm, s.info);
  try {
    t.fit(s.train, nullptr, {});
    FAIL();
  } catch (const BadInput& e) {
    EXPECT_NE(std::string(e.what()).find("training.callbacks.early_stopping_monitor"), std::string::npos);
  }
}

TEST(Trainer, WritesRunFilesWithCheckpoints) {
  Small s;
  LocalComm comm;
  test::TempDir dir;
  auto cfg = small_config({{"training", {{"callbacks", {{"model_checkpoint", true}, {"checkpoint_every_n_epochs", 2}}}}}});
  Trainer t(cfg, comm, s.info);
  t.fit(s.train, &s.val, dir.path());
  EXPECT_TRUE(fs::exists(dir / "best.pt"));
  EXPECT_TRUE(fs::exists(dir / "checkpoints/epoch_0002.pt"));
  EXPECT_TRUE(fs::exists(dir / "checkpoints/epoch_0004.pt"));
  EXPECT_TRUE(fs::exists(dir / "history.csv"));
  EXPECT_TRUE(fs::exists(dir / "metrics.jsonl"));
  Trainer u(cfg, comm, s.info);
  EXPECT_NO_THROW(u.load_weights(dir / "best.pt"));
}

// A fit stopped by SIGUSR1 (mid-epoch or at an epoch's end) writes a resume
// checkpoint and throws Preempted; a new trainer on the same folder continues
// and ends bit for bit where the uninterrupted fit ends: weights, history,
// early-stopping best weights, plateau LR, dropout's RNG, history.csv.
TEST(Trainer, ResumesAfterASignalExactlyWhereAnUninterruptedFitEnds) {
  Small s;
  LocalComm comm;
  install_stop_handlers();
  auto cfg = small_config({{"model", {{"cnn1d", {{"dropout", 0.3}}}}},
                           {"training",
                            {{"epochs", 5},
                             {"callbacks",
                              {{"early_stopping_patience", 100},
                               {"reduce_lr_on_plateau", true},
                               {"reduce_lr_patience", 1},
                               {"model_checkpoint", true}}}}}});
  test::TempDir ref_dir;
  Trainer ref(cfg, comm, s.info);
  auto ref_fit = ref.fit(s.train, &s.val, ref_dir.path());
  EXPECT_FALSE(fs::exists(ref_dir / "resume" / "state.json.tmp"));
  for (const char* at : {"2:3", "3:0", "1:1"}) {
    test::TempDir dir;
    ::setenv("TRAINFLEET_SIGNAL_AT", at, 1);
    {
      Trainer first(cfg, comm, s.info);
      EXPECT_THROW(first.fit(s.train, &s.val, dir.path()), Preempted) << at;
    }
    ::unsetenv("TRAINFLEET_SIGNAL_AT");
    EXPECT_EQ(stop_requested(), SIGUSR1);
    set_stop_requested(0);
    ASSERT_TRUE(fs::exists(dir / "resume" / "state.json")) << at;
    Trainer second(cfg, comm, s.info);
    auto fit = second.fit(s.train, &s.val, dir.path());
    EXPECT_EQ(second.flat_state(), ref.flat_state()) << at;
    EXPECT_EQ(fit.history, ref_fit.history) << at;
    EXPECT_EQ(fit.epochs_run, ref_fit.epochs_run);
    EXPECT_EQ(fit.best_epoch, ref_fit.best_epoch);
    // history.csv: a header and one row per epoch, as in the uninterrupted run.
    auto lines = [](const fs::path& p) {
      std::string t = read_file(p);
      return std::count(t.begin(), t.end(), '\n');
    };
    EXPECT_EQ(lines(dir / "history.csv"), lines(ref_dir / "history.csv")) << at;
    EXPECT_EQ(lines(dir / "metrics.jsonl"), 5) << at;
  }
}

// A checkpoint torn by a machine crash (its files are written without fsync)
// is dropped with a warning: the fit starts afresh and ends as an uninterrupted one.
TEST(Trainer, AnUnreadableResumeCheckpointStartsTheRunAfresh) {
  Small s;
  LocalComm comm;
  install_stop_handlers();
  auto cfg = small_config();
  Trainer ref(cfg, comm, s.info);
  auto ref_fit = ref.fit(s.train, &s.val, {});
  test::TempDir dir;
  ::setenv("TRAINFLEET_SIGNAL_AT", "2:0", 1);
  {
    Trainer first(cfg, comm, s.info);
    EXPECT_THROW(first.fit(s.train, &s.val, dir.path()), Preempted);
  }
  ::unsetenv("TRAINFLEET_SIGNAL_AT");
  set_stop_requested(0);
  int torn = 0;
  for (auto& e : fs::directory_iterator(dir / "resume"))
    if (e.path().filename().string().rfind("optimizer-", 0) == 0 && e.path().extension() == ".pt") {
      fs::resize_file(e.path(), fs::file_size(e.path()) / 2);
      ++torn;
    }
  ASSERT_EQ(torn, 1);
  Trainer second(cfg, comm, s.info);
  auto fit = second.fit(s.train, &s.val, dir.path());
  EXPECT_EQ(second.flat_state(), ref.flat_state());
  EXPECT_EQ(fit.history, ref_fit.history);
  std::string hist = read_file(dir / "history.csv");
  EXPECT_EQ(std::count(hist.begin(), hist.end(), '\n'), 5);  // header + 4 epochs, none of the lost attempt
}

// A checkpoint of another config is not used: the fit starts afresh.
TEST(Trainer, IgnoresAResumeCheckpointOfAnotherConfig) {
  Small s;
  LocalComm comm;
  install_stop_handlers();
  test::TempDir dir;
  ::setenv("TRAINFLEET_SIGNAL_AT", "1:0", 1);
  {
    Trainer first(small_config(), comm, s.info);
    EXPECT_THROW(first.fit(s.train, &s.val, dir.path()), Preempted);
  }
  ::unsetenv("TRAINFLEET_SIGNAL_AT");
  set_stop_requested(0);
  auto other = small_config({{"training", {{"learning_rate", 0.02}}}});
  Trainer second(other, comm, s.info);
  second.fit(s.train, &s.val, dir.path());
  Trainer fresh(other, comm, s.info);
  fresh.fit(s.train, &s.val, {});
  EXPECT_EQ(second.flat_state(), fresh.flat_state());
}

}  // namespace tf
