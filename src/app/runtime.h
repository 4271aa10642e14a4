// Process set-up shared by every subcommand: allocator tuning, thread counts.
#pragma once

#include "comm/communicator.h"

namespace tf {

// Threads per rank: `requested` when > 0, else the cores this process may use
// divided by the ranks on this node. Sets LibTorch's intra-op threads and
// keeps inter-op at 1. Returns the count used.
int configure_threads(int requested, int local_ranks);

// Where every rank of `world` runs (collective): rank 0 logs one line per
// rank with its host, node-local rank, group, threads and the
// CUDA_VISIBLE_DEVICES it was started with, as each rank sees them. Nothing
// for a single process.
void log_placement(Communicator& world, int local_rank, int local_ranks, int group, int threads);

}  // namespace tf
