# Decides whether the NCCL communicator is compiled in.
#   OFF  : never (a CPU-only build never needs CUDA).
#   AUTO : when nccl.h/libnccl and a CUDA-enabled LibTorch are both found.
#   ON   : as AUTO, but a missing piece is a configure error.
set(TRAINFLEET_HAVE_NCCL OFF)
string(TOUPPER "${TRAINFLEET_WITH_NCCL}" _tf_nccl)
if(NOT _tf_nccl MATCHES "^(AUTO|ON|OFF)$")
  message(SEND_ERROR "TRAINFLEET_WITH_NCCL must be AUTO, ON or OFF, not '${TRAINFLEET_WITH_NCCL}'")
endif()

if(NOT _tf_nccl STREQUAL "OFF")
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS $ENV{NCCL_HOME}/include /usr/local/cuda/include)
  find_library(NCCL_LIBRARY nccl HINTS $ENV{NCCL_HOME}/lib /usr/local/cuda/lib64 /usr/local/cuda/lib)
  # A CUDA LibTorch exports the torch_cuda library; Debian's CPU-only 1.13 does not.
  set(_tf_torch_cuda OFF)
  if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES OR "${TORCH_LIBRARIES}" MATCHES "torch_cuda")
    set(_tf_torch_cuda ON)
  endif()
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY AND _tf_torch_cuda)
    set(TRAINFLEET_HAVE_NCCL ON)
  elseif(_tf_nccl STREQUAL "ON")
    message(SEND_ERROR "TRAINFLEET_WITH_NCCL=ON but NCCL (${NCCL_INCLUDE_DIR}, ${NCCL_LIBRARY}) "
                       "or a CUDA LibTorch (torch_cuda) was not found")
  endif()
endif()
message(STATUS "trainfleet: NCCL communicator ${TRAINFLEET_HAVE_NCCL}")
