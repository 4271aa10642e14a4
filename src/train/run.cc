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
#include "data/normalizer.h"
#include "data/row_source.h"
#include "models/classical.h"
#include "models/features.h"
#include "train/run_data.h"
#include "train/trainer.h"

#include <ATen/Parallel.h>

namespace tf {

double cv_validation_split(const config::Config& cfg) {
  return is_classical(cfg.get_string("model.name")) ? 0.0 : cfg.get_float("data.validation_split");
}

namespace {

nlohmann::json read_json(const fs::path& p) {
  try {
    return nlohmann::json::parse(read_file(p));
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(p.string() + ": not valid JSON: " + e.what(), __FILE__, __LINE__);
  }
}

struct LoadedRun {
  config::Config cfg;
  ModelInfo info;
  Normalizer norm;
};

// Where the models of a CV, compare or study folder are (empty for other
// folders), for `evaluate` / `predict` given such a folder.
std::string model_folders_hint(const fs::path& d) {
  auto first_under = [](const fs::path& p) {
    std::vector<std::string> names;
    if (fs::is_directory(p))
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_directory()) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names.empty() ? std::string("<k>") : names.front();
  };
  if (fs::exists(d / "study.jsonl"))
    return fs::exists(d / "retrain" / "model.json")
               ? "; it is a tuning study: its retrained best model is " + (d / "retrain").string() + "/"
               : "; it is a tuning study: `trainfleet tune CONFIG --retrain-best` trains the best trial into " +
                     (d / "retrain").string() + "/, and each trial's model is in " +
                     (d / "trials" / first_under(d / "trials")).string() + "/";
  if (fs::exists(d / "entries"))
    return "; it is a compare folder: each entry's fold models are in " + (d / "entries").string() +
           "/<entry>/folds/<task>/";
  if (fs::exists(d / "folds"))
    return "; it is a CV folder: each fold's model is in its own run folder, e.g. " +
           (d / "folds" / first_under(d / "folds")).string() + "/";
  return "";
}

LoadedRun load_run(const fs::path& run_dir) {
  TF_CHECK_INPUT(fs::is_directory(run_dir), "run folder " + run_dir.string() + " does not exist");
  for (const char* f : {"config.yaml", "model.json", "normalizer.json", "model.pt"})
    TF_CHECK_INPUT(fs::exists(run_dir / f), "run folder " + run_dir.string() + " has no " + f +
                                                 " (is it a finished trainfleet run?)");
  LoadedRun r{config::Config::load(run_dir / "config.yaml"),
              ModelInfo::from_json(read_json(run_dir / "model.json"), (run_dir / "model.json").string()),
              Normalizer::from_json(read_json(run_dir / "normalizer.json"), (run_dir / "normalizer.json").string())};
  return r;
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

// ---- classical models: features + XGBoost / LIBSVM, trained on the group's first rank.
// The rows of a split in memory, as read (classical models take raw windows).
Dataset read_all(const RowList& l) {
  Dataset d = read_h5(l.file, l.rows);
  d.num_classes = l.num_classes;
  return d;
}

struct ClassicalScores {
  EvalResult eval;
  std::vector<double> proba;
};

ClassicalScores score_classical(const ClassicalModel& m, const FeatureExtractor& fx, const Dataset& d, int64_t k) {
  Features f{fx.transform(d), d.n, fx.dim(d.t, d.c)};
  ClassicalScores r;
  r.proba = m.predict_proba(f);
  std::vector<int64_t> pred = m.predict(f);
  r.eval.cm = ConfusionMatrix(k);
  double nll = 0;
  for (int64_t i = 0; i < d.n; ++i) {
    r.eval.cm.add(d.y[i], pred[i]);
    nll -= std::log(std::max(r.proba[i * k + d.y[i]], 1e-15));
  }
  r.eval.loss = d.n ? nll / static_cast<double>(d.n) : 0.0;
  r.eval.rows = d.n;
  return r;
}

TrainOutput train_classical(const config::Config& cfg, Communicator& comm, TrainSplit& s,
                            const std::function<fs::path()>& make_run_dir, bool keep_test_proba) {
  const ModelInfo info = model_info(cfg, s);
  const int64_t k = info.classes, no_leak = cfg.get_int("data.no_leak_class");
  std::string summary_text;
  std::vector<float> test_proba;
  if (comm.rank() == 0) {
    const auto t0 = std::chrono::steady_clock::now();
    Dataset train = read_h5(cfg.get_string("data.path"), s.train_rows);
    FeatureExtractor fx(cfg);
    Features ftr{fx.fit_transform(train), train.n, fx.dim(train.t, train.c)};
    auto model = make_classical(cfg, at::get_num_threads());
    model->fit(ftr, train.y, k);
    const double fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const fs::path run_dir = make_run_dir();
    atomic_write(run_dir / "config.yaml", cfg.to_yaml());
    atomic_write(run_dir / "model.json", info.to_json().dump(2) + "\n");
    atomic_write(run_dir / "features.json", fx.to_json().dump(2) + "\n");
    atomic_write(run_dir / "splits.json", s.rows.dump() + "\n");
    model->save(run_dir / ("model" + model->file_extension()));
    nlohmann::json summary;
    summary["experiment"] = cfg.get_string("experiment.name");
    summary["run_dir"] = run_dir.string();
    summary["model"] = cfg.get_string("model.name");
    summary["features"] = ftr.d;
    summary["rows"] = {{"train", s.train_rows.size()}, {"val", s.val.size()}, {"test", s.test.size()}};
    summary["epochs_run"] = 1;
    summary["stopped_early"] = false;
    summary["best_epoch"] = 1;
    summary["fit_seconds"] = fit_seconds;
    summary["ranks"] = comm.size();
    if (s.has_val) summary["val"] = eval_json(score_classical(*model, fx, read_all(s.val), k).eval, info, no_leak);
    if (s.has_test) {
      ClassicalScores t = score_classical(*model, fx, read_all(s.test), k);
      summary["test"] = eval_json(t.eval, info, no_leak);
      if (keep_test_proba) test_proba.assign(t.proba.begin(), t.proba.end());
    }
    atomic_write(run_dir / "summary.json", summary.dump(2) + "\n");
    spdlog::info("{} on {} features of {} rows: fitted in {:.1f}s; run folder {}", cfg.get_string("model.name"), ftr.d,
                 train.n, fit_seconds, run_dir.string());
    summary_text = summary.dump();
  }
  // The other ranks of the group only receive the results.
  TrainOutput out;
  out.summary = nlohmann::json::parse(broadcast_string(comm, summary_text));
  if (keep_test_proba && s.has_test) {
    test_proba.resize(static_cast<size_t>(s.test.size() * k));
    comm.broadcast(test_proba.data(), test_proba.size() * sizeof(float), 0);
    out.test_proba = std::move(test_proba);
  }
  return out;
}

struct LoadedClassical {
  config::Config cfg;
  ModelInfo info;
  FeatureExtractor fx;
  std::unique_ptr<ClassicalModel> model;
};

LoadedClassical load_classical(const fs::path& run_dir, const config::Config& cfg) {
  LoadedClassical r{cfg, ModelInfo::from_json(read_json(run_dir / "model.json"), (run_dir / "model.json").string()),
                    FeatureExtractor::from_json(read_json(run_dir / "features.json"), (run_dir / "features.json").string()),
                    make_classical(cfg, at::get_num_threads())};
  const fs::path file = run_dir / ("model" + r.model->file_extension());
  TF_CHECK_INPUT(fs::exists(file), "run folder " + run_dir.string() + " has no " + file.filename().string());
  r.model->load(file, r.info.classes);
  return r;
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
  if (is_classical(cfg.get_string("model.name"))) return train_classical(cfg, comm, s, make_run_dir, keep_test_proba);
  SplitSources data = SplitSources::open(cfg, s, comm);
  const Normalizer& norm = data.norm;

  const ModelInfo info = model_info(cfg, s);
  const int64_t no_leak = cfg.get_int("data.no_leak_class");

  // Everything the config can get wrong is checked above and in the trainer's
  // constructor; only now is a run folder created.
  Trainer trainer(cfg, comm, info);
  trainer.validate_fit(s.has_val);
  const bool writer = comm.rank() == 0;
  std::string dir;
  if (writer) dir = make_run_dir().string();
  fs::path run_dir = broadcast_string(comm, dir);

  if (writer) {
    atomic_write(run_dir / "config.yaml", cfg.to_yaml());
    atomic_write(run_dir / "model.json", info.to_json().dump(2) + "\n");
    atomic_write(run_dir / "normalizer.json", norm.to_json().dump(2) + "\n");
    atomic_write(run_dir / "splits.json", s.rows.dump() + "\n");
    spdlog::info("training {} ({} parameters) on {} rows, validating on {}, testing on {}; run folder {}",
                 cfg.get_string("model.name"), trainer.parameter_count(), s.train_rows.size(), s.val.size(), s.test.size(),
                 run_dir.string());
  }
  FitResult fit = trainer.fit(*data.train, data.val.get(), run_dir, extra_callbacks);

  TrainOutput out;
  nlohmann::json& summary = out.summary;
  summary["experiment"] = cfg.get_string("experiment.name");
  summary["run_dir"] = run_dir.string();
  summary["model"] = cfg.get_string("model.name");
  summary["parameters"] = trainer.parameter_count();
  summary["rows"] = {{"train", s.train_rows.size()}, {"val", s.val.size()}, {"test", s.test.size()}};
  summary["epochs_run"] = fit.epochs_run;
  summary["stopped_early"] = fit.stopped_early;
  summary["best_epoch"] = fit.best_epoch;
  summary["fit_seconds"] = fit.seconds;
  summary["ranks"] = comm.size();
  summary["data"] = data.summary();
  if (data.val) summary["val"] = eval_json(trainer.evaluate(*data.val), info, no_leak);
  if (data.test)  // the test probabilities, when kept, from the same pass
    summary["test"] =
        eval_json(trainer.evaluate(*data.test, keep_test_proba ? &out.test_proba : nullptr), info, no_leak);
  if (writer) {
    trainer.save_weights(run_dir / "model.pt");
    trainer.save_optimizer(run_dir / "optimizer.pt");
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

Dataset read_for_info(const fs::path& data, const ModelInfo& info) {
  Dataset d = read_h5(data);
  TF_CHECK_INPUT(d.t == info.steps && d.c == info.channels,
                 data.string() + ": /X windows are [" + std::to_string(d.t) + " steps, " + std::to_string(d.c) +
                     " channels] but the model was trained on [" + std::to_string(info.steps) + ", " +
                     std::to_string(info.channels) + "]");
  TF_CHECK_INPUT(d.num_classes <= info.classes, data.string() + ": /y has labels up to " +
                                                    std::to_string(d.num_classes - 1) + " but the model knows " +
                                                    std::to_string(info.classes) + " classes");
  d.num_classes = info.classes;
  return d;
}
}  // namespace

nlohmann::json run_evaluate(const fs::path& run_dir, const fs::path& data, Communicator& comm) {
  if (is_classical(run_model(run_dir))) {
    LoadedClassical run = load_classical(run_dir, config::Config::load(run_dir / "config.yaml"));
    Dataset d = read_for_info(data, run.info);
    nlohmann::json j = eval_json(score_classical(*run.model, run.fx, d, run.info.classes).eval, run.info,
                                 run.cfg.get_int("data.no_leak_class"));
    j["data"] = data.string();
    j["run_dir"] = run_dir.string();
    return j;
  }
  LoadedRun run = load_run(run_dir);
  auto rows = open_for_model(data, run.info.steps, run.info.channels, run.info.classes, run.norm);
  Trainer trainer(run.cfg, comm, run.info);
  trainer.load_weights(run_dir / "model.pt");
  nlohmann::json j = eval_json(trainer.evaluate(*rows), run.info, run.cfg.get_int("data.no_leak_class"));
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
  ModelInfo info;
  std::vector<float> proba;
  std::vector<int64_t> voted;  // classical models: their own class decision (the SVM's vote)
  int64_t n = 0;
  if (is_classical(run_model(run_dir))) {
    LoadedClassical run = load_classical(run_dir, config::Config::load(run_dir / "config.yaml"));
    Dataset d = read_for_info(data, run.info);
    Features f{run.fx.transform(d), d.n, run.fx.dim(d.t, d.c)};
    auto p = run.model->predict_proba(f);
    proba.assign(p.begin(), p.end());
    voted = run.model->predict(f);
    info = run.info;
    n = d.n;
  } else {
    LoadedRun run = load_run(run_dir);
    auto rows = open_for_model(data, run.info.steps, run.info.channels, run.info.classes, run.norm);
    Trainer trainer(run.cfg, comm, run.info);
    trainer.load_weights(run_dir / "model.pt");
    proba = trainer.predict_proba(*rows);
    info = run.info;
    n = rows->size();
  }
  if (comm.rank() != 0) return;
  const int64_t k = info.classes;
  std::vector<int64_t> pred = voted;
  if (pred.empty()) {
    pred.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const float* p = proba.data() + i * k;
      pred[i] = std::max_element(p, p + k) - p;
    }
  }
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
