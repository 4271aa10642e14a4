// Logging: spdlog with the rank in every line. Only the app layer configures it.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace tf {

// Sets the default logger's pattern to include host and rank; `quiet` drops
// info messages (used on every rank but a group's first).
// Logs go to stderr (coloured only on a terminal). Safe to call again.
void setup_logging(int rank, bool quiet, const std::string& level = "info");

// Before a bad-input error is printed in a multi-rank job: every rank usually
// meets the same bad config or data, so ranks other than 0 wait a moment and
// rank 0's abort of the job ends them first; the user reads one message, not
// one per rank. A rank that alone meets the problem still reports it after
// the pause.
void defer_to_first_rank(int rank);

}  // namespace tf
