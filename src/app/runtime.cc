#include "app/runtime.h"

#include <sched.h>
#include <dlfcn.h>
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
  // LibTorch's matrix products go to the system BLAS; OpenBLAS (pthread
  // build) starts one thread per core of the node by default, whatever
  // LibTorch was told: with several ranks per node they would oversubscribe.
  using SetThreads = void (*)(int);
  if (auto set_blas = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set_blas(n);
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
