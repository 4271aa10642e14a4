// Same program everywhere: at the start of a job every rank compares a hash of
// its resolved config(s) and command line with every other rank's, so that
// ranks started with different configs (an MPMD mistake, a config file that
// differs between nodes) stop at once instead of failing later in a collective
// or training silently with different settings.
#pragma once

#include <string>
#include <vector>

#include "comm/communicator.h"

namespace tf::jobs {

// 64-bit FNV-1a of `text`.
uint64_t text_hash(const std::string& text);

// Collective on `world`: BadInput on every rank, naming the ranks whose hash of
// `args` (the command line, without --threads, which may differ per node) +
// `resolved` (the resolved configs) differs from rank 0's, when any does.
void check_same_program(Communicator& world, const std::vector<std::string>& args, const std::string& resolved);

}  // namespace tf::jobs
