#include <gtest/gtest.h>

#include <fstream>

#include "core/fs.h"
#include "train/callbacks.h"
#include "test_util.h"

namespace tf {

namespace {
// Records what the callbacks ask for; "weights" are the epoch they come from.
struct FakeControl : TrainerControl {
  int epoch = 0, best_snapshot = -1, restored_from = -1;
  double lr = 1.0, scale = 1.0;
  bool stop = false, writer = true;
  std::vector<std::string> saved;
  bool is_writer() const override { return writer; }
  void snapshot_best() override { best_snapshot = epoch; }
  bool restore_best() override {
    restored_from = best_snapshot;
    return best_snapshot >= 0;
  }
  void save_weights(const std::filesystem::path& p) override { saved.push_back(p.filename().string() + "@" + std::to_string(epoch)); }
  double lr_scale() const override { return scale; }
  void set_lr_scale(double s) override { scale = s; }
  double current_lr() const override { return lr * scale; }
  void request_stop() override { stop = true; }
};

// Feeds `values` of `key` epoch by epoch until a callback asks to stop; returns epochs run.
int drive(Callback& cb, FakeControl& ctl, const std::string& key, const std::vector<double>& values) {
  cb.on_train_begin(ctl);
  int run = 0;
  for (size_t i = 0; i < values.size() && !ctl.stop; ++i) {
    ctl.epoch = static_cast<int>(i + 1);
    EpochLogs logs;
    logs.epoch = ctl.epoch;
    logs.epochs = static_cast<int>(values.size());
    logs.values[key] = values[i];
    cb.on_epoch_end(logs, ctl);
    run = ctl.epoch;
  }
  cb.on_train_end(ctl);
  return run;
}
}  // namespace

// Keras docs: EarlyStopping(monitor='loss', patience=3) on a diverging loss runs 4 epochs.
TEST(EarlyStopping, KerasDocsExample) {
  FakeControl ctl;
  EarlyStopping es(Monitor("loss", "auto", 0), 3, std::nullopt, false);
  EXPECT_EQ(drive(es, ctl, "loss", {1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9}), 4);
  EXPECT_EQ(es.stopped_epoch(), 4);
}

TEST(EarlyStopping, MinDeltaIsAbsolute) {
  FakeControl ctl;
  EarlyStopping es(Monitor("val_loss", "min", 0.02), 2, std::nullopt, false);
  EXPECT_EQ(drive(es, ctl, "val_loss", {1.0, 0.99, 0.985, 0.95, 0.94}), 3);
}

TEST(EarlyStopping, MaxModeForMetrics) {
  FakeControl ctl;
  EarlyStopping es(Monitor("val_f1_macro", "auto", 0), 2, std::nullopt, true);
  EXPECT_EQ(drive(es, ctl, "val_f1_macro", {0.5, 0.7, 0.6, 0.65, 0.9}), 4);
  EXPECT_EQ(es.best_epoch(), 2);
  EXPECT_EQ(ctl.restored_from, 2);
}

TEST(EarlyStopping, BaselineMustBeBeaten) {
  FakeControl ctl;
  EarlyStopping es(Monitor("val_loss", "min", 0), 2, 0.5, false);
  EXPECT_EQ(drive(es, ctl, "val_loss", {0.9, 0.8, 0.7, 0.6}), 2);
  FakeControl ctl2;
  EarlyStopping es2(Monitor("val_loss", "min", 0), 2, 0.5, false);
  EXPECT_EQ(drive(es2, ctl2, "val_loss", {0.9, 0.4, 0.3, 0.2}), 4);
}

// Unlike Keras, the best weights come back also when all epochs ran.
TEST(EarlyStopping, RestoresBestAlsoWithoutStopping) {
  FakeControl ctl;
  EarlyStopping es(Monitor("val_loss", "min", 0), 10, std::nullopt, true);
  EXPECT_EQ(drive(es, ctl, "val_loss", {0.5, 0.3, 0.4, 0.45}), 4);
  EXPECT_FALSE(ctl.stop);
  EXPECT_EQ(ctl.restored_from, 2);
}

// Keras ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.1) on a flat curve.
TEST(ReduceLROnPlateau, KerasSemanticsWithCooldownAndMinLr) {
  FakeControl ctl;
  ReduceLROnPlateau r(Monitor("val_loss", "auto", 1e-4), 0.5, 2, 1, 0.1);
  std::vector<double> lrs;
  r.on_train_begin(ctl);
  for (int e = 1; e <= 11; ++e) {
    EpochLogs logs;
    logs.epoch = e;
    logs.values["val_loss"] = 1.0;
    r.on_epoch_end(logs, ctl);
    lrs.push_back(ctl.current_lr());
  }
  std::vector<double> want = {1, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.1, 0.1, 0.1};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(lrs[i], want[i], 1e-12) << "epoch " << i + 1;
}

TEST(ReduceLROnPlateau, ImprovementBelowMinDeltaDoesNotCount) {
  FakeControl ctl;
  ReduceLROnPlateau r(Monitor("val_loss", "min", 0.1), 0.5, 1, 0, 0.0);
  for (int e = 1; e <= 3; ++e) {
    EpochLogs logs;
    logs.epoch = e;
    logs.values["val_loss"] = 1.0 - 0.05 * e;  // improves, but by less than min_delta
    r.on_epoch_end(logs, ctl);
  }
  EXPECT_NEAR(ctl.current_lr(), 0.25, 1e-12);
}

TEST(ModelCheckpoint, WritesBestOnlyOnImprovementAndEveryN) {
  test::TempDir dir;
  FakeControl ctl;
  ModelCheckpoint ck(Monitor("val_loss", "auto", 0), true, 2, dir.path());
  drive(ck, ctl, "val_loss", {0.5, 0.6, 0.4, 0.45});
  std::vector<std::string> want = {"best.pt@1", "epoch_0002.pt@2", "best.pt@3", "epoch_0004.pt@4"};
  EXPECT_EQ(ctl.saved, want);
  FakeControl reader;
  reader.writer = false;
  ModelCheckpoint ck2(Monitor("val_loss", "auto", 0), true, 0, dir.path());
  drive(ck2, reader, "val_loss", {0.5, 0.4});
  EXPECT_TRUE(reader.saved.empty());
}

TEST(MetricsLogger, WritesCsvAndJsonl) {
  test::TempDir dir;
  FakeControl ctl;
  MetricsLogger log(dir.path());
  for (int e = 1; e <= 2; ++e) {
    EpochLogs l;
    l.epoch = e;
    l.values = {{"loss", 1.0 / e}, {"val_loss", 2.0 / e}};
    l.lr = 0.01;
    log.on_epoch_end(l, ctl);
  }
  std::string csv = read_file(dir / "history.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "epoch,loss,val_loss,lr,time_s,samples_per_s");
  EXPECT_NE(csv.find("\n2,0.5,1,0.01"), std::string::npos) << csv;
  std::ifstream in(dir / "metrics.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["epoch"], ++n);
  }
  EXPECT_EQ(n, 2);
}

}  // namespace tf
