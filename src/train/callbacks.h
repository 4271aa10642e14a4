// Training callbacks with Keras semantics (documented differences noted):
//   EarlyStopping       monitor/mode/min_delta/patience/baseline/restore_best_weights;
//                       unlike Keras, best weights are restored also when training
//                       runs to the last epoch.
//   ModelCheckpoint     best.pt when the monitored value improves (or every epoch),
//                       checkpoints/epoch_NNNN.pt every N epochs; atomic writes.
//   ReduceLROnPlateau   factor/patience/min_delta (absolute)/cooldown/min_lr, applied
//                       as a multiplier on top of the LR schedule.
//   MetricsLogger       history.csv + metrics.jsonl, one row per epoch.
//   ProgressPrinter     one line per epoch with ETA.
// Callbacks see only group-reduced values, so every rank of a run takes the
// same decisions; files are written only where control.is_writer().
// Plain C++: the trainer implements TrainerControl.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"

namespace tf {

struct EpochLogs {
  int epoch = 0;  // 1-based
  int epochs = 0;
  std::map<std::string, double> values;  // loss, val_loss, accuracy, val_accuracy, ...
  double lr = 0;
  double seconds = 0;
  double samples_per_s = 0;
  double elapsed = 0;  // since fit started
};

// What a callback may ask of the trainer.
class TrainerControl {
 public:
  virtual ~TrainerControl() = default;
  virtual bool is_writer() const = 0;
  virtual void snapshot_best() = 0;  // remember the current weights in memory
  virtual bool restore_best() = 0;   // false when nothing was remembered
  virtual void save_weights(const std::filesystem::path& path) = 0;  // atomic
  virtual double lr_scale() const = 0;
  virtual void set_lr_scale(double s) = 0;
  virtual double current_lr() const = 0;
  virtual void request_stop() = 0;
};

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(TrainerControl&) {}
  virtual void on_epoch_end(const EpochLogs&, TrainerControl&) {}
  virtual void on_train_end(TrainerControl&) {}
  // Per-step values, every step_interval() global steps (0: never; asking
  // costs the trainer a device sync for the batch loss at those steps).
  virtual int64_t step_interval() const { return 0; }
  virtual void on_step_end(int64_t /*step*/, double /*batch_loss*/, double /*lr*/, TrainerControl&) {}
  // Resume support: what the callback must remember across a restart (called
  // after on_train_begin when a fit resumes from a checkpoint).
  virtual nlohmann::json save_state() const { return nullptr; }
  virtual void load_state(const nlohmann::json&) {}
};

// "Is `current` better than `reference`": Keras's monitor_op with min_delta.
struct Monitor {
  std::string key;
  bool maximize = false;
  double min_delta = 0;
  Monitor(std::string k, const std::string& mode, double delta);
  bool improved(double current, double reference) const;
  double worst() const;
  double value(const EpochLogs& logs) const;
};

// Lines that belong after an epoch's progress line ("stopped early at epoch
// N", "reducing learning rate"): callbacks that run before the printer add
// them, the printer logs them after its line. Without one they are logged at once.
class EpochNotes {
 public:
  void add(const std::string& line) { lines_.push_back(line); }
  std::vector<std::string> take() { return std::exchange(lines_, {}); }

 private:
  std::vector<std::string> lines_;
};

// Logs `line` through `notes` when given, else at once.
void note(const std::shared_ptr<EpochNotes>& notes, const std::string& line);

class EarlyStopping : public Callback {
 public:
  EarlyStopping(Monitor m, int patience, std::optional<double> baseline, bool restore);
  void set_notes(std::shared_ptr<EpochNotes> n) { notes_ = std::move(n); }
  void on_train_begin(TrainerControl&) override;
  void on_epoch_end(const EpochLogs&, TrainerControl&) override;
  void on_train_end(TrainerControl&) override;
  nlohmann::json save_state() const override;
  void load_state(const nlohmann::json& j) override;
  int stopped_epoch() const { return stopped_epoch_; }
  int best_epoch() const { return best_epoch_; }
  double best() const { return best_; }

 private:
  Monitor m_;
  int patience_;
  std::optional<double> baseline_;
  bool restore_;
  int wait_ = 0, stopped_epoch_ = 0, best_epoch_ = 0;
  double best_ = 0;
  bool restored_ = false;
  std::shared_ptr<EpochNotes> notes_;
};

class ModelCheckpoint : public Callback {
 public:
  ModelCheckpoint(Monitor m, bool best_only, int every_n, std::filesystem::path run_dir);
  void on_epoch_end(const EpochLogs&, TrainerControl&) override;
  nlohmann::json save_state() const override;
  void load_state(const nlohmann::json& j) override;
  int best_epoch() const { return best_epoch_; }

 private:
  Monitor m_;
  bool best_only_;
  int every_n_;
  std::filesystem::path dir_;
  double best_;
  int best_epoch_ = 0;
};

class ReduceLROnPlateau : public Callback {
 public:
  ReduceLROnPlateau(Monitor m, double factor, int patience, int cooldown, double min_lr);
  void set_notes(std::shared_ptr<EpochNotes> n) { notes_ = std::move(n); }
  void on_epoch_end(const EpochLogs&, TrainerControl&) override;
  nlohmann::json save_state() const override;
  void load_state(const nlohmann::json& j) override;

 private:
  Monitor m_;
  double factor_;
  int patience_, cooldown_;
  double min_lr_;
  int wait_ = 0, cooldown_counter_ = 0;
  double best_;
  std::shared_ptr<EpochNotes> notes_;
};

class MetricsLogger : public Callback {
 public:
  explicit MetricsLogger(std::filesystem::path run_dir) : dir_(std::move(run_dir)) {}
  void on_epoch_end(const EpochLogs&, TrainerControl&) override;
  // The state is the number of epochs logged; loading it cuts rows that a
  // killed run wrote after its last checkpoint.
  nlohmann::json save_state() const override { return {{"columns", columns_}, {"rows", rows_}}; }
  void load_state(const nlohmann::json& j) override;

 private:
  std::filesystem::path dir_;
  std::vector<std::string> columns_;
  int64_t rows_ = 0;
};

// TensorBoard event files (train/tensorboard.h) in <run>/tensorboard/: every
// epoch's logged values (loss, metrics, val_*) and lr at step = epoch; with
// update_freq N > 0 also step/loss and step/lr every N global steps.
class TensorBoardLogger : public Callback {
 public:
  TensorBoardLogger(std::filesystem::path run_dir, int64_t update_freq);
  ~TensorBoardLogger() override;
  void on_train_begin(TrainerControl&) override;
  void on_epoch_end(const EpochLogs&, TrainerControl&) override;
  void on_train_end(TrainerControl&) override;
  int64_t step_interval() const override { return freq_; }
  void on_step_end(int64_t step, double batch_loss, double lr, TrainerControl&) override;

 private:
  std::filesystem::path dir_;
  int64_t freq_;
  std::unique_ptr<class EventWriter> writer_;
};

class ProgressPrinter : public Callback {
 public:
  ProgressPrinter(std::vector<std::string> shown, std::shared_ptr<EpochNotes> notes = nullptr)
      : shown_(std::move(shown)), notes_(std::move(notes)) {}
  void on_epoch_end(const EpochLogs&, TrainerControl&) override;

 private:
  std::vector<std::string> shown_;
  std::shared_ptr<EpochNotes> notes_;  // logged after the epoch line
};

struct CallbackSet {
  std::vector<std::unique_ptr<Callback>> all;
  EarlyStopping* early_stopping = nullptr;
  ModelCheckpoint* checkpoint = nullptr;
};

// Builds the callbacks the config asks for; `run_dir` empty means no files.
CallbackSet make_callbacks(const config::Config& cfg, const std::filesystem::path& run_dir);

}  // namespace tf
