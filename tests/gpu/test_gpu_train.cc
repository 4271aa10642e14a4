// Training on a GPU against training on the CPU (label gpu): one rank, the
// same seed, the same data; the epoch losses and the final weights agree to
// float tolerance. Skipped where LibTorch sees no CUDA device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "comm/communicator.h"
#include "gpu/gpu_config.h"
#include "train/small_data.h"
#include "train/torch_compat.h"
#include "train/trainer.h"

namespace tf {

class GpuVsCpu : public ::testing::TestWithParam<std::string> {};

TEST_P(GpuVsCpu, OneRankLossesAndWeightsMatchTheCpu) {
  if (torch::cuda::device_count() == 0)
    GTEST_SKIP() << "LibTorch sees no CUDA device (CUDA build: " << compat::torch_has_cuda() << ")";
  test::SmallData d(150, 11, 0.21);
  LocalComm local;
  Trainer gpu(test::gpu_cfg(GetParam(), "cuda", 3), local, d.info);
  auto fit_gpu = gpu.fit(d.train, &d.val, {});
  Trainer cpu(test::gpu_cfg(GetParam(), "cpu", 3), local, d.info);
  auto fit_cpu = cpu.fit(d.train, &d.val, {});
  ASSERT_EQ(fit_gpu.history.size(), fit_cpu.history.size());
  for (size_t e = 0; e < fit_cpu.history.size(); ++e) {
    const double l = fit_cpu.history[e].at("loss");
    EXPECT_NEAR(fit_gpu.history[e].at("loss"), l, 1e-3 * std::max(1.0, std::fabs(l))) << GetParam() << " epoch " << e;
    EXPECT_NEAR(fit_gpu.history[e].at("val_loss"), fit_cpu.history[e].at("val_loss"), 1e-3) << GetParam();
  }
  auto a = gpu.flat_state(), b = cpu.flat_state();
  ASSERT_EQ(a.size(), b.size());
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
  EXPECT_LE(diff, 1e-3) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Models, GpuVsCpu, ::testing::Values("mlp", "cnn1d", "lstm"));

}  // namespace tf
