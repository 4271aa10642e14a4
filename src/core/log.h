// Logging: spdlog with the rank in every line. Only the app layer configures it.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace tf {

// Sets the default logger's pattern to include host and rank; `quiet` drops
// info messages (used on every rank but a group's first).
void setup_logging(int rank, bool quiet, const std::string& level = "info");

}  // namespace tf
