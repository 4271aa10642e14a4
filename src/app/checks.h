// Checks of the parts of a config that only a later command reads in full
// (tuning.space, compare.entries): `config --check` runs them so that it
// rejects everything `tune` or `compare` would, with the same messages.
#pragma once

#include "config/config.h"

namespace tf {

// BadInput (exit 2) for an invalid tuning.space or compare.entries; the
// sections left null are not checked.
void check_command_inputs(const config::Config& cfg);

}  // namespace tf
