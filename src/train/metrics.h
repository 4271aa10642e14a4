// Classification metrics from a confusion matrix, with scikit-learn's
// definitions (labels = classes present in y_true or y_pred for macro
// averages, zero_division = 0). Plain C++: counts can be summed across ranks
// before the metrics are computed, so every rank gets identical values.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tf {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int64_t num_classes = 0) : k_(num_classes), counts_(num_classes * num_classes, 0) {}

  void add(int64_t truth, int64_t pred) { counts_[truth * k_ + pred] += 1; }
  void add_all(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred);
  int64_t at(int64_t truth, int64_t pred) const { return counts_[truth * k_ + pred]; }
  int64_t num_classes() const { return k_; }
  int64_t total() const;
  // Flat counts (row = truth), e.g. to sum across ranks.
  std::vector<double> as_doubles() const;
  static ConfusionMatrix from_doubles(const std::vector<double>& v, int64_t k);

  struct PerClass {
    double precision = 0, recall = 0, f1 = 0;
    int64_t support = 0;
  };
  std::vector<PerClass> per_class() const;

  // One metric by name (see config::metric_names()); `no_leak_class` is used by leak_recall.
  double metric(const std::string& name, int64_t no_leak_class = 0) const;
  // Every metric in config::metric_names().
  std::map<std::string, double> all_metrics(int64_t no_leak_class = 0) const;
  nlohmann::json to_json(const std::vector<std::string>& class_names, int64_t no_leak_class) const;

 private:
  bool present(int64_t c) const;  // in y_true or y_pred
  int64_t k_;
  std::vector<int64_t> counts_;
};

// Whether a larger value of a logged quantity is better (metrics) or worse (losses).
bool higher_is_better(const std::string& quantity);

}  // namespace tf
