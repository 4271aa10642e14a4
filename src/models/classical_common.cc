// The library-free part of the classical models' interface: compiled in every
// build, also without XGBoost and LIBSVM (TRAINFLEET_WITH_CLASSICAL=OFF).
#include <algorithm>

#include "models/classical.h"
#include "train/predicted_class.h"

namespace tf {

std::vector<int64_t> ClassicalModel::predict(const Features& f) const {
  std::vector<double> p = predict_proba(f);
  const int64_t k = f.n ? static_cast<int64_t>(p.size()) / f.n : 0;
  std::vector<int64_t> out(static_cast<size_t>(f.n));
  for (int64_t i = 0; i < f.n; ++i) out[static_cast<size_t>(i)] = predicted_class(p.data() + i * k, k);
  return out;
}

bool is_classical(const std::string& m) { return m == "random_forest" || m == "gradient_boosting" || m == "svm"; }

}  // namespace tf
