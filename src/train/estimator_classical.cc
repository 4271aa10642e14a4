// Classical models behind the Estimator interface: features + XGBoost or
// LIBSVM, fitted and scored on the group's first rank (the libraries use the
// rank's threads); the other ranks receive the same results.
#include <spdlog/spdlog.h>

#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "core/fs.h"
#include "data/h5io.h"
#include "models/classical.h"
#include "models/features.h"
#include "train/estimator.h"

namespace tf {

namespace {

Dataset read_rows(const RowList& l) {
  Dataset d = read_h5(l.file, l.rows);
  d.num_classes = l.num_classes;
  return d;
}

// Every row of `data`, checked against the model's windows and classes.
Dataset read_for_model(const fs::path& data, const ModelInfo& info) {
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

// Rank 0's scores on every rank of `comm`.
void broadcast_scores(Communicator& comm, Scores& s, int64_t k) {
  int64_t sizes[3] = {s.eval.rows, static_cast<int64_t>(s.proba.size()), static_cast<int64_t>(s.pred.size())};
  comm.broadcast(sizes, sizeof sizes, 0);
  std::vector<double> counts = s.eval.cm.as_doubles();
  counts.resize(static_cast<size_t>(k * k));
  counts.push_back(s.eval.loss);
  comm.broadcast(counts.data(), counts.size() * sizeof(double), 0);
  s.eval.loss = counts.back();
  counts.pop_back();
  s.eval.cm = ConfusionMatrix::from_doubles(counts, k);
  s.eval.rows = sizes[0];
  s.proba.resize(static_cast<size_t>(sizes[1]));
  s.pred.resize(static_cast<size_t>(sizes[2]));
  if (sizes[1]) comm.broadcast(s.proba.data(), s.proba.size() * sizeof(float), 0);
  if (sizes[2]) comm.broadcast(s.pred.data(), s.pred.size() * sizeof(int64_t), 0);
}

class ClassicalEstimator final : public Estimator {
 public:
  ClassicalEstimator(const config::Config& cfg, Communicator& comm, const ModelInfo& info)
      : cfg_(cfg), comm_(comm), info_(info), fx_(cfg), model_(make_classical(cfg, at::get_num_threads())) {}

  // The group's first rank reads the split's rows now (training, validation
  // and test), so that bad data stops the run before its folder exists.
  void prepare(const TrainSplit& s) override {
    if (comm_.rank() != 0) return;
    train_ = read_h5(cfg_.get_string("data.path"), s.train_rows);
    if (s.has_val) val_ = read_rows(s.val);
    if (s.has_test) test_ = read_rows(s.test);
  }

  std::string describe() const override { return cfg_.get_string("model.name"); }

  nlohmann::json fit(const TrainSplit&, const std::filesystem::path&, const std::vector<Callback*>&) override {
    std::string text;
    if (comm_.rank() == 0) {
      const auto t0 = std::chrono::steady_clock::now();
      const Dataset train = std::move(train_);
      train_ = Dataset();
      Features f{fx_.fit_transform(train), train.n, fx_.dim(train.t, train.c)};
      model_->fit(f, train.y, info_.classes);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      spdlog::info("{} on {} features of {} rows: fitted in {:.1f}s", describe(), f.d, train.n, seconds);
      text = nlohmann::json{{"features", f.d},     {"epochs_run", 1},          {"stopped_early", false},
                            {"best_epoch", 1},     {"fit_seconds", seconds}}
                 .dump();
    }
    return nlohmann::json::parse(broadcast_string(comm_, text));
  }

  Scores score(const ScoreOn& on, bool with_eval, bool with_proba) override {
    const int64_t k = info_.classes;
    Scores s;
    if (comm_.rank() == 0) {
      const Dataset loaded = on.kind == ScoreOn::kFile ? read_for_model(on.file, info_) : Dataset();
      const Dataset& d = on.kind == ScoreOn::kVal ? val_ : on.kind == ScoreOn::kTest ? test_ : loaded;
      const Features f{fx_.transform(d), d.n, fx_.dim(d.t, d.c)};
      const std::vector<double> proba = model_->predict_proba(f);
      const std::vector<int64_t> pred = model_->predict(f);
      if (with_eval) {
        s.eval.cm = ConfusionMatrix(k);
        double nll = 0;
        for (int64_t i = 0; i < d.n; ++i) {
          s.eval.cm.add(d.y[i], pred[i]);
          nll -= std::log(std::max(proba[i * k + d.y[i]], 1e-15));
        }
        s.eval.loss = d.n ? nll / static_cast<double>(d.n) : 0.0;
        s.eval.rows = d.n;
      }
      if (with_proba) {
        s.proba.assign(proba.begin(), proba.end());
        s.pred = pred;
      }
    }
    broadcast_scores(comm_, s, k);
    return s;
  }

  void save(const std::filesystem::path& run_dir) override {
    atomic_write(run_dir / "features.json", fx_.to_json().dump(2) + "\n");
    model_->save(run_dir / ("model" + model_->file_extension()));
  }

  void load(const std::filesystem::path& run_dir) override {
    const fs::path file = run_dir / ("model" + model_->file_extension());
    for (const fs::path& f : {run_dir / "features.json", file})
      TF_CHECK_INPUT(fs::exists(f), "run folder " + run_dir.string() + " has no " + f.filename().string() +
                                        " (is it a finished trainfleet run?)");
    fx_ = FeatureExtractor::from_json(read_json_file(run_dir / "features.json"),
                                      (run_dir / "features.json").string());
    model_->load(file, info_.classes);
  }

 private:
  const config::Config cfg_;  // its own copy: the caller's may be moved
  Communicator& comm_;
  ModelInfo info_;
  FeatureExtractor fx_;
  std::unique_ptr<ClassicalModel> model_;
  Dataset train_;      // the training rows, from prepare() to fit() (first rank)
  Dataset val_, test_;  // the split's validation and test rows (first rank)
};

}  // namespace

std::unique_ptr<Estimator> make_classical_estimator(const config::Config& cfg, Communicator& comm,
                                                    const ModelInfo& info) {
  return std::make_unique<ClassicalEstimator>(cfg, comm, info);
}

std::unique_ptr<Estimator> make_estimator(const config::Config& cfg, Communicator& comm, const ModelInfo& info) {
  return is_classical(cfg.get_string("model.name")) ? make_classical_estimator(cfg, comm, info)
                                                    : make_neural_estimator(cfg, comm, info);
}

}  // namespace tf
