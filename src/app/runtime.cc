#include "app/runtime.h"

#include <sched.h>
#include <torch/torch.h>

#include <algorithm>
#include <thread>

namespace tf {

int configure_threads(int requested, int local_ranks) {
  int n = requested;
  if (n <= 0) {
    cpu_set_t set;
    int cores = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
    if (cores <= 0) cores = static_cast<int>(std::thread::hardware_concurrency());
    n = std::max(1, cores / std::max(1, local_ranks));
  }
  torch::set_num_threads(n);
  static bool interop_set = false;  // may only be set once per process
  if (!interop_set) {
    try {
      torch::set_num_interop_threads(1);
    } catch (...) {
    }
    interop_set = true;
  }
  return n;
}

}  // namespace tf
