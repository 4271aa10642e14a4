#include "data/cache_budget.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace tf {

namespace {

int64_t mem_available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream is(line);
    std::string key;
    long long kb = 0;
    if (is >> key >> kb && key == "MemAvailable:") return static_cast<int64_t>(kb) * 1024;
  }
  return int64_t{1} << 30;  // unknown: assume 1 GiB
}

int local_ranks() {
  for (const char* v : {"OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE"})
    if (const char* s = std::getenv(v))
      if (int n = std::atoi(s); n > 0) return n;
  return 1;
}

}  // namespace

int64_t cache_budget_bytes(int64_t cache_mb) {
  if (cache_mb >= 0) return cache_mb * 1024 * 1024;
  return mem_available_bytes() / 2 / std::max(1, local_ranks());
}

}  // namespace tf
