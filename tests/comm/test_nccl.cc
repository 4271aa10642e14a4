// NcclComm on real GPUs (label gpu): compiled wherever NCCL and CUDA are
// found, skipped (with the reason) where there are too few GPUs.
//
// Ranks run as threads of this process, one GPU each, and start from
// different values, so a collective that does nothing fails. The ordering
// tests write the input on a caller's non-blocking stream right before the
// collective (a large pinned host-to-device copy, still in flight when the
// collective is queued): without the event handshake of NcclComm, NCCL would
// read the buffer before the copy has landed.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "comm/nccl_comm.h"

namespace tf {
namespace {

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call

// Runs fn(comm, rank) on `n` ranks, one thread and one GPU each.
void on_ranks(int n, const std::function<void(NcclComm&, int)>& fn) {
  const std::string id = NcclComm::unique_id();
  std::vector<std::thread> ts;
  for (int r = 0; r < n; ++r)
    ts.emplace_back([&, r] {
      try {
        cudaSetDevice(r);
        NcclComm comm(id, r, n, r, 60.0);
        fn(comm, r);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "rank " << r << ": " << e.what();
      }
    });
  for (auto& t : ts) t.join();
}

bool enough_gpus(int n) { return NcclComm::device_count() >= n; }

// A device buffer of `v` (copied synchronously).
float* device_copy(const std::vector<float>& v) {
  float* d = nullptr;
  if (cudaMalloc(&d, sizeof(float) * v.size()) != cudaSuccess) return nullptr;
  cudaMemcpy(d, v.data(), sizeof(float) * v.size(), cudaMemcpyHostToDevice);
  return d;
}

std::vector<float> host_copy(const float* d, size_t n) {
  std::vector<float> h(n);
  cudaMemcpy(h.data(), d, sizeof(float) * n, cudaMemcpyDeviceToHost);
  return h;
}

TEST(NcclComm, TwoRanksSumMaxAndBroadcastFromRankOne) {
  if (!enough_gpus(2)) GTEST_SKIP() << "needs 2 CUDA devices, " << NcclComm::device_count() << " visible";
  std::vector<std::vector<float>> sum(2), mx(2), bc(2);
  on_ranks(2, [&](NcclComm& c, int r) {
    ASSERT_EQ(c.size(), 2);
    // rank 0: 1 2 3 -4, rank 1: 10 -20 30 40
    std::vector<float> mine = r == 0 ? std::vector<float>{1, 2, 3, -4} : std::vector<float>{10, -20, 30, 40};
    float* a = device_copy(mine);
    float* b = device_copy(mine);
    float* d = device_copy(mine);
    c.allreduce(a, 4, DType::kFloat32, ReduceOp::kSum);
    c.allreduce(b, 4, DType::kFloat32, ReduceOp::kMax);
    c.broadcast(d, 4 * sizeof(float), 1);
    sum[r] = host_copy(a, 4);
    mx[r] = host_copy(b, 4);
    bc[r] = host_copy(d, 4);
    cudaFree(a);
    cudaFree(b);
    cudaFree(d);
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(sum[r], (std::vector<float>{11, -18, 33, 36})) << "rank " << r;
    EXPECT_EQ(mx[r], (std::vector<float>{10, 2, 30, 40})) << "rank " << r;
    EXPECT_EQ(bc[r], (std::vector<float>{10, -20, 30, 40})) << "rank " << r;
  }
}

// Fills `d` (n floats) with `value` through a pinned host buffer, queued on
// `stream` and not waited for.
struct PendingFill {
  float* pinned = nullptr;
  PendingFill(float* d, size_t n, float value, cudaStream_t stream) {
    cudaMallocHost(&pinned, sizeof(float) * n);
    for (size_t i = 0; i < n; ++i) pinned[i] = value;
    cudaMemcpyAsync(d, pinned, sizeof(float) * n, cudaMemcpyHostToDevice, stream);
  }
  ~PendingFill() { cudaFreeHost(pinned); }
};

constexpr size_t kBig = size_t(64) << 20;  // 256 MB of floats: milliseconds of copying

TEST(NcclComm, AllreduceWaitsForTheCallersStream) {
  if (!enough_gpus(2)) GTEST_SKIP() << "needs 2 CUDA devices, " << NcclComm::device_count() << " visible";
  std::vector<std::vector<float>> got(2);
  on_ranks(2, [&](NcclComm& c, int r) {
    cudaStream_t s = nullptr;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    float* d = nullptr;
    CUDA_OK(cudaMalloc(&d, sizeof(float) * kBig));
    CUDA_OK(cudaMemsetAsync(d, 0, sizeof(float) * kBig, s));
    CUDA_OK(cudaStreamSynchronize(s));
    PendingFill fill(d, kBig, r == 0 ? 1.f : 2.f, s);
    c.set_stream(s);
    c.allreduce(d, kBig, DType::kFloat32, ReduceOp::kSum);
    // Read back on the same stream: ordered after the collective (step 3).
    std::vector<float> h(kBig);
    CUDA_OK(cudaMemcpyAsync(h.data(), d, sizeof(float) * kBig, cudaMemcpyDeviceToHost, s));
    CUDA_OK(cudaStreamSynchronize(s));
    got[r] = {h.front(), h[kBig / 2], h.back()};
    cudaFree(d);
    cudaStreamDestroy(s);
  });
  for (int r = 0; r < 2; ++r) EXPECT_EQ(got[r], (std::vector<float>{3, 3, 3})) << "rank " << r;
}

// One GPU: allgather over one rank still moves data (send -> recv), so the
// wait for the caller's stream is observable without a second device.
TEST(NcclComm, OneRankAllgatherWaitsForTheCallersStream) {
  if (!enough_gpus(1)) GTEST_SKIP() << "no CUDA device on this machine";
  cudaStream_t s = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  float *send = nullptr, *recv = nullptr;
  CUDA_OK(cudaMalloc(&send, sizeof(float) * kBig));
  CUDA_OK(cudaMalloc(&recv, sizeof(float) * kBig));
  CUDA_OK(cudaMemsetAsync(send, 0, sizeof(float) * kBig, s));
  CUDA_OK(cudaMemsetAsync(recv, 0, sizeof(float) * kBig, s));
  CUDA_OK(cudaStreamSynchronize(s));
  std::vector<float> back(kBig);
  {
    LocalComm host;
    NcclComm c(host, 0, 60.0);
    PendingFill fill(send, kBig, 7.f, s);
    c.set_stream(s);
    c.allgather(send, recv, sizeof(float) * kBig);
    CUDA_OK(cudaMemcpyAsync(back.data(), recv, sizeof(float) * kBig, cudaMemcpyDeviceToHost, s));
    CUDA_OK(cudaStreamSynchronize(s));
  }
  EXPECT_EQ(back.front(), 7.f);
  EXPECT_EQ(back.back(), 7.f);
  cudaFree(send);
  cudaFree(recv);
  cudaStreamDestroy(s);
}

}  // namespace
}  // namespace tf
