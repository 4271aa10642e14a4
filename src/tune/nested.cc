#include "tune/nested.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "config/apply.h"
#include "core/error.h"
#include "core/fs.h"
#include "cv/runner.h"
#include "data/h5io.h"
#include "jobs/run_folder.h"
#include "tune/study.h"

namespace tf::tune {

using nlohmann::json;

bool is_nested_tuning(const config::Config& cfg) {
  return cfg.get_bool("cv.nested") && !cfg.at("tuning.space").is_null();
}

namespace {

// The outer loop's config (plain CV) and the one every outer fold's study
// uses: trials scored by CV on cv.inner_n_splits folds (of the outer training rows).
config::Config outer_config(const config::Config& cfg) { return config::apply(cfg, {{"cv.nested", false}}); }
config::Config inner_config(const config::Config& cfg) {
  return config::apply(cfg, {{"cv.nested", false}, {"tuning.cv", true}, {"cv.n_splits", cfg.get_int("cv.inner_n_splits")}});
}

// Every rank checks every inner plan before anything is written (exit 2 alike
// on all ranks), and that no outer test row reaches an inner fold.
void check_inner_plans(const config::Config& icfg, const Dataset& labels, const std::vector<cv::Task>& outer,
                       std::vector<std::string>* warnings) {
  for (const auto& o : outer) {
    const std::set<int64_t> test(o.test.begin(), o.test.end());
    for (const auto& t : cv::plan_folds(icfg, labels, o.train, warnings)) {
      for (auto r : t.train) TF_CHECK(!test.count(r), "leakage: an outer test row in an inner fold of " + o.name);
      for (auto r : t.test) TF_CHECK(!test.count(r), "leakage: an outer test row in an inner fold of " + o.name);
    }
  }
}

// How stable the choice is across outer folds: per parameter, how often each
// value was chosen; and the share of outer folds that chose the most common
// whole configuration.
json stability(const std::vector<json>& chosen) {
  std::map<std::string, std::map<std::string, int>> per_param;
  std::map<std::string, int> whole;
  for (const auto& params : chosen) {
    whole[params.dump()]++;
    for (const auto& [key, value] : params.items()) per_param[key][value.dump()]++;
  }
  json by_param = json::object();
  for (const auto& [key, counts] : per_param) {
    json c = json::object();
    for (const auto& [value, n] : counts) c[value] = n;
    by_param[key] = c;
  }
  int most = 0;
  std::string most_common;
  for (const auto& [params, n] : whole)
    if (n > most) most = n, most_common = params;
  return {{"per_parameter", by_param},
          {"distinct_choices", whole.size()},
          {"most_common", most_common.empty() ? json(nullptr) : json::parse(most_common)},
          {"most_common_share", chosen.empty() ? 0.0 : static_cast<double>(most) / static_cast<double>(chosen.size())}};
}

struct Nested {
  config::Config ocfg;
  std::vector<cv::Task> outer;
  fs::path run_dir;
  std::vector<std::unique_ptr<Study>> studies;
  std::vector<std::unique_ptr<SharedCounter>> refit_claims;  // one per outer fold: 0 = this group retrains it
  std::vector<bool> claimed;                                   // group's first rank: someone retrains it

  fs::path result(size_t k) const { return run_dir / "folds" / (outer[k].name + ".json"); }

  // The group's next task: a trial, a retraining, "wait" or "" (nothing left for this group).
  std::string next(int group_id) {
    bool pending = false;
    for (size_t k = 0; k < outer.size(); ++k) {
      if (claimed[k] || fs::exists(result(k))) continue;
      const std::string start = studies[k]->pick(group_id);
      if (!start.empty()) return json{{"kind", "trial"}, {"outer", k}, {"start", json::parse(start)}}.dump();
      if (!studies[k]->finished()) {  // trials of this study still run on other groups
        pending = true;
        continue;
      }
      claimed[k] = true;
      if (refit_claims[k]->next() != 0) continue;  // another group retrains it
      const auto trials = studies[k]->trials();
      const TrialState* best = best_trial(trials, studies[k]->maximize());
      json task = {{"kind", "refit"}, {"outer", k}};
      if (best) task.update({{"trial", best->number}, {"value", best->value}, {"params", best->params}});
      return task.dump();
    }
    return pending ? json{{"kind", "wait"}}.dump() : std::string();
  }
};

// The job folder (locked), one study per outer fold with this session's
// claim on it, and the refit counters (collective over the world).
void open_studies(const config::Config& cfg, const config::Config& icfg, Communicator& world,
                  const std::vector<std::string>& warnings, Nested& n, jobs::JobFolder& folder,
                  std::vector<std::unique_ptr<SessionLock>>& alive) {
  std::string dir, session;
  if (world.rank() == 0) {
    for (const auto& w : warnings) spdlog::warn("cv.method {}: {}", cfg.get_string("cv.method"), w);
    folder = jobs::open_job_folder(cfg, "cv-", "CV");
    fs::create_directories(folder.dir / "folds");
    for (const auto& o : n.outer) fs::create_directories(folder.dir / "studies" / o.name / "trials");
    dir = folder.dir.string();
    session = new_session_id();
  }
  n.run_dir = broadcast_string(world, dir);
  session = broadcast_string(world, session);
  for (const auto& o : n.outer) {
    n.studies.push_back(std::make_unique<Study>(icfg, n.run_dir / "studies" / o.name, session, o.train));
    n.refit_claims.push_back(world.make_counter());
    if (world.rank() == 0) {
      const Study& study = *n.studies.back();
      alive.push_back(std::make_unique<SessionLock>(study.dir(), session));
      Journal::Lock lock(study.journal());
      check_results_kept(study.journal(), study.journal().read(), study.dir());  // exit 2 rather than rerun over results
    }
  }
  n.claimed.assign(n.outer.size(), false);
  if (world.rank() == 0) {
    int64_t done = 0;
    for (size_t k = 0; k < n.outer.size(); ++k) done += fs::exists(n.result(k));
    spdlog::info("nested cv {}: {} outer fold(s) x {} trial(s) x {} inner fold(s) in {}{}", cfg.get_string("cv.method"),
                 n.outer.size(), n.studies.front()->n_trials(), cfg.get_int("cv.inner_n_splits"), n.run_dir.string(),
                 done ? " (resuming: " + std::to_string(done) + " outer fold(s) done)" : std::string());
  }

}

// cv_results.json: the outer folds' scores, with each fold's chosen trial and
// how stable the choice is (world rank 0).
json write_results(const config::Config& cfg, const Nested& n, const Dataset& labels) {
  json per_fold = json::array();
  std::vector<json> chosen;
  for (size_t k = 0; k < n.outer.size(); ++k) {
    const json r = json::parse(read_file(n.result(k)));
    chosen.push_back(r["best_params"]);
    per_fold.push_back({{"outer", k}, {"best_params", r["best_params"]}, {"best_trial", r["best_trial"]},
                        {"best_inner_value", r["best_inner_value"]},
                        {"study", (fs::path("studies") / n.outer[k].name).string()}});
  }
  json extra = {{"nested", per_fold},
                {"nested_tuning", {{"objective", cfg.get_string("tuning.objective")},
                                   {"inner_n_splits", cfg.get_int("cv.inner_n_splits")},
                                   {"sampler", cfg.get_string("tuning.sampler")},
                                   {"stability", stability(chosen)}}}};
  return cv::aggregate(n.ocfg, labels, n.outer, n.run_dir, extra);
}

}  // namespace

json run_nested_cv(const config::Config& cfg, const jobs::Job& job) {
  TF_CHECK_INPUT(!cfg.get_string("data.path").empty(), "data.path: empty; give the HDF5 data file");
  Communicator& world = job.world;
  const Dataset labels = read_labels(cfg.get_string("data.path"));
  const config::Config icfg = inner_config(cfg);
  Nested n{outer_config(cfg), {}, {}, {}, {}, {}};
  std::vector<std::string> warnings;
  n.outer = cv::plan(n.ocfg, labels, &warnings);
  check_inner_plans(icfg, labels, n.outer, &warnings);
  check_study(icfg);  // before the folder exists

  jobs::JobFolder folder;  // locked by world rank 0 while the job runs
  std::vector<std::unique_ptr<SessionLock>> alive;  // this session's claim on each study while it lives
  open_studies(cfg, icfg, world, warnings, n, folder, alive);

  json finish, record;
  auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  jobs::WorkQueue queue(job);
  queue.run({[&] { return n.next(job.group_id); },
             [&](Communicator& work, const std::string& text) {
               const json task = json::parse(text);
               const std::string kind = task["kind"];
               t0 = std::chrono::steady_clock::now();
               if (kind == "wait") {
                 std::this_thread::sleep_for(std::chrono::milliseconds(300));
                 return;
               }
               const size_t k = task["outer"];
               if (kind == "trial") {
                 if (work.rank() == 0) n.studies[k]->log_start(job.group_id, task["start"], n.outer[k].name + " ");
                 finish = n.studies[k]->run(work, task["start"]);
                 return;
               }
               TF_CHECK_INPUT(task.contains("params"), n.outer[k].name + ": no trial of its study completed (see " +
                                                            n.studies[k]->dir().string() + "/study.jsonl)");
               if (work.rank() == 0)
                 spdlog::info("group {} retrains {} with trial {}: {}", job.group_id, n.outer[k].name,
                              task["trial"].get<int64_t>(), task["params"].dump());
               record = cv::run_task(config::apply(n.ocfg, task["params"]), work, job.group_id, labels, n.outer[k],
                                     n.run_dir);
             },
             [&](const std::string& text) {
               if (job.group.rank() != 0) return;
               const json task = json::parse(text);
               if (task["kind"] == "trial") n.studies[task["outer"].get<size_t>()]->record(task["start"], finish, job.group_id, seconds());
               if (task["kind"] != "refit") return;
               record["best_trial"] = task["trial"];
               record["best_inner_value"] = task["value"];
               record["best_params"] = task["params"];
               cv::save_task(n.ocfg, record, n.run_dir);
             },
             [&](const std::string& text, const jobs::Failure& f) {
               const json task = json::parse(text);
               if (task["kind"] != "trial") {  // a retraining (or a wait) that fails ends the job
                 const std::string what =
                     "nested cv " + (task.contains("outer") ? n.outer[task["outer"].get<size_t>()].name : std::string("wait")) +
                     ": " + f.text();
                 if (f.code == kExitBadInput) throw BadInput(what, __FILE__, __LINE__);
                 throw Error(what, __FILE__, __LINE__);
               }
               if (job.group.rank() == 0)
                 n.studies[task["outer"].get<size_t>()]->record(task["start"], {{"state", "failed"}, {"reason", f.text()}},
                                                                job.group_id, seconds());
             }});
  queue.finish();  // before the counters are freed: freeing them is collective over the world
  n.refit_claims.clear();
  if (world.rank() != 0) return {};

  return write_results(cfg, n, labels);
}

}  // namespace tf::tune
