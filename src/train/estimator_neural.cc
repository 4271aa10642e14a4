// Neural models behind the Estimator interface: the data-parallel trainer,
// fed by the split's sources (cached or streamed, run_data.h).
#include <algorithm>

#include "core/error.h"
#include "core/fs.h"
#include "data/normalizer.h"
#include "train/estimator.h"
#include "train/predicted_class.h"
#include "train/run_data.h"

namespace tf {

namespace {

class NeuralEstimator final : public Estimator {
 public:
  NeuralEstimator(const config::Config& cfg, Communicator& comm, const ModelInfo& info)
      : cfg_(cfg), comm_(comm), info_(info) {}

  void prepare(const TrainSplit& s) override {
    data_ = SplitSources::open(cfg_, s, comm_);  // the data's errors first, then the model's
    norm_ = data_->norm;
    trainer_ = std::make_unique<Trainer>(cfg_, comm_, info_);
    trainer_->validate_fit(s.has_val);
  }

  std::string describe() const override {
    return cfg_.get_string("model.name") + " (" + std::to_string(trainer_->parameter_count()) + " parameters)";
  }

  nlohmann::json fit(const TrainSplit&, const std::filesystem::path& run_dir,
                     const std::vector<Callback*>& extra) override {
    FitResult f = trainer_->fit(*data_->train, data_->val.get(), run_dir, extra);
    return {{"parameters", trainer_->parameter_count()}, {"epochs_run", f.epochs_run},
            {"stopped_early", f.stopped_early},         {"best_epoch", f.best_epoch},
            {"fit_seconds", f.seconds},                 {"data", data_->summary()}};
  }

  Scores score(const ScoreOn& on, bool with_eval, bool with_proba) override {
    std::unique_ptr<RowSource> opened;
    const RowSource* src = nullptr;
    if (on.kind == ScoreOn::kFile) {
      opened = open_for_model(on.file, info_.steps, info_.channels, info_.classes, norm_);
      src = opened.get();
    } else {
      src = on.kind == ScoreOn::kVal ? data_->val.get() : data_->test.get();
    }
    Scores s;
    if (with_eval)  // with the probabilities, when asked for, from the same pass
      s.eval = trainer_->evaluate(*src, with_proba ? &s.proba : nullptr);
    else if (with_proba)
      s.proba = trainer_->predict_proba(*src);
    if (with_proba) {
      const int64_t k = info_.classes, n = static_cast<int64_t>(s.proba.size()) / std::max<int64_t>(k, 1);
      s.pred.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        const float* p = s.proba.data() + i * k;
        s.pred[static_cast<size_t>(i)] = predicted_class(p, k);
      }
    }
    return s;
  }

  void save(const std::filesystem::path& run_dir) override {
    atomic_write(run_dir / "normalizer.json", norm_.to_json().dump(2) + "\n");
    trainer_->save_weights(run_dir / "model.pt");
    trainer_->save_optimizer(run_dir / "optimizer.pt");
  }

  void load(const std::filesystem::path& run_dir) override {
    for (const char* f : {"normalizer.json", "model.pt"})
      TF_CHECK_INPUT(fs::exists(run_dir / f), "run folder " + run_dir.string() + " has no " + f +
                                                  " (is it a finished trainfleet run?)");
    norm_ = Normalizer::from_json(read_json_file(run_dir / "normalizer.json"), (run_dir / "normalizer.json").string());
    trainer_ = std::make_unique<Trainer>(cfg_, comm_, info_);
    trainer_->load_weights(run_dir / "model.pt");
  }

 private:
  const config::Config cfg_;  // its own copy: the caller's may be moved
  Communicator& comm_;
  ModelInfo info_;
  std::unique_ptr<Trainer> trainer_;  // made by prepare() or load()
  std::unique_ptr<SplitSources> data_;
  Normalizer norm_;
};

}  // namespace

std::unique_ptr<Estimator> make_neural_estimator(const config::Config& cfg, Communicator& comm, const ModelInfo& info) {
  return std::make_unique<NeuralEstimator>(cfg, comm, info);
}

}  // namespace tf
