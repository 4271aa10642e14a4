#include "train/run.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/fs.h"
#include "core/strings.h"
#include "data/h5io.h"
#include "models/classical.h"
#include "train/estimator.h"

namespace tf {

double cv_validation_split(const config::Config& cfg) {
  return is_classical(cfg.get_string("model.name")) ? 0.0 : cfg.get_float("data.validation_split");
}

nlohmann::json read_json_file(const fs::path& p) {
  try {
    return nlohmann::json::parse(read_file(p));
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(p.string() + ": not valid JSON: " + e.what(), __FILE__, __LINE__);
  }
}

namespace {

// Where the models of a CV, compare or study folder are (empty for other
// folders), for `evaluate` / `predict` given such a folder.
std::string model_folders_hint(const fs::path& d) {
  auto under = [](const fs::path& p) {  // sub-folder names, sorted
    std::vector<std::string> names;
    if (fs::is_directory(p))
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_directory()) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  };
  auto first_under = [&](const fs::path& p) {
    const auto names = under(p);
    return names.empty() ? std::string("<k>") : names.front();
  };
  if (fs::exists(d / "study.jsonl")) {
    // `tune --retrain-best` trains into retrain/<run id>/ (the latest last).
    std::string retrained;
    for (const auto& name : under(d / "retrain"))
      if (fs::exists(d / "retrain" / name / "model.json")) retrained = (d / "retrain" / name).string();
    return !retrained.empty()
               ? "; it is a tuning study: its retrained best model is " + retrained + "/"
               : "; it is a tuning study: `trainfleet tune CONFIG --retrain-best` trains the best trial into " +
                     (d / "retrain").string() + "/<run id>/, and each trial's model is in " +
                     (d / "trials" / first_under(d / "trials")).string() + "/";
  }
  if (fs::exists(d / "entries"))
    return "; it is a compare folder: each entry's fold models are in " + (d / "entries").string() +
           "/<entry>/folds/<task>/";
  if (fs::exists(d / "folds"))
    return "; it is a CV folder: each fold's model is in its own run folder, e.g. " +
           (d / "folds" / first_under(d / "folds")).string() + "/";
  return "";
}

nlohmann::json eval_json(const EvalResult& r, const ModelInfo& info, int64_t no_leak) {
  nlohmann::json j = r.cm.to_json(info.class_names, no_leak);
  j["loss"] = r.loss;
  j["rows"] = r.rows;
  return j;
}

ModelInfo model_info(const config::Config& cfg, const TrainSplit& s) {
  ModelInfo info;
  info.steps = s.labels.t;
  info.channels = s.labels.c;
  info.classes = s.labels.num_classes;
  info.class_counts.assign(static_cast<size_t>(info.classes), 0);
  for (auto y : s.train_labels) info.class_counts[static_cast<size_t>(y)]++;
  for (int64_t k = 0; k < info.classes; ++k) info.class_names.push_back(s.labels.class_name(k));
  const int64_t no_leak = cfg.get_int("data.no_leak_class");
  TF_CHECK_INPUT(no_leak < info.classes, "data.no_leak_class: " + std::to_string(no_leak) +
                                             " is not a class of the data (0.." + std::to_string(info.classes - 1) + ")");
  return info;
}

}  // namespace

std::string metrics_table(const nlohmann::json& m) {
  std::ostringstream os;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%-14s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
  os << buf;
  for (const auto& c : m.at("per_class")) {
    std::snprintf(buf, sizeof buf, "%-14s %9.4f %9.4f %9.4f %8lld\n", c.at("class").get<std::string>().c_str(),
                  c.at("precision").get<double>(), c.at("recall").get<double>(), c.at("f1").get<double>(),
                  static_cast<long long>(c.at("support").get<int64_t>()));
    os << buf;
  }
  std::snprintf(buf, sizeof buf, "accuracy %.4f  f1_macro %.4f  f1_weighted %.4f  leak_recall %.4f  loss %.4f",
                m.at("accuracy").get<double>(), m.at("f1_macro").get<double>(), m.at("f1_weighted").get<double>(),
                m.at("leak_recall").get<double>(), m.at("loss").get<double>());
  os << buf;
  return os.str();
}

TrainOutput train_split(const config::Config& cfg, Communicator& comm, TrainSplit& s,
                        const std::function<fs::path()>& make_run_dir, bool keep_test_proba,
                        const std::vector<Callback*>& extra_callbacks) {
  const ModelInfo info = model_info(cfg, s);
  const int64_t no_leak = cfg.get_int("data.no_leak_class");
  std::unique_ptr<Estimator> est = make_estimator(cfg, comm, info);
  est->prepare(s);

  // Everything the config can get wrong is checked above and in the
  // estimator's constructor and prepare(); only now is a run folder created.
  const bool writer = comm.rank() == 0;
  std::string dir;
  if (writer) dir = make_run_dir().string();
  const fs::path run_dir = broadcast_string(comm, dir);
  if (writer) {
    atomic_write(run_dir / "config.yaml", cfg.to_yaml());
    atomic_write(run_dir / "model.json", info.to_json().dump(2) + "\n");
    atomic_write(run_dir / "splits.json", s.rows.dump() + "\n");
    spdlog::info("training {} on {} rows, validating on {}, testing on {}; run folder {}", est->describe(),
                 s.train_rows.size(), s.val.size(), s.test.size(), run_dir.string());
  }
  const nlohmann::json fitted = est->fit(s, run_dir, extra_callbacks);

  TrainOutput out;
  nlohmann::json& summary = out.summary;
  summary["experiment"] = cfg.get_string("experiment.name");
  summary["run_dir"] = run_dir.string();
  summary["model"] = cfg.get_string("model.name");
  summary["rows"] = {{"train", s.train_rows.size()}, {"val", s.val.size()}, {"test", s.test.size()}};
  summary.update(fitted);
  summary["ranks"] = comm.size();
  if (s.has_val) summary["val"] = eval_json(est->score(ScoreOn::val(), true, false).eval, info, no_leak);
  if (s.has_test) {
    Scores t = est->score(ScoreOn::test(), true, keep_test_proba);
    summary["test"] = eval_json(t.eval, info, no_leak);
    if (keep_test_proba) out.test_proba = std::move(t.proba);
  }
  if (writer) {
    est->save(run_dir);
    atomic_write(run_dir / "summary.json", summary.dump(2) + "\n");
    std::error_code ec;
    fs::remove_all(run_dir / "resume", ec);  // finished: nothing to resume
  }
  return out;
}

nlohmann::json run_train(const config::Config& cfg, Communicator& comm,
                         const std::function<fs::path()>& make_run_dir) {
  TF_CHECK_INPUT(!cfg.get_string("data.path").empty(), "data.path: empty; give the HDF5 training file");
  TrainSplit s = load_splits(cfg);
  TrainOutput out = train_split(cfg, comm, s, make_run_dir);
  const nlohmann::json& summary = out.summary;
  if (comm.rank() == 0) {
    const char* which = s.has_test ? "test" : s.has_val ? "val" : nullptr;
    if (which)
      spdlog::info("{} set ({} rows):\n{}", which, summary[which]["rows"].get<int64_t>(), metrics_table(summary[which]));
    spdlog::info("done in {:.1f}s: {}", summary["fit_seconds"].get<double>(), summary["run_dir"].get<std::string>());
  }
  return summary;
}

namespace {
// The model name a run folder was trained with (BadInput when it is no run folder).
std::string run_model(const fs::path& run_dir) {
  TF_CHECK_INPUT(fs::is_directory(run_dir), "run folder " + run_dir.string() + " does not exist");
  const std::string hint = model_folders_hint(run_dir);
  TF_CHECK_INPUT(hint.empty(), "run folder " + run_dir.string() + " holds no model" + hint);
  TF_CHECK_INPUT(fs::exists(run_dir / "config.yaml"),
                 "run folder " + run_dir.string() + " has no config.yaml (is it a finished trainfleet run?)");
  return config::Config::load(run_dir / "config.yaml").get_string("model.name");
}

struct LoadedModel {
  config::Config cfg;
  ModelInfo info;
  std::unique_ptr<Estimator> est;
};

// A finished run folder's model, ready to score.
LoadedModel load_model(const fs::path& run_dir, Communicator& comm) {
  run_model(run_dir);
  TF_CHECK_INPUT(fs::exists(run_dir / "model.json"),
                 "run folder " + run_dir.string() + " has no model.json (is it a finished trainfleet run?)");
  LoadedModel m{config::Config::load(run_dir / "config.yaml"),
                ModelInfo::from_json(read_json_file(run_dir / "model.json"), (run_dir / "model.json").string()),
                nullptr};
  m.est = make_estimator(m.cfg, comm, m.info);
  m.est->load(run_dir);
  return m;
}
}  // namespace

nlohmann::json run_evaluate(const fs::path& run_dir, const fs::path& data, Communicator& comm) {
  LoadedModel m = load_model(run_dir, comm);
  nlohmann::json j = eval_json(m.est->score(ScoreOn::rows_of(data), true, false).eval, m.info,
                               m.cfg.get_int("data.no_leak_class"));
  j["data"] = data.string();
  j["run_dir"] = run_dir.string();
  return j;
}

void run_predict(const fs::path& run_dir, const fs::path& data, const fs::path& out, Communicator& comm) {
  TF_CHECK_INPUT(!fs::exists(out), "output file " + out.string() + " exists already; refusing to overwrite it");
  std::string ext = out.extension().string();
  TF_CHECK_INPUT(ext == ".h5" || ext == ".hdf5" || ext == ".csv",
                 "--out " + out.string() + ": expected a .h5, .hdf5 or .csv file name");
  const fs::path folder = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  TF_CHECK_INPUT(fs::is_directory(folder), "--out " + out.string() + ": folder " + folder.string() +
                                               " does not exist (create it first)");
  LoadedModel m = load_model(run_dir, comm);
  const Scores sc = m.est->score(ScoreOn::rows_of(data), false, true);
  if (comm.rank() != 0) return;
  const ModelInfo& info = m.info;
  const std::vector<float>& proba = sc.proba;
  const std::vector<int64_t>& pred = sc.pred;
  const int64_t k = info.classes, n = static_cast<int64_t>(pred.size());
  if (ext == ".csv") {
    std::ostringstream os;
    os << "row,pred,pred_name";
    for (int64_t c = 0; c < k; ++c) os << "," << csv_field("p_" + info.class_names[c]);
    os << "\n";
    os.precision(7);
    for (int64_t i = 0; i < n; ++i) {
      os << i << "," << pred[i] << "," << csv_field(info.class_names[pred[i]]);
      for (int64_t c = 0; c < k; ++c) os << "," << proba[i * k + c];
      os << "\n";
    }
    atomic_write(out, os.str());
  } else {
    write_predictions_h5(out, pred, proba, info.class_names);
  }
  spdlog::info("wrote predictions for {} rows to {}", n, out.string());
}

}  // namespace tf
