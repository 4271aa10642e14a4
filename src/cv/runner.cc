#include "cv/runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <cstdio>
#include <numeric>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/fs.h"
#include "core/strings.h"
#include "jobs/queue.h"
#include "jobs/run_folder.h"
#include "core/interrupt.h"
#include "cv/splitters.h"
#include "data/h5io.h"
#include "train/metrics.h"
#include "train/predicted_class.h"
#include "train/run.h"

namespace tf::cv {

TrainOutput train_task(const config::Config& cfg, Communicator& group, const Dataset& labels, const Task& t,
                       const fs::path& task_dir, const std::vector<Callback*>& extra) {
  TrainSplit s = split_from_rows(cfg, labels, t.train, t.test);
  return train_split(cfg, group, s, [&] { return jobs::reuse_or_fresh(task_dir); }, /*keep_test_proba=*/true, extra);
}

nlohmann::json run_task(const config::Config& cfg, Communicator& group, int group_id, const Dataset& labels,
                        const Task& t, const fs::path& run_dir) {
  auto t0 = std::chrono::steady_clock::now();
  TrainOutput out = train_task(cfg, group, labels, t, run_dir / "folds" / t.name);
  if (group.rank() != 0) return {};
  std::vector<int64_t> test_sorted = t.test;
  std::sort(test_sorted.begin(), test_sorted.end());
  nlohmann::json r;
  r["task"] = t.name;
  r["outer"] = t.outer;
  r["inner"] = t.inner;
  r["group"] = group_id;
  r["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r["train_rows"] = out.summary["rows"]["train"].get<size_t>();
  r["val_rows"] = out.summary["rows"]["val"].get<size_t>();
  r["test_rows"] = test_sorted;
  std::vector<int64_t> truth;
  for (auto row : test_sorted) truth.push_back(labels.y[row]);
  r["y_true"] = truth;
  r["proba"] = out.test_proba;
  r["test"] = out.summary["test"];
  r["epochs_run"] = out.summary["epochs_run"];
  return r;
}

void save_task(const config::Config& cfg, const nlohmann::json& r, const fs::path& run_dir) {
  atomic_write(run_dir / "folds" / (r["task"].get<std::string>() + ".json"), r.dump() + "\n");
  std::string m;
  for (const auto& k : cfg.at("cv.scoring"))
    m += k.get<std::string>() + " " + std::to_string(r["test"][k.get<std::string>()].get<double>()) + "  ";
  spdlog::info("group {}: {} done in {:.1f}s: {}", r["group"].get<int>(), r["task"].get<std::string>(),
               r["seconds"].get<double>(), m);
}

namespace {

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); }
double std_of(const std::vector<double>& v) {  // population std, as numpy's default
  double m = mean_of(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / v.size());
}

}  // namespace

nlohmann::json aggregate(const config::Config& cfg, const Dataset& labels, const std::vector<Task>& tasks,
                         const fs::path& run_dir, const nlohmann::json& extra) {
  const int64_t k = labels.num_classes, no_leak = cfg.get_int("data.no_leak_class");
  std::vector<std::string> scoring;
  for (const auto& m : cfg.at("cv.scoring")) scoring.push_back(m.get<std::string>());
  nlohmann::json res;
  res["method"] = cfg.get_string("cv.method");
  res["n_splits"] = cfg.get_int("cv.n_splits");
  res["scoring"] = scoring;
  res["data"] = cfg.get_string("data.path");
  res["run_dir"] = run_dir.string();
  ConfusionMatrix pooled(k);
  std::map<std::string, std::vector<double>> per_metric;
  std::map<int64_t, std::map<std::string, std::vector<double>>> inner_scores;
  nlohmann::json folds = nlohmann::json::array();
  std::ostringstream oof;
  oof << "row,fold,y_true,pred";
  for (int64_t c = 0; c < k; ++c) oof << "," << csv_field("p_" + labels.class_name(c));
  oof << "\n";
  oof.precision(7);
  std::vector<std::pair<int64_t, std::string>> oof_lines;
  for (const auto& t : tasks) {
    auto r = nlohmann::json::parse(read_file(run_dir / "folds" / (t.name + ".json")));
    if (t.inner >= 0) {
      for (const auto& m : scoring) inner_scores[t.outer][m].push_back(r["test"][m].get<double>());
      continue;
    }
    nlohmann::json f = {{"fold", t.outer}, {"task", t.name}, {"test_rows", t.test.size()},
                        {"train_rows", r["train_rows"]}, {"seconds", r["seconds"]}, {"group", r["group"]}};
    for (const auto& m : config::metric_names()) f[m] = r["test"][m];
    f["confusion_matrix"] = r["test"]["confusion_matrix"];
    folds.push_back(f);
    for (const auto& m : scoring) per_metric[m].push_back(r["test"][m].get<double>());
    auto rows = r["test_rows"].get<std::vector<int64_t>>();
    auto truth = r["y_true"].get<std::vector<int64_t>>();
    auto proba = r["proba"].get<std::vector<float>>();
    for (size_t i = 0; i < rows.size(); ++i) {
      const float* p = proba.data() + i * k;
      const int64_t pred = predicted_class(p, k);
      pooled.add(truth[i], pred);
      std::ostringstream line;
      line.precision(7);
      line << rows[i] << "," << t.outer << "," << truth[i] << "," << pred;
      for (int64_t c = 0; c < k; ++c) line << "," << p[c];
      oof_lines.emplace_back(rows[i], line.str());
    }
  }
  res["folds"] = folds;
  nlohmann::json summary;
  for (const auto& m : scoring)
    summary[m] = {{"mean", mean_of(per_metric[m])}, {"std", std_of(per_metric[m])}, {"per_fold", per_metric[m]}};
  res["summary"] = summary;
  nlohmann::json pooled_j = pooled.to_json(labels.class_names, no_leak);
  res["pooled_oof"] = pooled_j;
  if (!inner_scores.empty()) {
    nlohmann::json nested = nlohmann::json::array();
    for (auto& [outer, m] : inner_scores) {
      nlohmann::json e = {{"outer", outer}};
      for (auto& [name, v] : m) e["inner_" + name] = {{"mean", mean_of(v)}, {"std", std_of(v)}};
      nested.push_back(e);
    }
    res["nested"] = nested;
  }
  std::sort(oof_lines.begin(), oof_lines.end());
  for (auto& [row, line] : oof_lines) oof << line << "\n";
  atomic_write(run_dir / "oof_predictions.csv", oof.str());
  for (const auto& [key, value] : extra.items()) res[key] = value;
  atomic_write(run_dir / "cv_results.json", res.dump(2) + "\n");
  return res;
}

fs::path cv_run_dir(const config::Config& cfg) { return jobs::job_dir(cfg, "cv-"); }

namespace {
// "cv progress: 3/5 tasks done, 2 running, f1_macro mean so far 0.8123, ETA 1m02s";
// each fold file is parsed once (kept in `seen`).
std::string progress_line(const config::Config& cfg, const std::vector<Task>& tasks, const fs::path& run_dir,
                          const jobs::Progress& progress, std::map<size_t, double>& seen) {
  int64_t done = 0;
  std::vector<double> scores;  // the first scoring metric of the finished outer folds
  const std::string metric = cfg.at("cv.scoring")[0].get<std::string>();
  for (size_t k = 0; k < tasks.size(); ++k) {
    auto it = seen.find(k);
    if (it == seen.end()) {
      const fs::path f = run_dir / "folds" / (tasks[k].name + ".json");
      if (!fs::exists(f)) continue;
      it = seen.emplace(k, nlohmann::json::parse(read_file(f))["test"][metric].get<double>()).first;
    }
    ++done;
    if (tasks[k].inner < 0) scores.push_back(it->second);
  }
  return progress.line("cv", done, "tasks done",
                       fmt::format(", {} running, {} mean so far {:.4f}", progress.running(done), metric,
                                   scores.empty() ? NAN : mean_of(scores)));
}
}  // namespace

nlohmann::json run_cv(const config::Config& cfg, const jobs::Job& job, const std::vector<int64_t>& only) {
  TF_CHECK_INPUT(!cfg.get_string("data.path").empty(), "data.path: empty; give the HDF5 data file");
  Dataset labels = read_labels(cfg.get_string("data.path"));
  std::vector<std::string> warnings;
  std::vector<Task> tasks = plan(cfg, labels, &warnings);
  Communicator& world = job.world;
  const bool leader = world.rank() == 0;
  std::vector<bool> wanted(tasks.size(), only.empty());
  for (int64_t k : only) {
    TF_CHECK_INPUT(k >= 0 && k < static_cast<int64_t>(tasks.size()),
                   "--tasks: " + std::to_string(k) + " is not a task of this CV (0.." +
                       std::to_string(tasks.size() - 1) + ")");
    wanted[static_cast<size_t>(k)] = true;
  }
  auto done_file = [&](size_t k) { return fs::path("folds") / (tasks[k].name + ".json"); };

  // The run folder: created, or resumed when it holds the same resolved config;
  // locked (shared between array tasks that split the folds with --tasks).
  jobs::JobFolder folder;
  std::string dir;
  int64_t done_at_start = 0;
  if (leader) {
    for (const auto& w : warnings) spdlog::warn("cv.method {}: {}", cfg.get_string("cv.method"), w);
    folder = jobs::open_job_folder(cfg, "cv-", "CV", true,
                                   only.empty() ? jobs::FolderLock::Mode::kExclusive : jobs::FolderLock::Mode::kShared);
    fs::create_directories(folder.dir / "folds");
    for (size_t k = 0; k < tasks.size(); ++k) done_at_start += fs::exists(folder.dir / done_file(k));
    spdlog::info("cv {} with {} task(s) in {}{}", cfg.get_string("cv.method"), tasks.size(), folder.dir.string(),
                 done_at_start ? " (resuming: " + std::to_string(done_at_start) + " done already)" : std::string());
    dir = folder.dir.string();
  }
  const fs::path run_dir = broadcast_string(world, dir);

  jobs::WorkQueue queue(job);
  auto counter = world.make_counter();
  const jobs::Progress progress(static_cast<int64_t>(tasks.size()), done_at_start, job.groups);
  std::map<size_t, double> seen;  // task -> score, for the progress lines
  nlohmann::json record;
  queue.run({[&] {
               int64_t t = jobs::next_index(*counter, static_cast<int64_t>(tasks.size()), [&](int64_t i) {
                 return !wanted[static_cast<size_t>(i)] || fs::exists(run_dir / done_file(static_cast<size_t>(i)));
               });
               if (t >= 0) spdlog::info("group {} starts {}", job.group_id, tasks[static_cast<size_t>(t)].name);
               return t < 0 ? std::string() : std::to_string(t);
             },
             [&](Communicator& work, const std::string& t) {
               record = run_task(cfg, work, job.group_id, labels, tasks[std::stoul(t)], run_dir);
             },
             [&](const std::string&) {
               if (job.group.rank() != 0) return;
               save_task(cfg, record, run_dir);
               spdlog::info("{}", progress_line(cfg, tasks, run_dir, progress, seen));
             },
             {}});
  queue.finish();  // before the counter is freed: freeing it is collective over the world
  counter.reset();
  if (!leader) return {};
  if (!only.empty()) {
    int done = 0;
    for (size_t k = 0; k < tasks.size(); ++k) done += fs::exists(run_dir / done_file(k));
    spdlog::info("{} of {} task(s) done in {}; `trainfleet cv` with the same config aggregates them once all are",
                 done, tasks.size(), run_dir.string());
    return {};
  }
  return aggregate(cfg, labels, tasks, run_dir);
}

std::string results_table(const nlohmann::json& r) {
  std::ostringstream os;
  char buf[256];
  const auto& scoring = r["scoring"];
  std::snprintf(buf, sizeof buf, "%-8s", "fold");
  os << buf;
  for (const auto& m : scoring) {
    std::snprintf(buf, sizeof buf, " %14s", m.get<std::string>().c_str());
    os << buf;
  }
  os << "\n";
  for (const auto& f : r["folds"]) {
    std::snprintf(buf, sizeof buf, "%-8lld", static_cast<long long>(f["fold"].get<int64_t>()));
    os << buf;
    for (const auto& m : scoring) {
      std::snprintf(buf, sizeof buf, " %14.4f", f[m.get<std::string>()].get<double>());
      os << buf;
    }
    os << "\n";
  }
  std::snprintf(buf, sizeof buf, "%-8s", "mean+-sd");
  os << buf;
  for (const auto& m : scoring) {
    const auto& s = r["summary"][m.get<std::string>()];
    std::snprintf(buf, sizeof buf, "  %.4f+-%.4f", s["mean"].get<double>(), s["std"].get<double>());
    os << buf;
  }
  os << "\n";
  std::snprintf(buf, sizeof buf, "%-8s", "pooled");
  os << buf;
  for (const auto& m : scoring) {
    std::snprintf(buf, sizeof buf, " %14.4f", r["pooled_oof"][m.get<std::string>()].get<double>());
    os << buf;
  }
  return os.str();
}

}  // namespace tf::cv
