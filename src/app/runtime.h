// Process set-up shared by every subcommand: allocator tuning, thread counts.
#pragma once

namespace tf {

// Threads per rank: `requested` when > 0, else the cores this process may use
// divided by the ranks on this node. Sets LibTorch's intra-op threads and
// keeps inter-op at 1. Returns the count used.
int configure_threads(int requested, int local_ranks);

}  // namespace tf
