// Classical classifiers on fixed-length features, through real libraries:
//   random_forest      XGBoost's random-forest mode (num_parallel_tree trees in one
//                      round, learning rate 1, row subsampling without replacement,
//                      per-split feature sampling; XGBoost's documented recipe);
//   gradient_boosting  XGBoost gradient-boosted trees (multi:softprob);
//   svm                LIBSVM C-SVC, RBF or linear kernel, gamma as a number,
//                      "scale" or "auto" (scikit-learn's definitions), Platt
//                      probabilities; the class is LIBSVM's one-vs-one vote.
// Features: models/features.h. Plain C++ (no LibTorch).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"

namespace tf {

// Row-major features [n, d].
struct Features {
  std::vector<double> x;
  int64_t n = 0, d = 0;
};

class ClassicalModel {
 public:
  virtual ~ClassicalModel() = default;
  virtual void fit(const Features& train, const std::vector<int64_t>& y, int64_t classes) = 0;
  // Class probabilities [n, classes].
  virtual std::vector<double> predict_proba(const Features& f) const = 0;
  // Predicted classes (default: the most probable).
  virtual std::vector<int64_t> predict(const Features& f) const;
  // The model file (its name ends in file_extension()).
  virtual void save(const std::filesystem::path& path) const = 0;
  virtual void load(const std::filesystem::path& path, int64_t classes) = 0;
  virtual std::string file_extension() const = 0;
};

bool is_classical(const std::string& model_name);
std::unique_ptr<ClassicalModel> make_classical(const config::Config& cfg, int threads);

}  // namespace tf
