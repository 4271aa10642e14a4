#include "data/cache_budget.h"

#include "core/resources.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

namespace tf {

namespace {

// Ranks on this node: Open MPI's local size, else Slurm's tasks per node
// (SLURM_STEP_TASKS_PER_NODE, e.g. "4(x2)" or "3,1": the largest count, so a
// budget is never too big), else 1.
int local_ranks() {
  if (const char* s = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE"))
    if (int n = std::atoi(s); n > 0) return n;
  for (const char* v : {"SLURM_STEP_TASKS_PER_NODE", "SLURM_NTASKS_PER_NODE"})
    if (const char* s = std::getenv(v)) {
      int most = 0;
      for (const char* p = s; p; p = std::strchr(p, ',')) {
        if (*p == ',') ++p;
        char* end = nullptr;
        const long n = std::strtol(p, &end, 10);  // "4(x2)": the count before the repeat
        if (end != p) most = std::max(most, static_cast<int>(n));
      }
      if (most > 0) return most;
    }
  return 1;
}

}  // namespace

int64_t cache_budget_bytes(int64_t cache_mb) {
  if (cache_mb >= 0) return cache_mb * 1024 * 1024;
  return static_cast<int64_t>(std::min<uint64_t>(available_memory_bytes(), uint64_t{1} << 60)) / 2 /
         std::max(1, local_ranks());
}

}  // namespace tf
