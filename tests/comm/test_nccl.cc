// NcclComm: compiled and linked wherever NCCL and CUDA are found; the run
// needs a GPU and is skipped (with the reason) on machines without one.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <vector>

#include "comm/nccl_comm.h"

namespace tf {

TEST(NcclComm, OneRankAllreduceAndBroadcastOnTheDevice) {
  if (NcclComm::device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  LocalComm host;
  NcclComm nccl(host, 0, 30.0);
  EXPECT_EQ(nccl.size(), 1);
  std::vector<float> h = {1.f, 2.f, 3.f};
  float* d = nullptr;
  ASSERT_EQ(cudaMalloc(&d, sizeof(float) * h.size()), cudaSuccess);
  cudaMemcpy(d, h.data(), sizeof(float) * h.size(), cudaMemcpyHostToDevice);
  nccl.allreduce(d, h.size(), DType::kFloat32, ReduceOp::kSum);
  nccl.broadcast(d, sizeof(float) * h.size(), 0);
  nccl.barrier();
  std::vector<float> back(h.size());
  cudaMemcpy(back.data(), d, sizeof(float) * h.size(), cudaMemcpyDeviceToHost);
  cudaFree(d);
  EXPECT_EQ(back, h);
}

}  // namespace tf
