#include "compare/compare.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <set>
#include <sstream>

#include "config/apply.h"
#include "core/error.h"
#include "core/fs.h"
#include "cv/runner.h"
#include "cv/stats.h"
#include "jobs/run_folder.h"
#include "data/h5io.h"
#include "models/classical.h"
#include "train/metrics.h"
#include "train/predicted_class.h"

namespace tf::compare {

using cv::Task;

namespace {

using nlohmann::json;

struct Entry {
  std::string name;
  bool ensemble = false;
  config::Config cfg;  // model entries
  std::vector<std::string> members;
  std::vector<double> weights;
};

const std::set<std::string> kModels = {"mlp", "cnn1d", "lstm", "random_forest", "gradient_boosting", "svm"};

std::vector<Entry> parse_entries(const config::Config& base) {
  const json spec = base.at("compare.entries");
  TF_CHECK_INPUT(spec.is_object() && spec.size() >= 2,
                 "compare.entries: give at least two entries ({name: {model: ...}} or {name: {ensemble: [...]}})");
  std::vector<Entry> out;
  std::set<std::string> names;
  for (auto it = spec.begin(); it != spec.end(); ++it) names.insert(it.key());
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    const std::string where = "compare.entries." + it.key();
    const json& e = it.value();
    TF_CHECK_INPUT(it.key().find_first_of("/\\. ") == std::string::npos && !it.key().empty(),
                   where + ": entry names may not contain '/', '\\', '.' or spaces");
    TF_CHECK_INPUT(e.is_object(), where + ": expected {model: ..., set: {...}} or {ensemble: [...]}");
    for (auto f = e.begin(); f != e.end(); ++f)
      TF_CHECK_INPUT(f.key() == "model" || f.key() == "set" || f.key() == "ensemble" || f.key() == "weights",
                     where + "." + f.key() + ": unknown field (model, set, ensemble, weights)");
    Entry en;
    en.name = it.key();
    if (e.contains("ensemble")) {
      TF_CHECK_INPUT(!e.contains("model") && !e.contains("set"), where + ": an ensemble has no model or set");
      const json& m = e["ensemble"];
      TF_CHECK_INPUT(m.is_array() && m.size() >= 2, where + ".ensemble: expected a list of at least two entries");
      for (const auto& x : m) {
        TF_CHECK_INPUT(x.is_string() && names.count(x.get<std::string>()) && x.get<std::string>() != en.name,
                       where + ".ensemble: " + x.dump() + " is not another entry of compare.entries");
        TF_CHECK_INPUT(!spec[x.get<std::string>()].contains("ensemble"),
                       where + ".ensemble: " + x.dump() + " is an ensemble itself; list model entries");
        en.members.push_back(x.get<std::string>());
      }
      en.weights.assign(en.members.size(), 1.0);
      if (e.contains("weights")) {
        const json& w = e["weights"];
        TF_CHECK_INPUT(w.is_array() && w.size() == en.members.size(),
                       where + ".weights: expected " + std::to_string(en.members.size()) + " numbers, one per member");
        for (size_t i = 0; i < w.size(); ++i) {
          TF_CHECK_INPUT(w[i].is_number() && w[i].get<double>() >= 0,
                         where + ".weights[" + std::to_string(i) + "]: expected a number >= 0");
          en.weights[i] = w[i].get<double>();
        }
        TF_CHECK_INPUT(std::accumulate(en.weights.begin(), en.weights.end(), 0.0) > 0, where + ".weights: all zero");
      }
      en.ensemble = true;
      en.cfg = base;
    } else {
      TF_CHECK_INPUT(e.contains("model") && e["model"].is_string() && kModels.count(e["model"].get<std::string>()),
                     where + ".model: expected one of mlp, cnn1d, lstm, random_forest, gradient_boosting, svm");
      TF_CHECK_INPUT(!e.contains("weights"), where + ".weights: only an ensemble has weights");
      json params = json::object();
      params["model.name"] = e["model"];
      if (e.contains("set")) {
        TF_CHECK_INPUT(e["set"].is_object(), where + ".set: expected a mapping {config key: value}");
        for (auto s = e["set"].begin(); s != e["set"].end(); ++s) {
          const std::string& k = s.key();
          TF_CHECK_INPUT(k.rfind("data.", 0) != 0 && k.rfind("cv.", 0) != 0 && k.rfind("compare.", 0) != 0 &&
                             k != "experiment.seed" && k.rfind("experiment.", 0) != 0,
                         where + ".set." + k + ": entries share the data, the folds and the seed; set it at the top level");
          params[k] = s.value();
        }
      }
      try {
        en.cfg = config::apply(base, params);
      } catch (const BadInput& err) {
        throw BadInput(where + ": " + err.what(), __FILE__, __LINE__);
      }
    }
    out.push_back(std::move(en));
  }
  return out;
}

// Soft voting: each fold's probabilities averaged with the members' weights.
void write_ensemble_folds(const Entry& e, const config::Config& cfg, const Dataset& labels,
                          const std::vector<Task>& tasks, const fs::path& dir) {
  const int64_t k = labels.num_classes;
  std::vector<std::string> names;
  for (int64_t c = 0; c < k; ++c) names.push_back(labels.class_name(c));
  fs::create_directories(dir / e.name / "folds");
  const double wsum = std::accumulate(e.weights.begin(), e.weights.end(), 0.0);
  for (const auto& t : tasks) {
    json out;
    std::vector<double> proba;
    for (size_t m = 0; m < e.members.size(); ++m) {
      auto r = json::parse(read_file(dir / e.members[m] / "folds" / (t.name + ".json")));
      auto p = r["proba"].get<std::vector<float>>();
      if (proba.empty()) {
        proba.assign(p.size(), 0.0);
        out = r;
      }
      for (size_t i = 0; i < p.size(); ++i) proba[i] += e.weights[m] / wsum * p[i];
    }
    ConfusionMatrix cm(k);
    const auto truth = out["y_true"].get<std::vector<int64_t>>();
    double nll = 0;
    for (size_t i = 0; i < truth.size(); ++i) {
      const double* p = proba.data() + i * k;
      cm.add(truth[i], predicted_class(p, k));
      nll -= std::log(std::max(p[truth[i]], 1e-15));
    }
    out["proba"] = std::vector<float>(proba.begin(), proba.end());
    out["test"] = cm.to_json(names, cfg.get_int("data.no_leak_class"));
    out["test"]["loss"] = truth.empty() ? 0.0 : nll / static_cast<double>(truth.size());
    out["group"] = -1;
    out["seconds"] = 0.0;
    out["members"] = e.members;
    atomic_write(dir / e.name / "folds" / (t.name + ".json"), out.dump() + "\n");
  }
}

json statistics(const std::vector<Entry>& entries, const std::map<std::string, json>& results, const std::string& metric,
                double alpha, const std::vector<Task>& tasks) {
  double n_train = 0, n_test = 0;
  for (const auto& t : tasks) n_train += static_cast<double>(t.train.size()), n_test += static_cast<double>(t.test.size());
  n_train /= static_cast<double>(tasks.size());
  n_test /= static_cast<double>(tasks.size());
  struct Row {
    std::string name;
    std::vector<double> scores;
    double mean, std;
  };
  std::vector<Row> rows;
  for (const auto& e : entries) {
    const json& s = results.at(e.name)["summary"][metric];
    rows.push_back({e.name, s["per_fold"].get<std::vector<double>>(), s["mean"].get<double>(), 0.0});
    double m = rows.back().mean, v = 0;
    for (double x : rows.back().scores) v += (x - m) * (x - m);
    rows.back().std = rows.back().scores.size() > 1 ? std::sqrt(v / static_cast<double>(rows.back().scores.size() - 1)) : 0;
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.mean > b.mean; });
  json out;
  out["metric"] = metric;
  out["alpha"] = alpha;
  out["test"] = "corrected resampled t-test (Nadeau & Bengio 2003)";
  out["n_train"] = n_train;
  out["n_test"] = n_test;
  out["folds"] = tasks.size();
  json ranking = json::array();
  for (size_t i = 0; i < rows.size(); ++i) {
    json r = {{"rank", i + 1}, {"entry", rows[i].name}, {"mean", rows[i].mean}, {"std", rows[i].std},
              {"per_fold", rows[i].scores}};
    for (const auto& e : entries)
      if (e.name == rows[i].name) {
        r["kind"] = e.ensemble ? "ensemble" : "model";
        r["model"] = e.ensemble ? json(e.members) : json(e.cfg.get_string("model.name"));
      }
    ranking.push_back(r);
  }
  out["ranking"] = ranking;
  json pairs = json::array(), verdict = json::array();
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = i + 1; j < rows.size(); ++j) {
      cv::PairedTest t = cv::corrected_resampled_t_test(rows[i].scores, rows[j].scores, n_train, n_test);
      const bool sig = t.p < alpha;
      pairs.push_back({{"a", rows[i].name}, {"b", rows[j].name}, {"mean_diff", t.mean_diff},
                       {"t", std::isfinite(t.t) ? json(t.t) : json(nullptr)}, {"df", t.df}, {"p", t.p},
                       {"significant", sig}});
      char buf[256];
      if (sig)
        std::snprintf(buf, sizeof buf, "%s > %s (%s %+.4f, p = %.3g)", rows[i].name.c_str(), rows[j].name.c_str(),
                      metric.c_str(), t.mean_diff, t.p);
      else
        std::snprintf(buf, sizeof buf, "%s vs %s: no significant difference (%s %+.4f, p = %.3g)",
                      rows[i].name.c_str(), rows[j].name.c_str(), metric.c_str(), t.mean_diff, t.p);
      verdict.push_back(buf);
    }
  out["pairs"] = pairs;
  out["verdict"] = verdict;
  return out;
}

// After every fold of every entry: ensembles' folds, each entry's CV
// results, the statistics, compare.json and compare.csv (first rank).
json write_results(const config::Config& cfg, const std::vector<Entry>& entries, const Dataset& labels,
                   const std::vector<Task>& tasks, const fs::path& root) {
  const std::string metric = cfg.get_string("compare.metric");
  const fs::path edir = root / "entries";
  std::map<std::string, json> results;
  for (const auto& e : entries) {
    if (e.ensemble) write_ensemble_folds(e, cfg, labels, tasks, edir);
    // The ranking metric joins cv.scoring so that the summary holds it.
    json scoring = cfg.at("cv.scoring");
    if (std::find(scoring.begin(), scoring.end(), json(metric)) == scoring.end()) scoring.push_back(metric);
    results[e.name] = cv::aggregate(config::apply(e.cfg, json{{"cv.scoring", scoring}}), labels, tasks, edir / e.name);
  }
  json out = statistics(entries, results, metric, cfg.get_float("compare.alpha"), tasks);
  out["run_dir"] = root.string();
  out["data"] = cfg.get_string("data.path");
  out["cv"] = {{"method", cfg.get_string("cv.method")}, {"n_splits", cfg.get_int("cv.n_splits")},
               {"seed", cfg.get_int("experiment.seed")}};
  atomic_write(root / "compare.json", out.dump(2) + "\n");
  std::ostringstream csv;
  csv << "rank,entry,kind,mean,std";
  for (size_t f = 0; f < tasks.size(); ++f) csv << ",fold_" << f;
  csv << "\n";
  csv.precision(10);
  for (const auto& r : out["ranking"]) {
    csv << r["rank"].get<int>() << "," << r["entry"].get<std::string>() << "," << r["kind"].get<std::string>() << ","
        << r["mean"].get<double>() << "," << r["std"].get<double>();
    for (double x : r["per_fold"]) csv << "," << x;
    csv << "\n";
  }
  atomic_write(root / "compare.csv", csv.str());
  return out;
}

}  // namespace

void check_entries(const config::Config& cfg) { parse_entries(cfg); }

fs::path compare_dir(const config::Config& cfg) { return jobs::job_dir(cfg, "compare-"); }

json run_compare(const config::Config& cfg, const jobs::Job& job) {
  TF_CHECK_INPUT(!cfg.get_string("data.path").empty(), "data.path: empty; give the HDF5 data file");
  TF_CHECK_INPUT(!cfg.get_bool("cv.nested"), "cv.nested: compare runs plain (not nested) cross-validation");
  const std::vector<Entry> entries = parse_entries(cfg);  // every rank checks (exit 2 alike)
  Dataset labels = read_labels(cfg.get_string("data.path"));
  std::vector<std::string> warnings;
  const std::vector<Task> tasks = cv::plan(cfg, labels, &warnings);
  TF_CHECK_INPUT(tasks.size() >= 2, "cv.n_splits: compare needs at least 2 folds for its tests");
  const std::string metric = cfg.get_string("compare.metric");
  std::vector<const Entry*> models;
  for (const auto& e : entries)
    if (!e.ensemble) models.push_back(&e);
  Communicator& world = job.world;

  jobs::JobFolder folder;
  std::string dir;
  if (world.rank() == 0) {
    for (const auto& w : warnings) spdlog::warn("cv.method {}: {}", cfg.get_string("cv.method"), w);
    folder = jobs::open_job_folder(cfg, "compare-", "compare");
    for (const auto* e : models) {
      fs::create_directories(folder.dir / "entries" / e->name / "folds");
      atomic_write(folder.dir / "entries" / e->name / "config.yaml", e->cfg.to_yaml());
    }
    spdlog::info("compare: {} entries x {} folds in {}", entries.size(), tasks.size(), folder.dir.string());
    dir = folder.dir.string();
  }
  const fs::path root = broadcast_string(world, dir);
  const fs::path edir = root / "entries";

  // Every (model entry, fold) pair is one task of the queue.
  const int64_t total = static_cast<int64_t>(models.size() * tasks.size());
  auto entry_of = [&](int64_t j) -> const Entry& { return *models[static_cast<size_t>(j) / tasks.size()]; };
  auto task_of = [&](int64_t j) -> const Task& { return tasks[static_cast<size_t>(j) % tasks.size()]; };
  auto done_file = [&](int64_t j) { return edir / entry_of(j).name / "folds" / (task_of(j).name + ".json"); };
  int64_t done_at_start = 0;
  if (world.rank() == 0)
    for (int64_t j = 0; j < total; ++j) done_at_start += fs::exists(done_file(j));
  jobs::WorkQueue queue(job);
  auto counter = world.make_counter();
  const jobs::Progress progress(total, done_at_start, job.groups);
  json record;
  queue.run({[&] {
               const int64_t j = jobs::next_index(*counter, total, [&](int64_t i) { return fs::exists(done_file(i)); });
               if (j >= 0) spdlog::info("group {} starts {} {}", job.group_id, entry_of(j).name, task_of(j).name);
               return j < 0 ? std::string() : std::to_string(j);
             },
             [&](Communicator& work, const std::string& t) {
               const int64_t j = std::stoll(t);
               record = cv::run_task(entry_of(j).cfg, work, job.group_id, labels, task_of(j), edir / entry_of(j).name);
             },
             [&](const std::string& t) {
               if (job.group.rank() != 0) return;
               const int64_t j = std::stoll(t);
               cv::save_task(entry_of(j).cfg, record, edir / entry_of(j).name);
               int64_t done = 0;
               for (int64_t i = 0; i < total; ++i) done += fs::exists(done_file(i));
               spdlog::info("{}", progress.line("compare", done, "folds done",
                                                ", " + std::to_string(progress.running(done)) + " running"));
             },
             {}});
  queue.finish();  // before the counter is freed: freeing it is collective over the world
  counter.reset();
  if (world.rank() != 0) return {};

  return write_results(cfg, entries, labels, tasks, root);
}

std::string compare_table(const json& r) {
  std::ostringstream os;
  char buf[256];
  const std::string metric = r["metric"];
  std::snprintf(buf, sizeof buf, "%-4s %-14s %-22s %s (mean +- std over %d folds)\n", "rank", "entry", "model",
                metric.c_str(), r["folds"].get<int>());
  os << buf;
  for (const auto& e : r["ranking"]) {
    std::string model = e["model"].is_string() ? e["model"].get<std::string>() : "vote(" + [&] {
      std::string s;
      for (const auto& m : e["model"]) s += (s.empty() ? "" : ",") + m.get<std::string>();
      return s;
    }() + ")";
    std::snprintf(buf, sizeof buf, "%-4d %-14s %-22s %.4f +- %.4f\n", e["rank"].get<int>(),
                  e["entry"].get<std::string>().c_str(), model.c_str(), e["mean"].get<double>(), e["std"].get<double>());
    os << buf;
  }
  os << "\np-values (" << r["test"].get<std::string>() << "):\n";
  std::vector<std::string> names;
  for (const auto& e : r["ranking"]) names.push_back(e["entry"]);
  std::snprintf(buf, sizeof buf, "%-14s", "");
  os << buf;
  for (const auto& n : names) {
    std::snprintf(buf, sizeof buf, " %10s", n.substr(0, 10).c_str());
    os << buf;
  }
  os << "\n";
  for (const auto& a : names) {
    std::snprintf(buf, sizeof buf, "%-14s", a.c_str());
    os << buf;
    for (const auto& b : names) {
      double p = -1;
      for (const auto& pr : r["pairs"])
        if ((pr["a"] == a && pr["b"] == b) || (pr["a"] == b && pr["b"] == a)) p = pr["p"];
      if (p < 0) std::snprintf(buf, sizeof buf, " %10s", "-");
      else std::snprintf(buf, sizeof buf, " %10.3g", p);
      os << buf;
    }
    os << "\n";
  }
  os << "\nverdict (alpha = " << r["alpha"].get<double>() << "):\n";
  for (const auto& v : r["verdict"]) os << "  " << v.get<std::string>() << "\n";
  return os.str();
}

}  // namespace tf::compare
