#include "tune/study.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/fs.h"
#include "core/interrupt.h"
#include "train/metrics.h"
#include "cv/runner.h"
#include "data/h5io.h"
#include "train/run.h"
#include "tune/journal.h"
#include "tune/space.h"

namespace tf::tune {

namespace {

using nlohmann::json;

double now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

bool objective_maximizes(const config::Config& cfg) {
  std::string d = cfg.get_string("tuning.direction");
  if (d != "auto") return d == "maximize";
  return higher_is_better(cfg.get_string("tuning.objective"));
}

namespace {

Space space_of(const config::Config& cfg) {
  json s = cfg.at("tuning.space");
  TF_CHECK_INPUT(!s.is_null(), "tuning.space: empty; give the parameters to tune (or \"auto\")");
  if (s.is_string()) s = suggest_space(cfg.get_string("model.name"));
  return parse_space(s, cfg);
}

struct View {
  std::vector<TrialState> trials;
  std::map<int64_t, std::string> session;  // session of each trial's latest start
  int consecutive_failures = 0;
};

View view_of(const std::vector<json>& records) {
  View v;
  std::map<int64_t, TrialState> by;
  for (const auto& r : records) {
    const std::string op = r.value("op", "");
    if (op == "start") {
      int64_t n = r["trial"];
      TrialState t;
      t.number = n;
      t.params = r["params"];
      by[n] = t;
      v.session[n] = r.value("session", "");
    } else if (op == "report") {
      by[r["trial"].get<int64_t>()].intermediate[r["step"].get<int64_t>()] = r["value"].get<double>();
    } else if (op == "finish") {
      auto& t = by[r["trial"].get<int64_t>()];
      t.state = r["state"];
      t.value = r.value("value", 0.0);
      v.consecutive_failures = t.state == "failed" ? v.consecutive_failures + 1 : 0;
    }
  }
  for (auto& [n, t] : by) v.trials.push_back(t);
  return v;
}

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
  Pruner(const Journal& j, Communicator& group, int64_t trial, const config::Config& cfg, bool maximize)
      : j_(j), group_(group), trial_(trial), objective_(cfg.get_string("tuning.objective")), maximize_(maximize),
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
      json rec = {{"op", "report"}, {"trial", trial_}, {"step", step}, {"epoch", logs.epoch}, {"value", it->second}};
      if (fold_ > 0 || cv_) rec["fold"] = fold_;
      j_.append(rec, /*durable=*/false);
      last_ = it->second;
      if (kind_ != "none") prune = decide(view_of(j_.read()), step, logs.epoch, it->second);
    }
    group_.broadcast(&prune, sizeof prune, 0);
    if (prune) {
      pruned_ = true;
      ctl.request_stop();
    }
  }
  json save_state() const override { return {{"last", std::isfinite(last_) ? json(last_) : json(nullptr)}}; }
  void load_state(const json& j) override { last_ = j.contains("last") && j["last"].is_number() ? j["last"].get<double>() : NAN; }
  bool pruned() const { return pruned_; }
  void set_pruned() { pruned_ = true; }
  double last() const { return last_; }
  void set_cv(bool cv) { cv_ = cv; }

 private:
  bool better(double a, double b) const { return maximize_ ? a > b : a < b; }

  bool decide(const View& v, int64_t step, int64_t epoch, double value) const {
    if (kind_ == "median") {
      if (epoch <= warmup_) return false;
      std::vector<double> at_step;
      int64_t complete = 0;
      for (const auto& t : v.trials) {
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
    for (const auto& t : v.trials) {
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

// One cross-validated trial: folds in order on this group, each with the
// pruner (compared fold by fold). After each fold the trial stops when even
// perfect scores on the remaining folds (1 for a metric, 0 for a loss) could
// not beat the best finished trial. Returns the finish record's fields.
json cv_trial(const config::Config& tcfg, Communicator& group, const fs::path& tdir, const std::string& metric,
              Pruner& pruner, const Journal& journal, bool maximize) {
  Dataset labels = read_labels(tcfg.get_string("data.path"));
  std::vector<cv::Task> tasks = cv::plan(tcfg, labels, nullptr);
  TF_CHECK_INPUT(!tcfg.get_bool("cv.nested"), "tuning.cv: cv.nested must be false (the tuner is the outer loop)");
  pruner.set_cv(true);
  const double ideal = metric == "loss" ? 0.0 : 1.0;
  std::vector<double> scores;
  json out;
  for (size_t k = 0; k < tasks.size(); ++k) {
    pruner.set_fold(static_cast<int64_t>(k));
    const fs::path fold_summary = tdir / tasks[k].name / "summary.json";
    if (fs::exists(fold_summary)) {  // finished by an interrupted attempt of this trial
      std::string text;
      if (group.rank() == 0) text = read_file(fold_summary);
      text = broadcast_string(group, text);
      scores.push_back(json::parse(text)["test"][metric].get<double>());
    } else {
      TrainOutput fo = cv::train_task(tcfg, group, labels, tasks[k], tdir / tasks[k].name, {&pruner});
      if (pruner.pruned()) break;
      scores.push_back(fo.summary["test"][metric].get<double>());
    }
    // Can this trial still win?
    int32_t hopeless = 0;
    if (group.rank() == 0 && k + 1 < tasks.size()) {
      Journal::Lock lock(journal);
      View v = view_of(journal.read());
      double best = maximize ? -INFINITY : INFINITY;
      for (const auto& t : v.trials)
        if (t.state == "complete") best = maximize ? std::max(best, t.value) : std::min(best, t.value);
      double sum = 0;
      for (double x : scores) sum += x;
      double bound = (sum + ideal * static_cast<double>(tasks.size() - k - 1)) / static_cast<double>(tasks.size());
      hopeless = std::isfinite(best) && (maximize ? bound < best : bound > best);
    }
    group.broadcast(&hopeless, sizeof hopeless, 0);
    if (hopeless) {
      pruner.set_pruned();
      break;
    }
  }
  double sum = 0;
  for (double x : scores) sum += x;
  out["folds_run"] = scores.size();
  out["fold_scores"] = scores;
  if (pruner.pruned()) {
    out["state"] = "pruned";
    out["value"] = scores.empty() ? pruner.last() : sum / static_cast<double>(scores.size());
  } else {
    out["state"] = "complete";
    out["value"] = sum / static_cast<double>(scores.size());
  }
  return out;
}

// One line of progress after each trial: counts by state, the best so far,
// and the time left at this session's pace (finished trials per second).
std::string progress_line(const View& v, int64_t n_trials, bool maximize, double elapsed, int64_t done_at_start) {
  int64_t complete = 0, pruned = 0, failed = 0, running = 0;
  const TrialState* best = nullptr;
  for (const auto& t : v.trials) {
    if (t.state == "complete") {
      ++complete;
      if (!best || (maximize ? t.value > best->value : t.value < best->value)) best = &t;
    }
    pruned += t.state == "pruned";
    failed += t.state == "failed";
    running += t.state == "running";
  }
  const int64_t done = complete + pruned + failed;
  char buf[256];
  std::snprintf(buf, sizeof buf, "study progress: %lld/%lld done (%lld complete, %lld pruned, %lld failed), %lld running",
                static_cast<long long>(done), static_cast<long long>(n_trials), static_cast<long long>(complete),
                static_cast<long long>(pruned), static_cast<long long>(failed), static_cast<long long>(running));
  std::string line = buf;
  if (best) {
    std::snprintf(buf, sizeof buf, ", best %.5f (trial %lld)", best->value, static_cast<long long>(best->number));
    line += buf;
  }
  const int64_t here = done - done_at_start;  // finished by this session: its pace
  if (here > 0 && done < n_trials) {
    const double eta = elapsed / static_cast<double>(here) * static_cast<double>(n_trials - done);
    std::snprintf(buf, sizeof buf, ", ETA %dm%02ds", static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    line += buf;
  }
  return line;
}

}  // namespace

std::filesystem::path study_dir(const config::Config& cfg) {
  return resumable_dir(cfg.get_string("experiment.output_dir"), cfg.get_string("experiment.name"),
                       cfg.get_string("experiment.run_id"), "study-", cfg.to_yaml());
}

std::vector<TrialState> load_trials(const fs::path& dir) {
  Journal j(dir / "study.jsonl");
  Journal::Lock lock(j);
  return view_of(j.read()).trials;
}

json run_study(const config::Config& cfg, Communicator& world, Communicator& group, int group_id,
               const std::function<void(double)>& wait_timeout) {
  const Space space = space_of(cfg);  // every rank checks the space (exit 2 on every rank alike)
  const bool maximize = objective_maximizes(cfg);
  TpeOptions tpe;
  tpe.n_startup_trials = cfg.get_int("tuning.tpe_startup_trials");
  tpe.n_ei_candidates = cfg.get_int("tuning.tpe_candidates");
  tpe.multivariate = cfg.get_bool("tuning.tpe_multivariate");
  tpe.shape.prior_share = cfg.get_float("tuning.tpe_prior_share");
  auto sampler = make_sampler(cfg.get_string("tuning.sampler"), static_cast<uint64_t>(cfg.get_int("tuning.seed")), tpe);
  int64_t n_trials = cfg.get_int("tuning.n_trials");
  const int64_t grid = sampler->size(space);
  if (grid > 0) n_trials = n_trials == 0 ? grid : std::min(n_trials, grid);
  TF_CHECK_INPUT(n_trials > 0, "tuning.n_trials: 0 is only meaningful with the grid sampler");
  const std::string objective = cfg.get_string("tuning.objective");

  // The study folder and this session's id (so trials of dead sessions can be told apart).
  std::string dir, session;
  if (world.rank() == 0) {
    fs::path d = study_dir(cfg);
    open_resumable(d, cfg.to_yaml(), "study");
    fs::create_directories(d / "trials");
    dir = d.string();
    session = std::to_string(::getpid()) + "-" + std::to_string(static_cast<int64_t>(now_s() * 1000));
  }
  const fs::path sdir = broadcast_string(world, dir);
  session = broadcast_string(world, session);
  Journal journal(sdir / "study.jsonl");
  std::unique_ptr<SessionLock> alive;  // held by this session's first rank until it ends
  if (world.rank() == 0) {
    alive = std::make_unique<SessionLock>(sdir, session);
    Journal::Lock lock(journal);
    View v = view_of(journal.read());
    int64_t done = 0;
    for (const auto& t : v.trials) done += t.state != "running";
    journal.append({{"op", "session"}, {"session", session}, {"time", now_s()}, {"ranks", world.size()}});
    spdlog::info("study {}: {} sampler, {} trial(s), objective {} ({}){}", sdir.string(),
                 cfg.get_string("tuning.sampler"), n_trials, objective, maximize ? "maximize" : "minimize",
                 done ? ", resuming with " + std::to_string(done) + " finished" : std::string());
  }

  const double session_start = now_s();
  int64_t done_at_start = 0;  // trials finished before this session (for the ETA)
  if (group.rank() == 0) {
    Journal::Lock lock(journal);
    for (const auto& t : view_of(journal.read()).trials) done_at_start += t.state != "running";
  }
  while (true) {
    if (stop_agreed(group))
      throw Preempted("stopped by " + signal_name(stop_requested()) + " between trials; rerun the same command "
                      "to continue", __FILE__, __LINE__);
    // The group's first rank picks the next trial under the journal's lock.
    std::string pick;
    if (group.rank() == 0) {
      Journal::Lock lock(journal);
      View v = view_of(journal.read());
      json start;
      if (v.consecutive_failures >= cfg.get_int("tuning.max_consecutive_failures")) {
        spdlog::error("study stops: {} trials failed in a row (tuning.max_consecutive_failures)",
                      v.consecutive_failures);
      } else {
        for (const auto& t : v.trials)  // an interrupted trial of a session that is gone
          if (t.state == "running" && v.session[t.number] != session &&
              !SessionLock::alive(sdir, v.session[t.number])) {
            start = {{"trial", t.number}, {"params", t.params}, {"requeued", true}};
            break;
          }
        if (start.is_null()) {
          int64_t next = v.trials.empty() ? 0 : v.trials.back().number + 1;
          if (next < n_trials) {
            json params;
            try {
              params = sampler->sample(space, cfg, v.trials, next, maximize);
            } catch (const std::exception& e) {
              throw Error(std::string("sampler failed: ") + e.what(), __FILE__, __LINE__);
            }
            start = {{"trial", next}, {"params", params}};
          }
        }
      }
      if (!start.is_null()) {
        start["op"] = "start";
        start["session"] = session;
        start["group"] = group_id;
        start["time"] = now_s();
        journal.append(start);
        pick = start.dump();
      }
    }
    pick = broadcast_string(group, pick);
    if (pick.empty()) break;
    const json start = json::parse(pick);
    const int64_t number = start["trial"];
    const auto t0 = std::chrono::steady_clock::now();
    char name[32];
    std::snprintf(name, sizeof name, "trial_%04lld", static_cast<long long>(number));
    if (group.rank() == 0)
      spdlog::info("group {} starts {}{}: {}", group_id, name, start.value("requeued", false) ? " (again)" : "",
                   start["params"].dump());
    json finish = {{"op", "finish"}, {"trial", number}, {"group", group_id}};
    Pruner pruner(journal, group, number, cfg, maximize);
    try {
      config::Config tcfg = apply(cfg, start["params"]);
      fs::path tdir = sdir / "trials" / name;
      const std::string metric = objective.substr(4);  // val_<metric> or val_loss
      if (cfg.get_bool("tuning.cv")) {
        finish.update(cv_trial(tcfg, group, tdir, metric, pruner, journal, maximize));
      } else {
        TrainSplit split = load_splits(tcfg);
        TF_CHECK_INPUT(split.has_val, "tuning needs validation data (data.validation_split > 0 or data.val_path)");
        TrainOutput out = train_split(tcfg, group, split, [&] { return reuse_or_fresh(tdir); }, false, {&pruner});
        double value = out.summary["val"][metric == "loss" ? "loss" : metric].get<double>();
        finish["state"] = pruner.pruned() ? "pruned" : "complete";
        finish["value"] = pruner.pruned() ? pruner.last() : value;
        finish["epochs"] = out.summary["epochs_run"];
      }
      if (!std::isfinite(finish["value"].get<double>())) {
        finish["state"] = "failed";
        finish["reason"] = "objective is not finite";
      }
    } catch (const Preempted&) {  // the trial stays "running" in the journal: the next session resumes it
      throw;
    } catch (const std::exception& e) {  // bad values, diverged training, out of memory: the trial fails
      finish["state"] = "failed";
      finish["reason"] = e.what();
    }
    finish["duration"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (group.rank() == 0) {
      Journal::Lock lock(journal);
      journal.append(finish);
      if (finish["state"] == "failed")
        spdlog::warn("group {}: {} failed: {}", group_id, name, finish["reason"].get<std::string>());
      else
        spdlog::info("group {}: {} {} {} = {:.5f} in {:.1f}s", group_id, name, finish["state"].get<std::string>(),
                     objective, finish["value"].get<double>(), finish["duration"].get<double>());
      spdlog::info("{}", progress_line(view_of(journal.read()), n_trials, maximize, now_s() - session_start,
                                       done_at_start));
    }
  }
  finish_together(world, wait_timeout, cfg.get_float("runtime.collective_timeout_s"));
  if (world.rank() != 0) return {};
  return write_outputs(sdir, cfg);
}

}  // namespace tf::tune
