#include "train/torch_compat.h"

#if TRAINFLEET_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

namespace tf::compat {

bool torch_has_cuda() { return TRAINFLEET_TORCH_CUDA != 0; }

void* current_cuda_stream(const torch::Device& device) {
#if TRAINFLEET_TORCH_CUDA
  if (device.is_cuda()) return c10::cuda::getCurrentCUDAStream(device.index()).stream();
#endif
  return nullptr;
}

}  // namespace tf::compat
