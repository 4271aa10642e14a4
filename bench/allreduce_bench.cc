// All-reduce harness in the style of nccl-tests: for each size it runs warm-up
// iterations, times `iters` in-place sum all-reduces of float32, checks the
// result, and reports time, algorithm bandwidth (bytes / time) and bus
// bandwidth (algBw * 2(n-1)/n), as a table and as JSON lines.
//
//   mpirun -np 2 build/bench/allreduce_bench [--backend mpi|nccl] [--min 4096] [--max 268435456] [--iters 20]
//
// A build without MPI (TRAINFLEET_WITH_MPI=OFF) runs one rank on the local
// communicator (--backend nccl then times NCCL on one GPU).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#if TRAINFLEET_HAVE_MPI
#include <mpi.h>

#include "comm/mpi_comm.h"
#endif
#ifdef TRAINFLEET_HAVE_NCCL
#include <cuda_runtime.h>

#include "comm/nccl_comm.h"
#endif

int main(int argc, char** argv) {
#if TRAINFLEET_HAVE_MPI
  MPI_Init(&argc, &argv);
#endif
  std::string backend = "mpi";
  size_t min_bytes = 4096, max_bytes = 256u << 20;
  int iters = 20, warmup = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--backend") backend = v;
    else if (k == "--min") min_bytes = std::stoull(v);
    else if (k == "--max") max_bytes = std::stoull(v);
    else if (k == "--iters") iters = std::stoi(v);
  }
  int rc = 0;
  {
#if TRAINFLEET_HAVE_MPI
    tf::MpiComm world(MPI_COMM_WORLD, false, 600.0);
#else
    tf::LocalComm world;
#endif
    std::unique_ptr<tf::Communicator> owned;
    tf::Communicator* comm = &world;
#ifdef TRAINFLEET_HAVE_NCCL
    if (backend == "nccl") {
      // One GPU per rank of a node, by local rank.
      int local = 0;
      for (const char* v : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"})
        if (const char* e = std::getenv(v)) local = std::atoi(e);
      const int gpus = std::max(1, tf::NcclComm::device_count());
      owned = std::make_unique<tf::NcclComm>(world, local % gpus, 600.0);
      comm = owned.get();
    }
#else
    if (backend == "nccl") {
      if (world.rank() == 0) std::fprintf(stderr, "allreduce_bench: built without NCCL\n");
      rc = 2;
    }
#endif
    const int n = comm->size();
    if (rc == 0 && comm->rank() == 0)
      std::printf("# backend %s, %d ranks, %d iterations\n# %12s %12s %10s %10s %6s\n", backend.c_str(), n, iters,
                  "bytes", "time_us", "algbw_GB/s", "busbw_GB/s", "ok");
    for (size_t bytes = min_bytes; rc != 2 && bytes <= max_bytes; bytes *= 4) {
      size_t count = bytes / sizeof(float);
      std::vector<float> host(count);
      float* buf = host.data();
#ifdef TRAINFLEET_HAVE_NCCL
      if (backend == "nccl") cudaMalloc(reinterpret_cast<void**>(&buf), bytes);
#endif
      auto fill = [&] {
        for (size_t i = 0; i < count; ++i) host[i] = static_cast<float>((comm->rank() + 1) * ((i % 7) + 1));
#ifdef TRAINFLEET_HAVE_NCCL
        if (backend == "nccl") cudaMemcpy(buf, host.data(), bytes, cudaMemcpyHostToDevice);
#endif
      };
      fill();
      for (int w = 0; w < warmup; ++w) comm->allreduce(buf, count, tf::DType::kFloat32, tf::ReduceOp::kSum);
      fill();
      comm->barrier();
      auto t0 = std::chrono::steady_clock::now();
      for (int it = 0; it < iters; ++it) comm->allreduce(buf, count, tf::DType::kFloat32, tf::ReduceOp::kSum);
      double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
#ifdef TRAINFLEET_HAVE_NCCL
      if (backend == "nccl") cudaMemcpy(host.data(), buf, bytes, cudaMemcpyDeviceToHost);
#endif
      // Rank r starts with (r+1)*(i%7+1); the first sum gives (i%7+1)*n(n+1)/2 on every
      // rank and each further sum multiplies by n.
      const double ranks_sum = n * (n + 1) / 2.0;
      bool ok = true;
      for (size_t i = 0; i < std::min<size_t>(count, 1024); ++i) {
        double want = ((i % 7) + 1) * ranks_sum * std::pow(static_cast<double>(n), iters - 1);
        if (std::fabs(host[i] - want) > 1e-3 * std::fabs(want)) ok = false;
      }
      double all_ok = ok ? 1 : 0;
      world.allreduce(&all_ok, 1, tf::DType::kFloat64, tf::ReduceOp::kMin);
      double slowest = sec;
      world.allreduce(&slowest, 1, tf::DType::kFloat64, tf::ReduceOp::kMax);
      double algbw = bytes / slowest / 1e9, busbw = algbw * 2.0 * (n - 1) / n;
      if (comm->rank() == 0) {
        std::printf("  %12zu %12.1f %10.3f %10.3f %6s\n", bytes, slowest * 1e6, algbw, busbw, all_ok ? "yes" : "NO");
        std::fprintf(stderr,
                     "{\"backend\":\"%s\",\"ranks\":%d,\"bytes\":%zu,\"time_us\":%.2f,\"algbw_GBps\":%.4f,"
                     "\"busbw_GBps\":%.4f,\"correct\":%s}\n",
                     backend.c_str(), n, bytes, slowest * 1e6, algbw, busbw, all_ok ? "true" : "false");
      }
      if (!all_ok) rc = 1;
#ifdef TRAINFLEET_HAVE_NCCL
      if (backend == "nccl") cudaFree(buf);
#endif
    }
  }
#if TRAINFLEET_HAVE_MPI
  MPI_Finalize();
#endif
  return rc;
}
