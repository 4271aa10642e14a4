// make_classical() of a build without XGBoost and LIBSVM
// (TRAINFLEET_WITH_CLASSICAL=OFF): a classical model name is bad input there.
#include "core/error.h"
#include "models/classical.h"

namespace tf {

std::unique_ptr<ClassicalModel> make_classical(const config::Config& cfg, int) {
  throw BadInput("model.name: \"" + cfg.get_string("model.name") +
                       "\" is a classical model, but this trainfleet was built without XGBoost and LIBSVM "
                       "(TRAINFLEET_WITH_CLASSICAL=OFF); rebuild with -DTRAINFLEET_WITH_CLASSICAL=ON",
                   __FILE__, __LINE__);
}

}  // namespace tf
