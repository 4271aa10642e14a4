// The pruner of a study's trials (tuning.pruner): a training callback that
// reports each epoch's objective to the study journal and stops trials that
// are unlikely to win. Rank contract: every rank of the trial's group runs it;
// the group's first rank writes and decides, the others follow its broadcast.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "comm/communicator.h"
#include "config/config.h"
#include "train/callbacks.h"
#include "tune/journal.h"
#include "tune/sampler.h"

namespace tf::tune {

// The pruner: a callback; the group's first rank reports each epoch's value to
// the journal and decides, every rank of the group follows the broadcast decision.
//   median     after the warm-up, stop when worse than the median of the finished
//              trials at the same epoch (once pruner_startup_trials have finished);
//   asha       rungs at min_resource * factor^k epochs: at a rung, continue only if
//              among the best len/factor of all trials that reached it (at least the
//              best one), as Optuna's SuccessiveHalvingPruner; no waiting for others;
//   hyperband  ASHA in brackets s = number mod S with min_resource * factor^s,
//              S = floor(log_factor(epochs / min_resource)) + 1, comparing within a bracket.
class Pruner : public Callback {
 public:
  // `trials()` reads the study's trials from the journal (called under its lock).
  Pruner(const Journal& j, Communicator& group, int64_t trial, const config::Config& cfg, bool maximize,
         std::function<std::vector<TrialState>()> trials)
      : j_(j), trials_(std::move(trials)), group_(group), trial_(trial), objective_(cfg.get_string("tuning.objective")), maximize_(maximize),
        kind_(cfg.get_string("tuning.pruner")), startup_(cfg.get_int("tuning.pruner_startup_trials")),
        warmup_(cfg.get_int("tuning.pruner_warmup_steps")), min_r_(cfg.get_int("tuning.pruner_min_resource")),
        eta_(cfg.get_int("tuning.pruner_reduction_factor")) {
    brackets_ = 1;
    if (kind_ == "hyperband") {
      double ratio = static_cast<double>(cfg.get_int("training.epochs")) / static_cast<double>(min_r_);
      brackets_ = std::max<int64_t>(1, static_cast<int64_t>(std::floor(std::log(ratio) / std::log(eta_) + 1e-9)) + 1);
      for (int64_t s = 0; s < trial_ % brackets_; ++s) min_r_ *= eta_;
    }
  }

  // Cross-validated trials report per (fold, epoch): step = fold * kFoldStride + epoch,
  // so a trial is only ever compared with other trials on the same fold.
  static constexpr int64_t kFoldStride = 100000;
  void set_fold(int64_t fold) { fold_ = fold; }

  void on_epoch_end(const EpochLogs& logs, TrainerControl& ctl) override {
    auto it = logs.values.find(objective_);
    if (it == logs.values.end()) return;
    int32_t prune = 0;
    const int64_t step = fold_ * kFoldStride + logs.epoch;
    if (group_.rank() == 0) {
      Journal::Lock lock(j_);
      nlohmann::json rec = {{"op", "report"}, {"trial", trial_}, {"step", step}, {"epoch", logs.epoch}, {"value", it->second}};
      if (fold_ > 0 || cv_) rec["fold"] = fold_;
      j_.append(rec, /*durable=*/false);
      last_ = it->second;
      if (kind_ != "none") prune = decide(trials_(), step, logs.epoch, it->second);
    }
    group_.broadcast(&prune, sizeof prune, 0);
    if (prune) {
      pruned_ = true;
      ctl.request_stop();
    }
  }
  nlohmann::json save_state() const override { return {{"last", std::isfinite(last_) ? nlohmann::json(last_) : nlohmann::json(nullptr)}}; }
  void load_state(const nlohmann::json& j) override { last_ = j.contains("last") && j["last"].is_number() ? j["last"].get<double>() : NAN; }
  bool pruned() const { return pruned_; }
  void set_pruned() { pruned_ = true; }
  double last() const { return last_; }
  void set_cv(bool cv) { cv_ = cv; }

 private:
  bool better(double a, double b) const { return maximize_ ? a > b : a < b; }

  bool decide(const std::vector<TrialState>& trials, int64_t step, int64_t epoch, double value) const {
    if (kind_ == "median") {
      if (epoch <= warmup_) return false;
      std::vector<double> at_step;
      int64_t complete = 0;
      for (const auto& t : trials) {
        if (t.number == trial_ || t.state != "complete") continue;
        ++complete;
        auto s = t.intermediate.find(step);
        if (s != t.intermediate.end()) at_step.push_back(s->second);
      }
      if (complete < startup_ || at_step.empty()) return false;
      std::sort(at_step.begin(), at_step.end());
      size_t m = at_step.size();
      double median = m % 2 ? at_step[m / 2] : 0.5 * (at_step[m / 2 - 1] + at_step[m / 2]);
      return better(median, value);
    }
    // asha / hyperband: only at a rung
    int64_t rung = min_r_;
    while (rung < epoch) rung *= eta_;
    if (rung != epoch) return false;
    std::vector<double> competing = {value};
    for (const auto& t : trials) {
      if (t.number == trial_ || (t.number % brackets_) != (trial_ % brackets_)) continue;
      auto s = t.intermediate.find(step);
      if (s != t.intermediate.end()) competing.push_back(s->second);
    }
    std::sort(competing.begin(), competing.end(), [&](double a, double b) { return better(a, b); });
    int64_t idx = static_cast<int64_t>(competing.size()) / eta_ - 1;
    if (idx < 0) idx = 0;
    return better(competing[static_cast<size_t>(idx)], value);  // keep when at least as good as the cut
  }

  const Journal& j_;
  std::function<std::vector<TrialState>()> trials_;
  Communicator& group_;
  int64_t trial_;
  std::string objective_;
  bool maximize_;
  std::string kind_;
  int64_t startup_, warmup_, min_r_, eta_, brackets_ = 1;
  int64_t fold_ = 0;
  bool cv_ = false;
  bool pruned_ = false;
  double last_ = NAN;
};

}  // namespace tf::tune
