// Data-parallel training on GPUs under mpirun (label gpu): N ranks, one GPU
// each, gradients all-reduced through NCCL on LibTorch's stream, end with the
// weights of one rank taking every batch whole, as the CPU test
// (tests/train/test_ddp.cc) proves for MPI. Skipped with fewer GPUs than ranks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "comm/mpi_comm.h"
#include "gpu/gpu_config.h"
#include "train/small_data.h"
#include "train/torch_compat.h"
#include "train/trainer.h"

namespace tf {

namespace {
MpiComm& world() {
  static MpiComm w(MPI_COMM_WORLD, false, 120.0);
  return w;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
  return d;
}
}  // namespace

class GpuEquivalence : public ::testing::TestWithParam<std::string> {};

TEST_P(GpuEquivalence, NRanksOnNGpusMatchOneRankWithTheFullBatch) {
  // Every rank sees the same devices, so every rank takes the same decision.
  const int gpus = static_cast<int>(torch::cuda::device_count());
  if (gpus < world().size())
    GTEST_SKIP() << world().size() << " ranks need " << world().size() << " CUDA devices, " << gpus << " visible";
  test::SmallData d(150, 11, 0.21);
  auto cfg = test::gpu_cfg(GetParam(), "cuda", 2);
  Trainer dp(cfg, world(), d.info);
  auto fit_dp = dp.fit(d.train, &d.val, {});
  LocalComm local;
  Trainer one(cfg, local, d.info);  // one rank, its own GPU, every batch whole
  auto fit_one = one.fit(d.train, &d.val, {});
  EXPECT_LE(max_abs_diff(dp.flat_state(), one.flat_state()), 1e-4) << GetParam() << " on " << world().size() << " ranks";
  auto mine = dp.flat_state();
  std::vector<float> first = mine;
  world().broadcast(first.data(), first.size() * sizeof(float), 0);
  EXPECT_EQ(max_abs_diff(mine, first), 0.0) << "ranks ended with different weights";
  for (size_t e = 0; e < fit_one.history.size(); ++e)
    EXPECT_NEAR(fit_dp.history[e].at("loss"), fit_one.history[e].at("loss"), 1e-4) << GetParam() << " epoch " << e;
}

INSTANTIATE_TEST_SUITE_P(Models, GpuEquivalence, ::testing::Values("mlp", "cnn1d", "lstm"));

}  // namespace tf
