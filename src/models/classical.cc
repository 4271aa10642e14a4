#include "models/classical.h"

#include <libsvm/svm.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "core/error.h"
#include "core/fs.h"

namespace tf {

namespace {

// ------------------------------------------------------------------ XGBoost
void xgb_check(int rc, const char* what) {
  if (rc != 0) throw Error(std::string("XGBoost ") + what + ": " + XGBGetLastError(), __FILE__, __LINE__);
}

class XgbModel : public ClassicalModel {
 public:
  XgbModel(const config::Config& cfg, int threads) : forest_(cfg.get_string("model.name") == "random_forest") {
    const std::string s = forest_ ? "model.random_forest." : "model.gradient_boosting.";
    params_ = {{"tree_method", "hist"},
               {"objective", "multi:softprob"},
               {"nthread", std::to_string(std::max(1, threads))},
               {"seed", std::to_string(cfg.get_int("experiment.seed"))},
               {"max_depth", std::to_string(cfg.get_int(s + "max_depth"))},
               {"verbosity", "0"}};
    if (forest_) {
      const auto& col = cfg.at(s + "colsample_bynode");
      colsample_sqrt_ = col.is_string();
      colsample_ = col.is_string() ? 0.0 : col.get<double>();
      params_.push_back({"learning_rate", "1"});
      params_.push_back({"num_parallel_tree", std::to_string(cfg.get_int(s + "n_estimators"))});
      params_.push_back({"subsample", std::to_string(cfg.get_float(s + "subsample"))});
      params_.push_back({"min_child_weight", std::to_string(cfg.get_float(s + "min_child_weight"))});
      params_.push_back({"reg_lambda", "1e-5"});  // XGBRFClassifier's default
      rounds_ = 1;
    } else {
      params_.push_back({"learning_rate", std::to_string(cfg.get_float(s + "learning_rate"))});
      params_.push_back({"subsample", std::to_string(cfg.get_float(s + "subsample"))});
      params_.push_back({"colsample_bytree", std::to_string(cfg.get_float(s + "colsample_bytree"))});
      rounds_ = static_cast<int>(cfg.get_int(s + "n_estimators"));
    }
  }
  ~XgbModel() override {
    if (booster_) XGBoosterFree(booster_);
  }

  void fit(const Features& train, const std::vector<int64_t>& y, int64_t classes) override {
    classes_ = classes;
    DMatrixHandle d = matrix(train);
    std::vector<float> labels(y.begin(), y.end());
    xgb_check(XGDMatrixSetFloatInfo(d, "label", labels.data(), labels.size()), "labels");
    if (booster_) XGBoosterFree(booster_);
    xgb_check(XGBoosterCreate(&d, 1, &booster_), "create");
    for (const auto& [k, v] : params_) xgb_check(XGBoosterSetParam(booster_, k.c_str(), v.c_str()), k.c_str());
    xgb_check(XGBoosterSetParam(booster_, "num_class", std::to_string(classes).c_str()), "num_class");
    if (forest_) {
      const double share = colsample_sqrt_ ? std::sqrt(static_cast<double>(train.d)) / static_cast<double>(train.d)
                                           : colsample_;
      xgb_check(XGBoosterSetParam(booster_, "colsample_bynode", std::to_string(share).c_str()), "colsample_bynode");
    }
    for (int r = 0; r < rounds_; ++r) xgb_check(XGBoosterUpdateOneIter(booster_, r, d), "training");
    XGDMatrixFree(d);
  }

  std::vector<double> predict_proba(const Features& f) const override {
    TF_CHECK(booster_, "XGBoost model used before fit or load");
    DMatrixHandle d = matrix(f);
    const char* conf = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": true})";
    const bst_ulong* shape = nullptr;
    bst_ulong dims = 0;
    const float* out = nullptr;
    xgb_check(XGBoosterPredictFromDMatrix(booster_, d, conf, &shape, &dims, &out), "predict");
    std::vector<double> p(out, out + f.n * classes_);
    XGDMatrixFree(d);
    return p;
  }

  void save(const fs::path& path) const override {  // XGBoost's JSON model format
    bst_ulong len = 0;
    const char* buf = nullptr;
    xgb_check(XGBoosterSaveModelToBuffer(booster_, R"({"format": "json"})", &len, &buf), "save");
    atomic_write(path, std::string(buf, len));
  }
  void load(const fs::path& path, int64_t classes) override {
    classes_ = classes;
    if (booster_) XGBoosterFree(booster_);
    xgb_check(XGBoosterCreate(nullptr, 0, &booster_), "create");
    const std::string text = read_file(path);
    xgb_check(XGBoosterLoadModelFromBuffer(booster_, text.data(), text.size()), ("load " + path.string()).c_str());
    for (const auto& [k, v] : params_)
      if (k == "nthread") XGBoosterSetParam(booster_, k.c_str(), v.c_str());
  }
  std::string file_extension() const override { return ".xgb.json"; }

 private:
  static DMatrixHandle matrix(const Features& f) {
    std::vector<float> x(f.x.begin(), f.x.end());
    DMatrixHandle d = nullptr;
    xgb_check(XGDMatrixCreateFromMat(x.data(), static_cast<bst_ulong>(f.n), static_cast<bst_ulong>(f.d), NAN, &d),
              "matrix");
    return d;
  }

  bool forest_;
  bool colsample_sqrt_ = true;
  double colsample_ = 0;
  int rounds_ = 1;
  int64_t classes_ = 0;
  std::vector<std::pair<std::string, std::string>> params_;
  BoosterHandle booster_ = nullptr;
};

// ------------------------------------------------------------------ LIBSVM
void quiet(const char*) {}

class SvmModel : public ClassicalModel {
 public:
  explicit SvmModel(const config::Config& cfg)
      : kernel_(cfg.get_string("model.svm.kernel")), c_(cfg.get_float("model.svm.C")),
        gamma_(cfg.at("model.svm.gamma")), probability_(cfg.get_bool("model.svm.probability")),
        seed_(static_cast<unsigned>(cfg.get_int("experiment.seed"))) {}
  ~SvmModel() override { release(); }

  void fit(const Features& train, const std::vector<int64_t>& y, int64_t classes) override {
    release();
    classes_ = classes;
    store_ = nodes(train);
    rows_.clear();
    for (int64_t i = 0; i < train.n; ++i) rows_.push_back(store_.data() + i * (train.d + 1));
    labels_.assign(y.begin(), y.end());
    svm_problem prob{};
    prob.l = static_cast<int>(train.n);
    prob.y = labels_.data();
    prob.x = rows_.data();
    svm_parameter par{};
    par.svm_type = C_SVC;
    par.kernel_type = kernel_ == "linear" ? LINEAR : RBF;
    par.gamma = gamma_value(train);
    par.C = c_;
    par.cache_size = 200;
    par.eps = 1e-3;  // scikit-learn's tol
    par.shrinking = 1;
    par.probability = probability_ ? 1 : 0;
    if (const char* err = svm_check_parameter(&prob, &par))
      throw BadInput(std::string("model.svm: ") + err, __FILE__, __LINE__);
    static std::mutex m;  // libsvm's probability CV draws from rand(): seed it, one fit at a time
    std::lock_guard<std::mutex> lock(m);
    svm_set_print_string_function(quiet);
    std::srand(seed_);
    model_ = svm_train(&prob, &par);
  }

  std::vector<int64_t> predict(const Features& f) const override {
    TF_CHECK(model_, "SVM used before fit or load");
    std::vector<svm_node> s = nodes(f);
    std::vector<int64_t> out(static_cast<size_t>(f.n));
    for (int64_t i = 0; i < f.n; ++i) out[i] = static_cast<int64_t>(svm_predict(model_, s.data() + i * (f.d + 1)));
    return out;
  }

  std::vector<double> predict_proba(const Features& f) const override {
    TF_CHECK(model_, "SVM used before fit or load");
    std::vector<svm_node> s = nodes(f);
    std::vector<double> out(static_cast<size_t>(f.n * classes_), 0.0);
    const int k = svm_get_nr_class(model_);
    std::vector<int> labels(static_cast<size_t>(k));
    svm_get_labels(model_, labels.data());
    std::vector<double> p(static_cast<size_t>(k));
    const bool have_prob = svm_check_probability_model(model_);
    for (int64_t i = 0; i < f.n; ++i) {
      const svm_node* x = s.data() + i * (f.d + 1);
      if (have_prob) {
        svm_predict_probability(model_, x, p.data());
        for (int c = 0; c < k; ++c) out[i * classes_ + labels[c]] = p[c];
      } else {  // without the probability model: all mass on the voted class
        out[i * classes_ + static_cast<int64_t>(svm_predict(model_, x))] = 1.0;
      }
    }
    return out;
  }

  void save(const fs::path& path) const override {
    atomic_write_with(path, [&](const fs::path& tmp) {
      errno = 0;
      if (svm_save_model(tmp.string().c_str(), model_) != 0)
        throw IoError(path.string(), errno ? errno : EIO, __FILE__, __LINE__);
    });
  }
  void load(const fs::path& path, int64_t classes) override {
    release();
    classes_ = classes;
    model_ = svm_load_model(path.string().c_str());
    TF_CHECK_INPUT(model_, path.string() + ": not a LIBSVM model");
  }
  std::string file_extension() const override { return ".libsvm"; }

 private:
  // Dense rows as LIBSVM nodes (1-based indices, -1 terminated); zeros are kept
  // so that every row has the same layout.
  static std::vector<svm_node> nodes(const Features& f) {
    std::vector<svm_node> s(static_cast<size_t>(f.n * (f.d + 1)));
    for (int64_t i = 0; i < f.n; ++i) {
      svm_node* r = s.data() + i * (f.d + 1);
      for (int64_t j = 0; j < f.d; ++j) r[j] = {static_cast<int>(j + 1), f.x[i * f.d + j]};
      r[f.d] = {-1, 0.0};
    }
    return s;
  }
  double gamma_value(const Features& train) const {
    if (gamma_.is_number()) return gamma_.get<double>();
    if (gamma_ == "auto") return 1.0 / static_cast<double>(train.d);
    double mean = 0, sq = 0;  // "scale": 1 / (n_features * X.var()) over every element
    for (double v : train.x) mean += v;
    mean /= static_cast<double>(train.x.size());
    for (double v : train.x) sq += (v - mean) * (v - mean);
    const double var = sq / static_cast<double>(train.x.size());
    return var > 0 ? 1.0 / (static_cast<double>(train.d) * var) : 1.0;
  }
  void release() {
    if (model_) svm_free_and_destroy_model(&model_);
    model_ = nullptr;
  }

  std::string kernel_;
  double c_;
  nlohmann::json gamma_;
  bool probability_;
  unsigned seed_;
  int64_t classes_ = 0;
  std::vector<svm_node> store_;  // a trained model points into these rows
  std::vector<svm_node*> rows_;
  std::vector<double> labels_;
  svm_model* model_ = nullptr;
};

}  // namespace

std::unique_ptr<ClassicalModel> make_classical(const config::Config& cfg, int threads) {
  const std::string m = cfg.get_string("model.name");
  if (m == "svm") return std::make_unique<SvmModel>(cfg);
  TF_CHECK_INPUT(m == "random_forest" || m == "gradient_boosting", "model.name: " + m + " is not a classical model");
  return std::make_unique<XgbModel>(cfg, threads);
}

}  // namespace tf
