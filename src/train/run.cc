#include "train/run.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/fs.h"
#include "data/h5io.h"
#include "data/normalizer.h"
#include "data/row_source.h"
#include "models/classical.h"
#include "models/features.h"
#include "train/trainer.h"

#include <ATen/Parallel.h>

namespace tf {

namespace {

}  // namespace

TrainSplit load_splits(const config::Config& cfg) {
  TrainSplit s;
  const std::string path = cfg.get_string("data.path");
  s.labels = read_labels(path);
  const uint64_t seed = static_cast<uint64_t>(cfg.get_int("experiment.seed"));
  std::vector<int64_t> rows(static_cast<size_t>(s.labels.n));
  for (int64_t i = 0; i < s.labels.n; ++i) rows[i] = i;
  std::vector<int64_t> rest = rows, held;
  if (!cfg.get_string("data.test_path").empty()) {
    s.test = read_h5(cfg.get_string("data.test_path"));
    s.has_test = true;
  } else if (cfg.get_float("data.test_split") > 0) {
    stratified_split(s.labels.y, rows, cfg.get_float("data.test_split"), seed, &rest, &held);
    s.has_test = !held.empty();
    if (s.has_test) s.test = read_h5(path, held);
  }
  std::vector<int64_t> val_rows;
  s.train_rows = rest;
  if (!cfg.get_string("data.val_path").empty()) {
    s.val = read_h5(cfg.get_string("data.val_path"));
    s.has_val = true;
  } else if (cfg.get_float("data.validation_split") > 0) {
    stratified_split(s.labels.y, rest, cfg.get_float("data.validation_split"), seed + 1, &s.train_rows, &val_rows);
    s.has_val = !val_rows.empty();
    if (s.has_val) s.val = read_h5(path, val_rows);
  }
  TF_CHECK_INPUT(!s.train_rows.empty(), path + ": no rows left for training after the test and validation splits");
  for (auto r : s.train_rows) s.train_labels.push_back(s.labels.y[r]);
  s.rows = {{"data", path}, {"train", s.train_rows}, {"val", val_rows}, {"test", held}};
  for (Dataset* d : {&s.val, &s.test}) {
    if (d->n == 0) continue;
    TF_CHECK_INPUT(d->t == s.labels.t && d->c == s.labels.c,
                   d->source + ": windows are [" + std::to_string(d->t) + ", " + std::to_string(d->c) +
                       "] but the training data has [" + std::to_string(s.labels.t) + ", " +
                       std::to_string(s.labels.c) + "]");
  }
  int64_t k = std::max({s.labels.num_classes, s.val.num_classes, s.test.num_classes});
  s.labels.num_classes = s.val.num_classes = s.test.num_classes = k;
  return s;
}

double cv_validation_split(const config::Config& cfg) {
  return is_classical(cfg.get_string("model.name")) ? 0.0 : cfg.get_float("data.validation_split");
}

namespace {

// Per-channel normaliser over the training rows: each rank reads a contiguous
// share of them, and the partial sums are added over the group. A single
// rank keeps the rows it read (in `keep`) for training.
Normalizer fit_normalizer(const config::Config& cfg, const TrainSplit& s, Communicator& comm, Dataset* keep) {
  const std::string path = cfg.get_string("data.path");
  const int64_t n = static_cast<int64_t>(s.train_rows.size());
  const int64_t lo = n * comm.rank() / comm.size(), hi = n * (comm.rank() + 1) / comm.size();
  std::vector<int64_t> mine(s.train_rows.begin() + lo, s.train_rows.begin() + hi);
  const bool want = cfg.get_bool("data.normalize");
  Dataset part;
  if (want || comm.size() == 1) part = read_h5(path, mine);  // also validates these rows (NaN/Inf, labels)
  Normalizer norm = Normalizer::identity(s.labels.c);
  if (want) {
    std::vector<double> sums = Normalizer::partial_sums(part);
    comm.allreduce_sum(sums.data(), sums.size());
    norm = Normalizer::from_sums(sums, s.labels.c);
  }
  if (comm.size() == 1) {
    norm.apply(part);
    part.num_classes = s.labels.num_classes;
    *keep = std::move(part);
  }
  return norm;
}

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

Dataset read_for_model(const fs::path& data, const LoadedRun& run) {
  Dataset d = read_h5(data);
  TF_CHECK_INPUT(d.t == run.info.steps && d.c == run.info.channels,
                 data.string() + ": /X windows are [" + std::to_string(d.t) + " steps, " + std::to_string(d.c) +
                     " channels] but the model was trained on [" + std::to_string(run.info.steps) + ", " +
                     std::to_string(run.info.channels) + "]");
  TF_CHECK_INPUT(d.num_classes <= run.info.classes,
                 data.string() + ": /y has labels up to " + std::to_string(d.num_classes - 1) +
                     " but the model knows " + std::to_string(run.info.classes) + " classes");
  d.num_classes = run.info.classes;
  run.norm.apply(d);
  return d;
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
    summary["rows"] = {{"train", s.train_rows.size()}, {"val", s.val.n}, {"test", s.test.n}};
    summary["epochs_run"] = 1;
    summary["stopped_early"] = false;
    summary["best_epoch"] = 1;
    summary["fit_seconds"] = fit_seconds;
    summary["ranks"] = comm.size();
    if (s.has_val) summary["val"] = eval_json(score_classical(*model, fx, s.val, k).eval, info, no_leak);
    if (s.has_test) {
      ClassicalScores t = score_classical(*model, fx, s.test, k);
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
    test_proba.resize(static_cast<size_t>(s.test.n * k));
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
  Normalizer norm = fit_normalizer(cfg, s, comm, &s.train);
  if (s.has_val) norm.apply(s.val);
  if (s.has_test) norm.apply(s.test);

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
                 cfg.get_string("model.name"), trainer.parameter_count(), s.train_rows.size(), s.val.n, s.test.n,
                 run_dir.string());
  }
  const Dataset* val = s.has_val ? &s.val : nullptr;
  FitResult fit = comm.size() == 1
                      ? trainer.fit(s.train, val, run_dir, extra_callbacks)
                      : trainer.fit(H5Rows(cfg.get_string("data.path"), s.train_rows, s.train_labels, s.labels.t,
                                           s.labels.c, norm),
                                    val, run_dir, extra_callbacks);

  TrainOutput out;
  nlohmann::json& summary = out.summary;
  summary["experiment"] = cfg.get_string("experiment.name");
  summary["run_dir"] = run_dir.string();
  summary["model"] = cfg.get_string("model.name");
  summary["parameters"] = trainer.parameter_count();
  summary["rows"] = {{"train", s.train_rows.size()}, {"val", s.val.n}, {"test", s.test.n}};
  summary["epochs_run"] = fit.epochs_run;
  summary["stopped_early"] = fit.stopped_early;
  summary["best_epoch"] = fit.best_epoch;
  summary["fit_seconds"] = fit.seconds;
  summary["ranks"] = comm.size();
  if (s.has_val) summary["val"] = eval_json(trainer.evaluate(s.val), info, no_leak);
  if (s.has_test) summary["test"] = eval_json(trainer.evaluate(s.test), info, no_leak);
  if (s.has_test && keep_test_proba) out.test_proba = trainer.predict_proba(s.test);
  if (writer) {
    trainer.save_weights(run_dir / "model.pt");
    trainer.save_optimizer(run_dir / "optimizer.pt");
    atomic_write(run_dir / "summary.json", summary.dump(2) + "\n");
    std::error_code ec;
    fs::remove_all(run_dir / "resume", ec);  // finished: nothing to resume
  }
  return out;
}

nlohmann::json run_train(const config::Config& cfg, Communicator& comm) {
  TF_CHECK_INPUT(!cfg.get_string("data.path").empty(), "data.path: empty; give the HDF5 training file");
  TrainSplit s = load_splits(cfg);
  TrainOutput out = train_split(cfg, comm, s, [&] {
    // With an explicit run_id, an unfinished run of the same config that left
    // a resume checkpoint (killed, preempted) is continued instead.
    const std::string id = cfg.get_string("experiment.run_id");
    const fs::path d = fs::path(cfg.get_string("experiment.output_dir")) / cfg.get_string("experiment.name") / id;
    if (!id.empty() && fs::exists(d / "resume" / "state.json") && !fs::exists(d / "summary.json") &&
        fs::exists(d / "config.yaml") && read_file(d / "config.yaml") == cfg.to_yaml())
      return d;
    return create_run_dir(cfg.get_string("experiment.output_dir"), cfg.get_string("experiment.name"), id);
  });
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
  Dataset d = read_for_model(data, run);
  Trainer trainer(run.cfg, comm, run.info);
  trainer.load_weights(run_dir / "model.pt");
  nlohmann::json j = eval_json(trainer.evaluate(d), run.info, run.cfg.get_int("data.no_leak_class"));
  j["data"] = data.string();
  j["run_dir"] = run_dir.string();
  return j;
}

void run_predict(const fs::path& run_dir, const fs::path& data, const fs::path& out, Communicator& comm) {
  TF_CHECK_INPUT(!fs::exists(out), "output file " + out.string() + " exists already; refusing to overwrite it");
  std::string ext = out.extension().string();
  TF_CHECK_INPUT(ext == ".h5" || ext == ".hdf5" || ext == ".csv",
                 "--out " + out.string() + ": expected a .h5, .hdf5 or .csv file name");
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
    Dataset d = read_for_model(data, run);
    Trainer trainer(run.cfg, comm, run.info);
    trainer.load_weights(run_dir / "model.pt");
    proba = trainer.predict_proba(d);
    info = run.info;
    n = d.n;
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
    for (int64_t c = 0; c < k; ++c) os << ",p_" << info.class_names[c];
    os << "\n";
    os.precision(7);
    for (int64_t i = 0; i < n; ++i) {
      os << i << "," << pred[i] << "," << info.class_names[pred[i]];
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
