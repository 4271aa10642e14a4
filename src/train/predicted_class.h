#pragma once
// The class a row is given from its class probabilities: the most probable
// class, the lowest index on a tie. Predictions, classical models' scores,
// out-of-fold files and ensembles decide here. The neural trainer's own
// metrics take torch's argmax of the logits during a pass, which picks the
// same class unless two probabilities round to the same float.
#include <algorithm>
#include <cstdint>

namespace tf {

template <class T>
int64_t predicted_class(const T* proba, int64_t classes) {
  return static_cast<int64_t>(std::max_element(proba, proba + classes) - proba);
}

}  // namespace tf
