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

Space space_of(const config::Config& cfg) {
  json s = cfg.at("tuning.space");
  TF_CHECK_INPUT(!s.is_null(), "tuning.space: empty; give the parameters to tune (or \"auto\")");
  if (s.is_string()) s = suggest_space(cfg.get_string("model.name"));
  return parse_space(s, cfg);
}

// The study as the journal's replay tells it (tune/replay.h).
using View = StudyState;
const View& view_of(const View& v) { return v; }


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
// and the time left at this session's pace.
std::string progress_line(const View& v, const jobs::Progress& progress, bool maximize) {
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
  std::string detail = fmt::format(" ({} complete, {} pruned, {} failed), {} running", complete, pruned, failed, running);
  if (best) detail += fmt::format(", best {:.5f} (trial {})", best->value, best->number);
  return progress.line("study", complete + pruned + failed, "done", detail);
}

}  // namespace

std::filesystem::path study_dir(const config::Config& cfg) { return jobs::job_dir(cfg, "study-"); }

std::vector<TrialState> load_trials(const fs::path& dir) {
  Journal j(dir / "study.jsonl");
  Journal::Lock lock(j);
  return view_of(j.read()).trials;
}

namespace {

struct StudyPlan {
  Space space;
  bool maximize = true;
  std::unique_ptr<Sampler> sampler;
  int64_t n_trials = 0;
};

StudyPlan plan_study(const config::Config& cfg) {
  StudyPlan p;
  p.space = space_of(cfg);  // every rank checks the space (exit 2 on every rank alike)
  p.maximize = objective_maximizes(cfg);
  TpeOptions tpe;
  tpe.n_startup_trials = cfg.get_int("tuning.tpe_startup_trials");
  tpe.n_ei_candidates = cfg.get_int("tuning.tpe_candidates");
  tpe.multivariate = cfg.get_bool("tuning.tpe_multivariate");
  p.sampler = make_sampler(cfg.get_string("tuning.sampler"), static_cast<uint64_t>(cfg.get_int("tuning.seed")), tpe);
  p.n_trials = cfg.get_int("tuning.n_trials");
  const int64_t grid = p.sampler->size(p.space);
  if (grid > 0) p.n_trials = p.n_trials == 0 ? grid : std::min(p.n_trials, grid);
  TF_CHECK_INPUT(p.n_trials > 0, "tuning.n_trials: 0 is only meaningful with the grid sampler");
  return p;
}

// The group's next trial, picked under the journal's lock: an interrupted trial
// of a session that is gone first, else a new one from the sampler. Appends its
// "start" record and returns it ("" when the study needs no more trials).
std::string pick_trial(const config::Config& cfg, StudyPlan& p, const Journal& journal, const fs::path& sdir,
                       const std::string& session, int group_id) {
  Journal::Lock lock(journal);
  View v = view_of(journal.read());
  json start;
  if (v.consecutive_failures >= cfg.get_int("tuning.max_consecutive_failures")) {
    spdlog::error("study stops: {} trials failed in a row (tuning.max_consecutive_failures)", v.consecutive_failures);
    return "";
  }
  for (const auto& t : v.trials)
    if (t.state == "running" && v.session[t.number] != session && !SessionLock::alive(sdir, v.session[t.number])) {
      start = {{"trial", t.number}, {"params", t.params}, {"requeued", true}};
      break;
    }
  if (start.is_null()) {
    const int64_t next = v.trials.empty() ? 0 : v.trials.back().number + 1;
    if (next >= p.n_trials) return "";
    json params;
    try {
      params = p.sampler->sample(p.space, cfg, v.trials, next, p.maximize);
    } catch (const std::exception& e) {
      throw Error(std::string("sampler failed: ") + e.what(), __FILE__, __LINE__);
    }
    start = {{"trial", next}, {"params", params}};
  }
  start["op"] = "start";
  start["session"] = session;
  start["group"] = group_id;
  start["time"] = now_s();
  journal.append(start);
  return start.dump();
}

std::string trial_name(int64_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "trial_%04lld", static_cast<long long>(number));
  return name;
}

// Trains one trial on `work` (every rank of the group); returns the fields of
// its finish record. An exception fails the trial (decided by the group).
json run_trial(const config::Config& cfg, const StudyPlan& p, Communicator& work, const Journal& journal,
               const fs::path& sdir, const json& start) {
  const int64_t number = start["trial"];
  const std::string objective = cfg.get_string("tuning.objective");
  json finish;
  Pruner pruner(journal, work, number, cfg, p.maximize, [&journal] { return view_of(journal.read()).trials; });
  config::Config tcfg = config::apply(cfg, start["params"]);
  const fs::path tdir = sdir / "trials" / trial_name(number);
  const std::string metric = objective.substr(4);  // val_<metric> or val_loss
  if (cfg.get_bool("tuning.cv")) {
    finish = cv_trial(tcfg, work, tdir, metric, pruner, journal, p.maximize);
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

}  // namespace

json run_study(const config::Config& cfg, const jobs::Job& job) {
  StudyPlan p = plan_study(cfg);
  const std::string objective = cfg.get_string("tuning.objective");
  Communicator& world = job.world;
  Communicator& group = job.group;

  // The study folder (shared: sessions join it) and this session's id, so that
  // trials of dead sessions can be told apart.
  std::string dir, session;
  if (world.rank() == 0) {
    dir = jobs::open_job_folder(cfg, "study-", "study", /*lock=*/false).dir.string();
    fs::create_directories(fs::path(dir) / "trials");
    session = std::to_string(::getpid()) + "-" + std::to_string(static_cast<int64_t>(now_s() * 1000));
  }
  const fs::path sdir = broadcast_string(world, dir);
  session = broadcast_string(world, session);
  Journal journal(sdir / "study.jsonl");
  std::unique_ptr<SessionLock> alive;  // held by this session's first rank until it ends
  if (world.rank() == 0) {
    alive = std::make_unique<SessionLock>(sdir, session);
    Journal::Lock lock(journal);
    check_results_kept(journal, journal.read(), sdir);  // exit 2 rather than rerun trials over their results
    int64_t done = 0;
    for (const auto& t : view_of(journal.read()).trials) done += t.state != "running";
    journal.append({{"op", "session"}, {"session", session}, {"time", now_s()}, {"ranks", world.size()}});
    spdlog::info("study {}: {} sampler, {} trial(s), objective {} ({}){}", sdir.string(),
                 cfg.get_string("tuning.sampler"), p.n_trials, objective, p.maximize ? "maximize" : "minimize",
                 done ? ", resuming with " + std::to_string(done) + " finished" : std::string());
  }
  int64_t done_at_start = 0;  // trials finished before this session (for the ETA)
  if (group.rank() == 0) {
    Journal::Lock lock(journal);
    for (const auto& t : view_of(journal.read()).trials) done_at_start += t.state != "running";
  }
  const jobs::Progress progress(p.n_trials, done_at_start, job.groups);

  json finish;
  auto t0 = std::chrono::steady_clock::now();
  auto record = [&](const json& start, json fields) {  // the finish record, on the group's first rank
    if (group.rank() != 0) return;
    const std::string name = trial_name(start["trial"].get<int64_t>());
    fields.update(json{{"op", "finish"}, {"trial", start["trial"]}, {"group", job.group_id}});
    fields["duration"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    Journal::Lock lock(journal);
    journal.append(fields);
    if (fields["state"] == "failed")
      spdlog::warn("group {}: {} failed: {}", job.group_id, name, fields["reason"].get<std::string>());
    else
      spdlog::info("group {}: {} {} {} = {:.5f} in {:.1f}s", job.group_id, name, fields["state"].get<std::string>(),
                   objective, fields["value"].get<double>(), fields["duration"].get<double>());
    spdlog::info("{}", progress_line(view_of(journal.read()), progress, p.maximize));
  };
  jobs::WorkQueue queue(job);
  queue.run({[&] { return pick_trial(cfg, p, journal, sdir, session, job.group_id); },
             [&](Communicator& work, const std::string& task) {
               const json start = json::parse(task);
               t0 = std::chrono::steady_clock::now();
               if (work.rank() == 0)
                 spdlog::info("group {} starts {}{}: {}", job.group_id, trial_name(start["trial"].get<int64_t>()),
                              start.value("requeued", false) ? " (again)" : "", start["params"].dump());
               finish = run_trial(cfg, p, work, journal, sdir, start);
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
