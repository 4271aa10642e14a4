# Decides whether the NCCL communicator is compiled in.
#   OFF  : never (a CPU-only build never needs CUDA).
#   AUTO : when nccl.h/libnccl and the CUDA runtime are found.
#   ON   : as AUTO, but a missing piece is a configure error.
set(TRAINFLEET_HAVE_NCCL OFF)
string(TOUPPER "${TRAINFLEET_WITH_NCCL}" _tf_nccl)
if(NOT _tf_nccl MATCHES "^(AUTO|ON|OFF)$")
  message(SEND_ERROR "TRAINFLEET_WITH_NCCL must be AUTO, ON or OFF, not '${TRAINFLEET_WITH_NCCL}'")
endif()

if(NOT _tf_nccl STREQUAL "OFF")
  # NCCL_HOME may also be the folder of the nvidia-nccl wheel (site-packages/nvidia/nccl),
  # which ships only the versioned libnccl.so.2.
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${NCCL_HOME} $ENV{NCCL_HOME} PATH_SUFFIXES include)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS /usr/local/cuda/include)
  find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${NCCL_HOME} $ENV{NCCL_HOME} PATH_SUFFIXES lib lib64
               NO_DEFAULT_PATH)
  find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS /usr/local/cuda/lib64 /usr/local/cuda/lib)
  if(NOT DEFINED CUDAToolkit_ROOT AND EXISTS /usr/local/cuda)
    set(CUDAToolkit_ROOT /usr/local/cuda)
  endif()
  find_package(CUDAToolkit QUIET)
  # The communicator itself needs only NCCL and the CUDA runtime (it works on
  # device pointers), so it also compiles against a CPU-only LibTorch; the
  # trainer uses it only when LibTorch has CUDA and runtime.device is cuda.
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY AND CUDAToolkit_FOUND)
    set(TRAINFLEET_HAVE_NCCL ON)
  elseif(_tf_nccl STREQUAL "ON")
    message(SEND_ERROR "TRAINFLEET_WITH_NCCL=ON but NCCL (${NCCL_INCLUDE_DIR}, ${NCCL_LIBRARY}) "
                       "or the CUDA toolkit was not found")
  endif()
endif()
message(STATUS "trainfleet: NCCL communicator ${TRAINFLEET_HAVE_NCCL}")
