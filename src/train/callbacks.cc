#include "train/callbacks.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "core/fs.h"
#include "core/strings.h"
#include "train/metrics.h"
#include "train/tensorboard.h"

namespace tf {

Monitor::Monitor(std::string k, const std::string& mode, double delta) : key(std::move(k)), min_delta(std::fabs(delta)) {
  maximize = mode == "max" || (mode == "auto" && higher_is_better(key));
}

bool Monitor::improved(double current, double reference) const {
  return maximize ? current - min_delta > reference : current + min_delta < reference;
}

double Monitor::worst() const {
  return maximize ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

double Monitor::value(const EpochLogs& logs) const {
  auto it = logs.values.find(key);
  if (it == logs.values.end())
    throw BadInput("monitored quantity \"" + key + "\" is not logged (is there validation data?)", __FILE__, __LINE__);
  return it->second;
}

// JSON has no infinities: a best value that is still the initial +-inf is
// stored as null and read back as `fallback`.
namespace {
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double num_or(const nlohmann::json& j, const char* key, double fallback) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}
}  // namespace

void note(const std::shared_ptr<EpochNotes>& notes, const std::string& line) {
  if (notes) notes->add(line);
  else spdlog::info("{}", line);
}

// ------------------------------------------------------------------ EarlyStopping
EarlyStopping::EarlyStopping(Monitor m, int patience, std::optional<double> baseline, bool restore)
    : m_(std::move(m)), patience_(patience), baseline_(baseline), restore_(restore) {}

void EarlyStopping::on_train_begin(TrainerControl&) {
  wait_ = 0;
  stopped_epoch_ = 0;
  best_epoch_ = 0;
  restored_ = false;
  best_ = baseline_ ? *baseline_ : m_.worst();
}

void EarlyStopping::on_epoch_end(const EpochLogs& logs, TrainerControl& ctl) {
  double current = m_.value(logs);
  if (restore_ && best_epoch_ == 0 && logs.epoch == 1) ctl.snapshot_best();  // Keras: weights of the first epoch
  wait_ += 1;
  if (m_.improved(current, best_)) {
    best_ = current;
    best_epoch_ = logs.epoch;
    if (restore_) ctl.snapshot_best();
    if (!baseline_ || m_.improved(current, *baseline_)) {
      wait_ = 0;
      return;
    }
  }
  if (wait_ >= patience_ && logs.epoch > 1) {
    stopped_epoch_ = logs.epoch;
    ctl.request_stop();
    note(notes_, fmt::format("stopped early at epoch {}: {} has not improved for {} epoch(s){}", logs.epoch, m_.key,
                             wait_, best_epoch_ > 0 ? fmt::format(" (best {:.6g} at epoch {})", best_, best_epoch_)
                                                    : std::string()));
  }
}

void EarlyStopping::on_train_end(TrainerControl& ctl) {
  if (restore_ && best_epoch_ > 0) {
    restored_ = ctl.restore_best();
    if (restored_) spdlog::info("restored the weights of epoch {} ({} = {:.6g})", best_epoch_, m_.key, best_);
  }
}

nlohmann::json EarlyStopping::save_state() const {
  return {{"wait", wait_}, {"stopped_epoch", stopped_epoch_}, {"best_epoch", best_epoch_}, {"best", num(best_)}};
}

void EarlyStopping::load_state(const nlohmann::json& j) {
  wait_ = j.value("wait", 0);
  stopped_epoch_ = j.value("stopped_epoch", 0);
  best_epoch_ = j.value("best_epoch", 0);
  best_ = num_or(j, "best", baseline_ ? *baseline_ : m_.worst());
}

// ------------------------------------------------------------------ ModelCheckpoint
ModelCheckpoint::ModelCheckpoint(Monitor m, bool best_only, int every_n, std::filesystem::path run_dir)
    : m_(std::move(m)), best_only_(best_only), every_n_(every_n), dir_(std::move(run_dir)), best_(m_.worst()) {}

void ModelCheckpoint::on_epoch_end(const EpochLogs& logs, TrainerControl& ctl) {
  double current = m_.value(logs);
  bool better = std::isfinite(current) && m_.improved(current, best_);
  if (better) {
    best_ = current;
    best_epoch_ = logs.epoch;
  }
  if (!ctl.is_writer() || dir_.empty()) return;
  if (better || !best_only_) ctl.save_weights(dir_ / "best.pt");
  char name[64];
  std::snprintf(name, sizeof name, "epoch_%04d.pt", logs.epoch);
  if ((every_n_ > 0 && logs.epoch % every_n_ == 0) || !best_only_) {
    fs::create_directories(dir_ / "checkpoints");
    ctl.save_weights(dir_ / "checkpoints" / name);
  }
}

nlohmann::json ModelCheckpoint::save_state() const { return {{"best", num(best_)}, {"best_epoch", best_epoch_}}; }

void ModelCheckpoint::load_state(const nlohmann::json& j) {
  best_ = num_or(j, "best", m_.worst());
  best_epoch_ = j.value("best_epoch", 0);
}

// ------------------------------------------------------------------ ReduceLROnPlateau
ReduceLROnPlateau::ReduceLROnPlateau(Monitor m, double factor, int patience, int cooldown, double min_lr)
    : m_(std::move(m)), factor_(factor), patience_(patience), cooldown_(cooldown), min_lr_(min_lr), best_(m_.worst()) {}

void ReduceLROnPlateau::on_epoch_end(const EpochLogs& logs, TrainerControl& ctl) {
  double current = m_.value(logs);
  if (cooldown_counter_ > 0) {
    cooldown_counter_ -= 1;
    wait_ = 0;
  }
  if (m_.improved(current, best_)) {
    best_ = current;
    wait_ = 0;
  } else if (cooldown_counter_ <= 0) {
    wait_ += 1;
    if (wait_ >= patience_) {
      double old_lr = ctl.current_lr();
      if (old_lr > min_lr_) {
        double new_lr = std::max(old_lr * factor_, min_lr_);
        ctl.set_lr_scale(ctl.lr_scale() * new_lr / old_lr);
        note(notes_, fmt::format("epoch {}: reducing learning rate to {:.3e}", logs.epoch, new_lr));
        cooldown_counter_ = cooldown_;
        wait_ = 0;
      }
    }
  }
}

nlohmann::json ReduceLROnPlateau::save_state() const {
  return {{"wait", wait_}, {"cooldown_counter", cooldown_counter_}, {"best", num(best_)}};
}

void ReduceLROnPlateau::load_state(const nlohmann::json& j) {
  wait_ = j.value("wait", 0);
  cooldown_counter_ = j.value("cooldown_counter", 0);
  best_ = num_or(j, "best", m_.worst());
}

// ------------------------------------------------------------------ MetricsLogger
namespace {
// Keeps the first `n` lines of `path` (atomically); no-op when it has no more.
void keep_lines(const fs::path& path, int64_t n) {
  if (!fs::exists(path)) return;
  std::istringstream in(read_file(path));
  std::string line, kept;
  int64_t count = 0;
  bool more = false;
  while (std::getline(in, line)) {
    if (count == n) {
      more = true;
      break;
    }
    kept += line + "\n";
    ++count;
  }
  if (more) atomic_write(path, kept);
}
}  // namespace

void MetricsLogger::load_state(const nlohmann::json& j) {
  columns_ = j.value("columns", std::vector<std::string>{});
  rows_ = j.value("rows", int64_t{0});
  if (dir_.empty()) return;
  keep_lines(dir_ / "metrics.jsonl", rows_);
  keep_lines(dir_ / "history.csv", columns_.empty() ? 0 : rows_ + 1);
}

void MetricsLogger::on_epoch_end(const EpochLogs& logs, TrainerControl& ctl) {
  if (!ctl.is_writer() || dir_.empty()) return;
  ++rows_;
  nlohmann::json row = {{"epoch", logs.epoch}};
  for (const auto& [k, v] : logs.values) row[k] = v;
  row["lr"] = logs.lr;
  row["time_s"] = logs.seconds;
  row["samples_per_s"] = logs.samples_per_s;
  append_line(dir_ / "metrics.jsonl", row.dump());
  if (columns_.empty()) {
    columns_.push_back("epoch");
    for (const auto& kv : logs.values) columns_.push_back(kv.first);
    columns_.insert(columns_.end(), {"lr", "time_s", "samples_per_s"});
    append_line(dir_ / "history.csv", join(columns_, ","));
  }
  std::ostringstream line;
  line.precision(10);
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i) line << ',';
    if (row.contains(columns_[i])) line << row[columns_[i]].get<double>();
  }
  append_line(dir_ / "history.csv", line.str());
}

// ------------------------------------------------------------------ TensorBoardLogger
TensorBoardLogger::TensorBoardLogger(std::filesystem::path run_dir, int64_t update_freq)
    : dir_(std::move(run_dir)), freq_(update_freq) {}
TensorBoardLogger::~TensorBoardLogger() = default;

void TensorBoardLogger::on_train_begin(TrainerControl& ctl) {
  if (ctl.is_writer() && !dir_.empty() && !writer_) writer_ = std::make_unique<EventWriter>(dir_ / "tensorboard");
}

void TensorBoardLogger::on_epoch_end(const EpochLogs& logs, TrainerControl&) {
  if (!writer_) return;
  std::map<std::string, double> v = logs.values;
  v["lr"] = logs.lr;
  writer_->scalars(logs.epoch, v);
  writer_->flush();
}

void TensorBoardLogger::on_step_end(int64_t step, double batch_loss, double lr, TrainerControl&) {
  if (writer_) writer_->scalars(step, {{"step/loss", batch_loss}, {"step/lr", lr}});
}

void TensorBoardLogger::on_train_end(TrainerControl&) {
  if (writer_) writer_->flush();
}

// ------------------------------------------------------------------ ProgressPrinter
void ProgressPrinter::on_epoch_end(const EpochLogs& logs, TrainerControl&) {
  std::ostringstream os;
  char buf[64];
  std::snprintf(buf, sizeof buf, "epoch %*d/%d", (int)std::to_string(logs.epochs).size(), logs.epoch, logs.epochs);
  os << buf;
  for (const auto& k : shown_) {
    auto it = logs.values.find(k);
    if (it == logs.values.end()) continue;
    std::snprintf(buf, sizeof buf, "  %s %.4f", k.c_str(), it->second);
    os << buf;
  }
  double eta = logs.elapsed / logs.epoch * (logs.epochs - logs.epoch);
  std::snprintf(buf, sizeof buf, "  lr %.2e  %.0f samples/s  %.1fs  ETA %s", logs.lr, logs.samples_per_s, logs.seconds,
                format_duration(eta).c_str());
  os << buf;
  spdlog::info("{}", os.str());
  if (notes_)
    for (const auto& line : notes_->take()) spdlog::info("{}", line);
}

// ------------------------------------------------------------------ factory
CallbackSet make_callbacks(const config::Config& cfg, const std::filesystem::path& run_dir) {
  CallbackSet set;
  const std::string p = "training.callbacks.";
  auto notes = std::make_shared<EpochNotes>();  // logged after the epoch line they belong to
  if (cfg.get_bool(p + "early_stopping")) {
    const auto& base = cfg.at(p + "early_stopping_baseline");
    auto es = std::make_unique<EarlyStopping>(
        Monitor(cfg.get_string(p + "early_stopping_monitor"), cfg.get_string(p + "early_stopping_mode"),
                cfg.get_float(p + "early_stopping_min_delta")),
        static_cast<int>(cfg.get_int(p + "early_stopping_patience")),
        base.is_null() ? std::nullopt : std::optional<double>(base.get<double>()),
        cfg.get_bool(p + "restore_best_weights"));
    es->set_notes(notes);
    set.early_stopping = es.get();
    set.all.push_back(std::move(es));
  }
  if (cfg.get_bool(p + "reduce_lr_on_plateau")) {
    auto rl = std::make_unique<ReduceLROnPlateau>(
        Monitor(cfg.get_string(p + "reduce_lr_monitor"), cfg.get_string(p + "reduce_lr_mode"),
                cfg.get_float(p + "reduce_lr_min_delta")),
        cfg.get_float(p + "reduce_lr_factor"), static_cast<int>(cfg.get_int(p + "reduce_lr_patience")),
        static_cast<int>(cfg.get_int(p + "reduce_lr_cooldown")), cfg.get_float(p + "reduce_lr_min_lr"));
    rl->set_notes(notes);
    set.all.push_back(std::move(rl));
  }
  if (cfg.get_bool(p + "model_checkpoint")) {
    auto ck = std::make_unique<ModelCheckpoint>(
        Monitor(cfg.get_string(p + "checkpoint_monitor"), cfg.get_string(p + "checkpoint_mode"), 0.0),
        cfg.get_bool(p + "checkpoint_save_best_only"), static_cast<int>(cfg.get_int(p + "checkpoint_every_n_epochs")),
        run_dir);
    set.checkpoint = ck.get();
    set.all.push_back(std::move(ck));
  }
  if (!run_dir.empty()) set.all.push_back(std::make_unique<MetricsLogger>(run_dir));
  if (cfg.get_bool(p + "tensorboard"))
    set.all.push_back(std::make_unique<TensorBoardLogger>(run_dir, cfg.get_int(p + "tensorboard_update_freq")));
  std::vector<std::string> shown = {"loss"};
  for (const auto& m : cfg.at("training.metrics")) shown.push_back(m.get<std::string>());
  shown.push_back("val_loss");
  for (const auto& m : cfg.at("training.metrics")) shown.push_back("val_" + m.get<std::string>());
  set.all.push_back(std::make_unique<ProgressPrinter>(shown, notes));
  return set;
}

}  // namespace tf
