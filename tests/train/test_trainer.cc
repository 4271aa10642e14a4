#include <gtest/gtest.h>

#include <algorithm>

#include "comm/communicator.h"
#include "core/error.h"
#include "core/fs.h"
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

}  // namespace tf
