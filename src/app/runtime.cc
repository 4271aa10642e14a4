#include "app/runtime.h"

#include <dlfcn.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

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

namespace {
struct Placement {  // fixed size: gathered as bytes
  int32_t local_rank, local_ranks, group, threads;
  char host[64];
  char cuda_visible[64];
};

void copy_text(char (&dst)[64], const char* src) {
  std::strncpy(dst, src, sizeof dst - 1);
  dst[sizeof dst - 1] = 0;
}
}  // namespace

void log_placement(Communicator& world, int local_rank, int local_ranks, int group, int threads) {
  if (world.size() == 1) return;  // one process: nothing to place
  Placement me{};
  me.local_rank = local_rank;
  me.local_ranks = local_ranks;
  me.group = group;
  me.threads = threads;
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  copy_text(me.host, host);
  const char* cvd = std::getenv("CUDA_VISIBLE_DEVICES");
  copy_text(me.cuda_visible, cvd ? cvd : "(unset)");
  std::vector<Placement> all(static_cast<size_t>(world.size()));
  world.allgather(&me, all.data(), sizeof me);
  if (world.rank() != 0) return;
  for (size_t r = 0; r < all.size(); ++r) {
    const Placement& p = all[r];
    spdlog::info("rank {} on {}: local rank {} of {}, group {}, {} thread(s), CUDA_VISIBLE_DEVICES={}", r, p.host,
                 p.local_rank, p.local_ranks, p.group, p.threads, p.cuda_visible);
  }
}

}  // namespace tf
