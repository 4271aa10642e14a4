# What the LibTorch found decides (src/train/torch_compat.h holds the C++ side):
#   TRAINFLEET_TORCH_CUDA  whether it was built with CUDA (its c10_cuda library
#                          exists), so that LibTorch's CUDA stream can be read;
#   the C++ standard       C++20 from LibTorch 2.11 on (its ATen headers require
#                          it), C++17 before.
set(TRAINFLEET_TORCH_CUDA OFF)
if(TORCH_CUDA_LIBRARIES OR C10_CUDA_LIBRARY)
  set(TRAINFLEET_TORCH_CUDA ON)
endif()
if(DEFINED Torch_VERSION AND Torch_VERSION VERSION_GREATER_EQUAL 2.11 AND CMAKE_CXX_STANDARD LESS 20)
  set(CMAKE_CXX_STANDARD 20)
endif()
message(STATUS "trainfleet: LibTorch ${Torch_VERSION}, CUDA ${TRAINFLEET_TORCH_CUDA}, C++${CMAKE_CXX_STANDARD}")
