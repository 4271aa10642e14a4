#include "app/checks.h"

#include "compare/compare.h"
#include "tune/space.h"

namespace tf {

void check_command_inputs(const config::Config& cfg) {
  if (!cfg.at("tuning.space").is_null()) tune::space_of(cfg);
  if (!cfg.at("compare.entries").is_null()) compare::check_entries(cfg);
}

}  // namespace tf
