// The LibTorch API differences trainfleet meets, in one place.
//
// The code builds against LibTorch 1.13 (Debian 12, CPU only) and the CUDA
// LibTorch 2.x of PyTorch wheels. Everything else it uses exists unchanged in
// both (torch::optim option accessors get_lr/set_lr, torch::save/load of
// tensors and optimizers, at::detail::getDefaultCPUGenerator, the modules'
// options structs); what differs is gathered here, so that no other file
// needs a version or CUDA #if:
//   - CUDA streams: c10/cuda headers need the CUDA toolkit and exist only in
//     CUDA builds; current_cuda_stream() hides them (nullptr elsewhere).
//   - The C++ standard: LibTorch >= 2.11 wants C++20, chosen in CMake
//     (TRAINFLEET_TORCH_CUDA and the standard: top-level CMakeLists.txt).
// Mixed precision (autocast) is not offered: its C++ API changed between 1.13
// (at::autocast::set_enabled) and 2.x (set_autocast_enabled(device_type, ...)).
#pragma once

#include <torch/types.h>

namespace tf::compat {

// Whether this LibTorch was built with CUDA (a compile-time fact of the build).
bool torch_has_cuda();

// LibTorch's current CUDA stream on `device` (a cudaStream_t as void*), on which
// the following LibTorch work there is queued; nullptr for a CPU device or a
// CPU-only LibTorch (nullptr is also the legacy default stream, LibTorch's
// default current stream).
void* current_cuda_stream(const torch::Device& device);

}  // namespace tf::compat
