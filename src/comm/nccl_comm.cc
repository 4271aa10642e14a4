#include "comm/nccl_comm.h"

#include <cuda_runtime.h>
#include <nccl.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace tf {

namespace {
ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::kFloat32: return ncclFloat32;
    case DType::kFloat64: return ncclFloat64;
    case DType::kInt64: return ncclInt64;
  }
  return ncclFloat32;
}
ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kMax: return ncclMax;
    case ReduceOp::kMin: return ncclMin;
  }
  return ncclSum;
}
std::string host_name() {
  char h[256] = {0};
  ::gethostname(h, sizeof h - 1);
  return h;
}
}  // namespace

struct NcclComm::State {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int device = 0;
  std::string where;
};

#define TF_CUDA(call)                                                                                  \
  do {                                                                                                 \
    cudaError_t e_ = (call);                                                                           \
    if (e_ != cudaSuccess)                                                                             \
      throw CommError(s_->where + ": " #call ": " + cudaGetErrorString(e_), __FILE__, __LINE__);       \
  } while (0)
#define TF_NCCL(call)                                                                                  \
  do {                                                                                                 \
    ncclResult_t r_ = (call);                                                                          \
    if (r_ != ncclSuccess)                                                                             \
      throw CommError(s_->where + ": " #call ": " + ncclGetErrorString(r_), __FILE__, __LINE__);       \
  } while (0)

int NcclComm::device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

NcclComm::NcclComm(Communicator& host, int device, double timeout_s)
    : s_(std::make_unique<State>()), rank_(host.rank()), size_(host.size()), timeout_s_(timeout_s) {
  s_->device = device;
  s_->where = "rank " + std::to_string(rank_) + "/" + std::to_string(size_) + " on " + host_name() + " (cuda:" +
              std::to_string(device) + ", NCCL)";
  TF_CUDA(cudaSetDevice(device));
  ncclUniqueId id;
  if (rank_ == 0) TF_NCCL(ncclGetUniqueId(&id));
  host.broadcast(&id, sizeof id, 0);
  TF_CUDA(cudaStreamCreateWithFlags(&s_->stream, cudaStreamNonBlocking));
  TF_NCCL(ncclCommInitRank(&s_->comm, size_, id, rank_));
}

NcclComm::~NcclComm() {
  if (s_->comm) ncclCommDestroy(s_->comm);
  if (s_->stream) cudaStreamDestroy(s_->stream);
}

void NcclComm::wait(const char* op, const char* file, int line) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s_);
  while (true) {
    cudaError_t q = cudaStreamQuery(s_->stream);
    if (q == cudaSuccess) return;
    if (q != cudaErrorNotReady) throw CommError(s_->where + ": " + op + ": " + cudaGetErrorString(q), file, line);
    ncclResult_t async = ncclSuccess;
    ncclCommGetAsyncError(s_->comm, &async);
    if (async != ncclSuccess && async != ncclInProgress) {
      ncclCommAbort(s_->comm);
      s_->comm = nullptr;
      throw CommError(s_->where + ": " + op + ": " + ncclGetErrorString(async), file, line);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ncclCommAbort(s_->comm);
      s_->comm = nullptr;
      throw CommError(s_->where + ": " + op + " did not complete within " + std::to_string(timeout_s_) +
                          " s (a rank of the group stopped participating); communicator aborted",
                      file, line);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

void NcclComm::allreduce(void* buf, size_t count, DType dtype, ReduceOp op) {
  if (count == 0) return;
  TF_NCCL(ncclAllReduce(buf, buf, count, nccl_type(dtype), nccl_op(op), s_->comm, s_->stream));
  wait("ncclAllReduce", __FILE__, __LINE__);
}

void NcclComm::broadcast(void* buf, size_t bytes, int root) {
  if (bytes == 0) return;
  TF_NCCL(ncclBroadcast(buf, buf, bytes, ncclUint8, root, s_->comm, s_->stream));
  wait("ncclBroadcast", __FILE__, __LINE__);
}

void NcclComm::allgather(const void* send, void* recv, size_t bytes) {
  TF_NCCL(ncclAllGather(send, recv, bytes, ncclUint8, s_->comm, s_->stream));
  wait("ncclAllGather", __FILE__, __LINE__);
}

void NcclComm::barrier() {
  // NCCL has no barrier: a one-element all-reduce on the device does the job.
  float* one = nullptr;
  TF_CUDA(cudaMallocAsync(reinterpret_cast<void**>(&one), sizeof(float), s_->stream));
  TF_NCCL(ncclAllReduce(one, one, 1, ncclFloat32, ncclSum, s_->comm, s_->stream));
  TF_CUDA(cudaFreeAsync(one, s_->stream));
  wait("barrier", __FILE__, __LINE__);
}

std::unique_ptr<Communicator> NcclComm::split(int, int) {
  throw Error(s_->where + ": NcclComm::split is not supported; split the host communicator and build a new "
                          "NcclComm on the group",
              __FILE__, __LINE__);
}

std::unique_ptr<SharedCounter> NcclComm::make_counter() {
  throw Error(s_->where + ": NcclComm has no shared counter; use the host communicator's", __FILE__, __LINE__);
}

}  // namespace tf
