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
#include "config/apply.h"
#include "train/metrics.h"
#include "cv/runner.h"
#include "data/h5io.h"
#include "train/run.h"
#include "jobs/queue.h"
#include "jobs/run_folder.h"
#include "tune/journal.h"
#include "tune/pruner.h"
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


// One cross-validated trial: folds in order on this group, each with the
// pruner (compared fold by fold). With tuning.cv_early_stop, after each fold
// the trial stops when even perfect scores on the remaining folds (1 for a
// metric, 0 for a loss) could not beat the best finished trial. `rows`: the rows the
// folds split (empty: all rows of data.path). Returns the finish record's fields.
json cv_trial(const config::Config& tcfg, Communicator& group, const fs::path& tdir, const std::string& metric,
              Pruner& pruner, const Journal& journal, bool maximize, const std::vector<int64_t>& rows) {
  Dataset labels = read_labels(tcfg.get_string("data.path"));
  std::vector<cv::Task> tasks = rows.empty() ? cv::plan(tcfg, labels, nullptr) : cv::plan_folds(tcfg, labels, rows, nullptr);
  pruner.set_cv(true);
  const double ideal = metric == "loss" ? 0.0 : 1.0;
  std::vector<double> scores;
  json out;
  for (size_t k = 0; k < tasks.size(); ++k) {
    pruner.set_fold(static_cast<int64_t>(k));
    // A fold finished by an interrupted attempt of this trial: the group's
    // first rank decides (ranks on other nodes may not see the file yet).
    const fs::path fold_summary = tdir / tasks[k].name / "summary.json";
    std::string text;
    if (group.rank() == 0 && fs::exists(fold_summary)) text = read_file(fold_summary);
    text = broadcast_string(group, text);
    if (!text.empty()) {
      scores.push_back(json::parse(text)["test"][metric].get<double>());
    } else {
      TrainOutput fo = cv::train_task(tcfg, group, labels, tasks[k], tdir / tasks[k].name, {&pruner});
      if (pruner.pruned()) break;
      scores.push_back(fo.summary["test"][metric].get<double>());
    }
    // Can this trial still win?
    int32_t hopeless = 0;
    if (group.rank() == 0 && k + 1 < tasks.size() && tcfg.get_bool("tuning.cv_early_stop")) {
      Journal::Lock lock(journal);
      StudyState v = journal.read();
      const TrialState* leader = best_trial(v.trials, maximize);
      const double best = leader ? leader->value : NAN;
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
// and the time left at this session's pace.
std::string progress_line(const StudyState& v, const jobs::Progress& progress, bool maximize) {
  int64_t complete = 0, pruned = 0, failed = 0, running = 0;
  const TrialState* best = best_trial(v.trials, maximize);
  for (const auto& t : v.trials) {
    complete += t.state == "complete";
    pruned += t.state == "pruned";
    failed += t.state == "failed";
    running += t.state == "running";
  }
  std::string detail = fmt::format(" ({} complete, {} pruned, {} failed), {} running", complete, pruned, failed, running);
  if (best) detail += fmt::format(", best {:.5f} (trial {})", best->value, best->number);
  return progress.line("study", complete + pruned + failed, "done", detail);
}

}  // namespace

std::filesystem::path study_dir(const config::Config& cfg) { return jobs::job_dir(cfg, "study-"); }

std::vector<TrialState> load_trials(const fs::path& dir) {
  Journal j(dir / "study.jsonl");
  Journal::Lock lock(j);
  return j.read().trials;
}

namespace {

Study::Plan plan_study(const config::Config& cfg) {
  Study::Plan p;
  TF_CHECK_INPUT(!cfg.get_bool("cv.nested"),
                 "cv.nested: `trainfleet tune` cannot nest CV (its study is the outer loop); nested CV with tuning "
                 "inside each outer fold runs with `trainfleet cv` (cv.nested: true and a tuning: section)");
  p.space = space_of(cfg);  // every rank checks the space (exit 2 on every rank alike)
  p.maximize = objective_maximizes(cfg);
  TpeOptions tpe;
  tpe.n_startup_trials = cfg.get_int("tuning.tpe_startup_trials");
  tpe.n_ei_candidates = cfg.get_int("tuning.tpe_candidates");
  tpe.multivariate = cfg.get_bool("tuning.tpe_multivariate");
  tpe.shape.prior_share = cfg.get_float("tuning.tpe_prior_share");
  p.sampler = make_sampler(cfg.get_string("tuning.sampler"), static_cast<uint64_t>(cfg.get_int("tuning.seed")), tpe);
  p.n_trials = cfg.get_int("tuning.n_trials");
  const int64_t grid = p.sampler->size(p.space);
  if (grid > 0) p.n_trials = p.n_trials == 0 ? grid : std::min(p.n_trials, grid);
  TF_CHECK_INPUT(p.n_trials > 0, "tuning.n_trials: 0 is only meaningful with the grid sampler");
  return p;
}

std::string trial_name(int64_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "trial_%04lld", static_cast<long long>(number));
  return name;
}

}  // namespace

std::string new_session_id() {
  return std::to_string(::getpid()) + "-" + std::to_string(static_cast<int64_t>(now_s() * 1000));
}

Study::Study(const config::Config& cfg, fs::path dir, std::string session, std::vector<int64_t> rows)
    : cfg_(cfg), plan_(plan_study(cfg)), dir_(std::move(dir)), session_(std::move(session)),
      rows_(std::move(rows)), journal_(dir_ / "study.jsonl") {}

Study::~Study() = default;

std::vector<TrialState> Study::trials() const {
  Journal::Lock lock(journal_);
  return journal_.read().trials;
}

bool Study::stopped_by_failures(int consecutive) const {
  return consecutive >= cfg_.get_int("tuning.max_consecutive_failures");
}

std::string Study::pick(int group_id) {
  Journal::Lock lock(journal_);
  StudyState v = journal_.read();
  json start;
  if (stopped_by_failures(v.consecutive_failures)) {
    spdlog::error("study {} stops: {} trials failed in a row (tuning.max_consecutive_failures)", dir_.string(),
                  v.consecutive_failures);
    return "";
  }
  for (const auto& t : v.trials)  // an interrupted trial of a session that is gone
    if (t.state == "running" && v.session[t.number] != session_ && !SessionLock::alive(dir_, v.session[t.number])) {
      start = {{"trial", t.number}, {"params", t.params}, {"requeued", true}};
      break;
    }
  if (start.is_null()) {
    const int64_t next = v.trials.empty() ? 0 : v.trials.back().number + 1;
    if (next >= plan_.n_trials) return "";
    json params;
    try {
      params = plan_.sampler->sample(plan_.space, cfg_, v.trials, next, plan_.maximize);
    } catch (const std::exception& e) {
      throw Error(std::string("sampler failed: ") + e.what(), __FILE__, __LINE__);
    }
    start = {{"trial", next}, {"params", params}};
  }
  start["op"] = "start";
  start["session"] = session_;
  start["group"] = group_id;
  start["time"] = now_s();
  journal_.append(start);
  return start.dump();
}

bool Study::finished() const {
  Journal::Lock lock(journal_);
  StudyState v = journal_.read();
  for (const auto& t : v.trials)
    if (t.state == "running") return false;
  if (stopped_by_failures(v.consecutive_failures)) return true;
  const int64_t next = v.trials.empty() ? 0 : v.trials.back().number + 1;
  return next >= plan_.n_trials;
}

json Study::run(Communicator& work, const json& start) const {
  const int64_t number = start["trial"];
  const std::string objective = cfg_.get_string("tuning.objective");
  json finish;
  Pruner pruner(journal_, work, number, cfg_, plan_.maximize, [this] { return journal_.read().trials; });
  config::Config tcfg = config::apply(cfg_, start["params"]);
  const fs::path tdir = dir_ / "trials" / trial_name(number);
  const std::string metric = objective.substr(4);  // val_<metric> or val_loss
  if (cfg_.get_bool("tuning.cv")) {
    finish = cv_trial(tcfg, work, tdir, metric, pruner, journal_, plan_.maximize, rows_);
  } else {
    TrainSplit split = load_splits(tcfg);
    TF_CHECK_INPUT(split.has_val, "tuning needs validation data (data.validation_split > 0 or data.val_path)");
    TrainOutput out = train_split(tcfg, work, split, [&] { return jobs::reuse_or_fresh(tdir); }, false, {&pruner});
    double value = out.summary["val"][metric == "loss" ? "loss" : metric].get<double>();
    finish["state"] = pruner.pruned() ? "pruned" : "complete";
    finish["value"] = pruner.pruned() ? pruner.last() : value;
    finish["epochs"] = out.summary["epochs_run"];
  }
  if (!std::isfinite(finish["value"].get<double>())) {
    finish["state"] = "failed";
    finish["reason"] = "objective is not finite";
  }
  return finish;
}

void Study::record(const json& start, json fields, int group_id, double seconds) const {
  const std::string name = trial_name(start["trial"].get<int64_t>());
  fields.update(json{{"op", "finish"}, {"trial", start["trial"]}, {"group", group_id}});
  fields["duration"] = seconds;
  Journal::Lock lock(journal_);
  journal_.append(fields);
  const std::string objective = cfg_.get_string("tuning.objective");
  if (fields["state"] == "failed")
    spdlog::warn("group {}: {} failed: {}", group_id, name, fields["reason"].get<std::string>());
  else
    spdlog::info("group {}: {} {} {} = {:.5f} in {:.1f}s", group_id, name, fields["state"].get<std::string>(),
                 objective, fields["value"].get<double>(), seconds);
}

void Study::log_start(int group_id, const json& start, const std::string& where) const {
  spdlog::info("group {} starts {}{}{}: {}", group_id, where, trial_name(start["trial"].get<int64_t>()),
               start.value("requeued", false) ? " (again)" : "", start["params"].dump());
}

void check_study(const config::Config& cfg) { plan_study(cfg); }

json run_study(const config::Config& cfg, const jobs::Job& job) {
  check_study(cfg);  // the space, sampler and trial count, before any folder is created
  const std::string objective = cfg.get_string("tuning.objective");
  Communicator& world = job.world;
  Communicator& group = job.group;

  // The study folder (shared: sessions join it) and this session's id, so that
  // trials of dead sessions can be told apart.
  std::string dir, session;
  if (world.rank() == 0) {
    dir = jobs::open_job_folder(cfg, "study-", "study", /*lock=*/false).dir.string();
    fs::create_directories(fs::path(dir) / "trials");
    session = new_session_id();
  }
  Study study(cfg, broadcast_string(world, dir), broadcast_string(world, session));
  const fs::path& sdir = study.dir();
  std::unique_ptr<SessionLock> alive;  // held by this session's first rank until it ends
  if (world.rank() == 0) {
    alive = std::make_unique<SessionLock>(sdir, study.session());
    Journal::Lock lock(study.journal());
    check_results_kept(study.journal(), study.journal().read(), sdir);  // exit 2 rather than rerun over results
    int64_t done = 0;
    for (const auto& t : study.journal().read().trials) done += t.state != "running";
    study.journal().append({{"op", "session"}, {"session", study.session()}, {"time", now_s()}, {"ranks", world.size()}});
    spdlog::info("study {}: {} sampler, {} trial(s), objective {} ({}){}", sdir.string(),
                 cfg.get_string("tuning.sampler"), study.n_trials(), objective,
                 study.maximize() ? "maximize" : "minimize",
                 done ? ", resuming with " + std::to_string(done) + " finished" : std::string());
  }
  int64_t done_at_start = 0;  // trials finished before this session (for the ETA)
  if (group.rank() == 0)
    for (const auto& t : study.trials()) done_at_start += t.state != "running";
  const jobs::Progress progress(study.n_trials(), done_at_start, job.groups);

  json finish;
  auto t0 = std::chrono::steady_clock::now();
  auto record = [&](const json& start, const json& fields) {  // on the group's first rank
    if (group.rank() != 0) return;
    study.record(start, fields, job.group_id,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    spdlog::info("{}", progress_line(study.journal().read(), progress, study.maximize()));
  };
  jobs::WorkQueue queue(job);
  queue.run({[&] { return study.pick(job.group_id); },
             [&](Communicator& work, const std::string& task) {
               const json start = json::parse(task);
               t0 = std::chrono::steady_clock::now();
               if (work.rank() == 0) study.log_start(job.group_id, start);
               finish = study.run(work, start);
             },
             [&](const std::string& task) { record(json::parse(task), finish); },
             [&](const std::string& task, const jobs::Failure& f) {
               record(json::parse(task), {{"state", "failed"}, {"reason", f.text()}});
             }});
  queue.finish();
  if (world.rank() != 0) return {};
  return write_outputs(sdir, cfg);
}

}  // namespace tf::tune
