// Study reports: trials.csv, best_trial.json, study_summary.json, the text of
// `trainfleet study show`, and parameter importances, all from the journal.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/fs.h"
#include "core/strings.h"
#include "tune/journal.h"
#include "tune/study.h"

namespace tf::tune {

using nlohmann::json;

json write_outputs(const fs::path& dir, const config::Config& cfg) {
  const bool maximize = objective_maximizes(cfg);
  Journal j(dir / "study.jsonl", /*warn=*/false);  // its reader (tune, study show) has warned already
  std::vector<TrialState> trials;
  std::map<int64_t, json> finish;
  {
    Journal::Lock lock(j);
    trials = j.read().trials;
    finish = j.read().finish;
  }
  std::set<std::string> keys;
  for (const auto& t : trials)
    for (auto it = t.params.begin(); it != t.params.end(); ++it) keys.insert(it.key());
  std::ostringstream csv;
  csv << "number,state,value,duration_s,group";
  for (const auto& k : keys) csv << "," << k;
  csv << ",reason\n";
  csv.precision(10);
  const TrialState* best = best_trial(trials, maximize);
  json counts = {{"complete", 0}, {"pruned", 0}, {"failed", 0}, {"running", 0}};
  for (const auto& t : trials) {
    counts[t.state] = counts[t.state].get<int>() + 1;
    const json f = finish.count(t.number) ? finish[t.number] : json::object();
    csv << t.number << "," << t.state << ",";
    if (t.state == "complete" || t.state == "pruned") csv << t.value;
    csv << "," << f.value("duration", 0.0) << "," << f.value("group", -1);
    for (const auto& k : keys) {
      csv << ",";
      if (t.params.contains(k)) {
        std::string v = t.params[k].is_string() ? t.params[k].get<std::string>() : t.params[k].dump();
        csv << csv_field(v);
      }
    }
    std::string reason = f.value("reason", "");
    std::replace(reason.begin(), reason.end(), ',', ';');
    std::replace(reason.begin(), reason.end(), '\n', ' ');
    csv << "," << reason << "\n";
  }
  atomic_write(dir / "trials.csv", csv.str());
  json summary = {{"study", dir.string()}, {"objective", cfg.get_string("tuning.objective")},
                  {"direction", maximize ? "maximize" : "minimize"}, {"trials", counts}};
  if (best) {
    summary["best"] = {{"number", best->number}, {"value", best->value}, {"params", best->params}};
    atomic_write(dir / "best_trial.json", summary["best"].dump(2) + "\n");
  }
  json imp;
  for (const auto& [k, v] : importances(trials)) imp[k] = v;
  summary["importances"] = imp;
  atomic_write(dir / "study_summary.json", summary.dump(2) + "\n");
  return summary;
}

std::map<std::string, double> importances(const std::vector<TrialState>& trials) {
  std::vector<const TrialState*> done;
  for (const auto& t : trials)
    if (t.state == "complete") done.push_back(&t);
  std::map<std::string, double> out;
  if (done.size() < 3) return out;
  double mean = 0;
  for (auto* t : done) mean += t->value;
  mean /= done.size();
  double total = 0;
  for (auto* t : done) total += (t->value - mean) * (t->value - mean);
  std::set<std::string> keys;
  for (auto* t : done)
    for (auto it = t->params.begin(); it != t->params.end(); ++it) keys.insert(it.key());
  double sum = 0;
  for (const auto& k : keys) {
    // Level of each trial: the value itself (categorical / few values) or its quartile.
    std::vector<std::pair<double, double>> numeric;  // (param, objective)
    std::map<std::string, std::vector<double>> groups;
    for (auto* t : done) {
      if (!t->params.contains(k)) {
        groups["<inactive>"].push_back(t->value);
        continue;
      }
      const json& v = t->params[k];
      if (v.is_number()) numeric.emplace_back(v.get<double>(), t->value);
      else groups[v.dump()].push_back(t->value);
    }
    std::set<double> distinct;
    for (auto& [x, y] : numeric) distinct.insert(x);
    if (distinct.size() <= 4) {
      for (auto& [x, y] : numeric) groups[std::to_string(x)].push_back(y);
    } else {
      std::sort(numeric.begin(), numeric.end());
      for (size_t i = 0; i < numeric.size(); ++i) groups["q" + std::to_string(4 * i / numeric.size())].push_back(numeric[i].second);
    }
    double between = 0;
    for (auto& [g, ys] : groups) {
      double m = 0;
      for (double y : ys) m += y;
      m /= ys.size();
      between += ys.size() * (m - mean) * (m - mean);
    }
    out[k] = total > 0 ? between / total : 0.0;
    sum += out[k];
  }
  if (sum > 0)
    for (auto& [k, v] : out) v /= sum;
  return out;
}

std::string show(const fs::path& dir) {
  TF_CHECK_INPUT(fs::exists(dir / "study.jsonl") && fs::exists(dir / "config.yaml"),
                 dir.string() + " is not a study folder (no study.jsonl / config.yaml)");
  load_trials(dir);  // warns about the journal's skipped lines
  return show_text(dir, write_outputs(dir, config::Config::load(dir / "config.yaml")));
}

std::string show_text(const fs::path& dir, const json& summary) {
  std::ostringstream os;
  os << read_file(dir / "trials.csv");
  os << "\ntrials: " << summary["trials"].dump() << "\n";
  if (summary.contains("best"))
    os << "best: trial " << summary["best"]["number"] << ", " << summary["objective"].get<std::string>() << " = "
       << summary["best"]["value"] << ", " << summary["best"]["params"].dump() << "\n";
  std::vector<std::pair<double, std::string>> imp;
  for (auto it = summary["importances"].begin(); it != summary["importances"].end(); ++it)
    imp.emplace_back(it.value().get<double>(), it.key());
  std::sort(imp.rbegin(), imp.rend());
  if (!imp.empty()) os << "parameter importances (share of the objective's variance explained):\n";
  char buf[256];
  for (auto& [v, k] : imp) {
    std::snprintf(buf, sizeof buf, "  %-40s %.3f\n", k.c_str(), v);
    os << buf;
  }
  return os.str();
}

}  // namespace tf::tune
