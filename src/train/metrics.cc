#include "train/metrics.h"

#include "config/schema.h"
#include "core/error.h"

namespace tf {

void ConfusionMatrix::add_all(const std::vector<int64_t>& truth, const std::vector<int64_t>& pred) {
  TF_CHECK(truth.size() == pred.size(), "truth and prediction lengths differ");
  for (size_t i = 0; i < truth.size(); ++i) add(truth[i], pred[i]);
}

int64_t ConfusionMatrix::total() const {
  int64_t s = 0;
  for (auto v : counts_) s += v;
  return s;
}

std::vector<double> ConfusionMatrix::as_doubles() const { return {counts_.begin(), counts_.end()}; }

ConfusionMatrix ConfusionMatrix::from_doubles(const std::vector<double>& v, int64_t k) {
  ConfusionMatrix m(k);
  TF_CHECK(static_cast<int64_t>(v.size()) == k * k, "confusion matrix size mismatch");
  for (size_t i = 0; i < v.size(); ++i) m.counts_[i] = static_cast<int64_t>(v[i] + 0.5);
  return m;
}

bool ConfusionMatrix::present(int64_t c) const {
  for (int64_t j = 0; j < k_; ++j)
    if (at(c, j) > 0 || at(j, c) > 0) return true;
  return false;
}

std::vector<ConfusionMatrix::PerClass> ConfusionMatrix::per_class() const {
  std::vector<PerClass> out(static_cast<size_t>(k_));
  for (int64_t c = 0; c < k_; ++c) {
    int64_t tp = at(c, c), pred = 0, sup = 0;
    for (int64_t j = 0; j < k_; ++j) {
      pred += at(j, c);
      sup += at(c, j);
    }
    PerClass& p = out[c];
    p.support = sup;
    p.precision = pred > 0 ? static_cast<double>(tp) / pred : 0.0;
    p.recall = sup > 0 ? static_cast<double>(tp) / sup : 0.0;
    p.f1 = (p.precision + p.recall) > 0 ? 2 * p.precision * p.recall / (p.precision + p.recall) : 0.0;
  }
  return out;
}

double ConfusionMatrix::metric(const std::string& name, int64_t no_leak_class) const {
  int64_t n = total();
  if (name == "accuracy") {
    int64_t correct = 0;
    for (int64_t c = 0; c < k_; ++c) correct += at(c, c);
    return n > 0 ? static_cast<double>(correct) / n : 0.0;
  }
  if (name == "leak_recall") {  // binary: a true leak predicted as any leak class
    int64_t leaks = 0, found = 0;
    for (int64_t t = 0; t < k_; ++t) {
      if (t == no_leak_class) continue;
      for (int64_t p = 0; p < k_; ++p) {
        leaks += at(t, p);
        if (p != no_leak_class) found += at(t, p);
      }
    }
    return leaks > 0 ? static_cast<double>(found) / leaks : 0.0;
  }
  auto pc = per_class();
  if (name == "balanced_accuracy") {
    double s = 0;
    int m = 0;
    for (int64_t c = 0; c < k_; ++c)
      if (pc[c].support > 0) {
        s += pc[c].recall;
        ++m;
      }
    return m ? s / m : 0.0;
  }
  auto field = [](const PerClass& p, const std::string& what) {
    return what == "precision" ? p.precision : what == "recall" ? p.recall : p.f1;
  };
  size_t us = name.find('_');
  TF_CHECK(us != std::string::npos, "unknown metric " + name);
  std::string what = name.substr(0, us), avg = name.substr(us + 1);
  TF_CHECK((what == "precision" || what == "recall" || what == "f1") && (avg == "macro" || avg == "weighted"),
           "unknown metric " + name);
  double s = 0, w = 0;
  for (int64_t c = 0; c < k_; ++c) {
    if (!present(c)) continue;
    double weight = avg == "macro" ? 1.0 : static_cast<double>(pc[c].support);
    s += weight * field(pc[c], what);
    w += weight;
  }
  return w > 0 ? s / w : 0.0;
}

std::map<std::string, double> ConfusionMatrix::all_metrics(int64_t no_leak_class) const {
  std::map<std::string, double> out;
  for (const auto& m : config::metric_names()) out[m] = metric(m, no_leak_class);
  return out;
}

nlohmann::json ConfusionMatrix::to_json(const std::vector<std::string>& class_names, int64_t no_leak_class) const {
  nlohmann::json j;
  for (const auto& [k, v] : all_metrics(no_leak_class)) j[k] = v;
  auto pc = per_class();
  nlohmann::json per = nlohmann::json::array();
  for (int64_t c = 0; c < k_; ++c)
    per.push_back({{"class", c < (int64_t)class_names.size() ? class_names[c] : std::to_string(c)},
                   {"precision", pc[c].precision},
                   {"recall", pc[c].recall},
                   {"f1", pc[c].f1},
                   {"support", pc[c].support}});
  j["per_class"] = per;
  nlohmann::json cm = nlohmann::json::array();
  for (int64_t t = 0; t < k_; ++t) {
    nlohmann::json row = nlohmann::json::array();
    for (int64_t p = 0; p < k_; ++p) row.push_back(at(t, p));
    cm.push_back(row);
  }
  j["confusion_matrix"] = cm;
  return j;
}

bool higher_is_better(const std::string& quantity) {
  std::string q = quantity.rfind("val_", 0) == 0 ? quantity.substr(4) : quantity;
  return q != "loss";
}

}  // namespace tf
