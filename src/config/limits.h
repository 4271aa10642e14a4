// Budgets of the config loader, shared by the file check and the text parser.
#pragma once

#include <cstddef>

namespace tf::config {

// The largest config text accepted (1 MiB): a larger file is refused before it
// is read, larger text before yaml-cpp parses it.
constexpr size_t kMaxConfigBytes = size_t{1} << 20;

}  // namespace tf::config
