#include "comm/nccl_comm.h"

#include <cuda_runtime.h>
#include <nccl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
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
// Makes `device` current for a scope: the legacy default stream (nullptr) and
// the events are those of the current device, which the caller may have left on
// another GPU (LibTorch switches devices per operation and switches back).
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    if (cudaGetDevice(&prev_) == cudaSuccess && prev_ != device) cudaSetDevice(device);
    else prev_ = -1;
  }
  ~DeviceScope() {
    if (prev_ >= 0) cudaSetDevice(prev_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int prev_ = -1;
};

std::string host_name() {
  char h[256] = {0};
  ::gethostname(h, sizeof h - 1);
  return h;
}
}  // namespace

struct NcclComm::State {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;   // NCCL's own (non-blocking)
  cudaStream_t compute = nullptr;  // the caller's (set_stream); nullptr: legacy default stream
  cudaEvent_t ready = nullptr;     // recorded on `compute`: the buffers are written
  cudaEvent_t done = nullptr;      // recorded on `stream`: the collective has finished
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
  std::string id(sizeof(ncclUniqueId), '\0');
  if (rank_ == 0) id = unique_id();
  host.broadcast(id.data(), id.size(), 0);
  init(id, device);
}

NcclComm::NcclComm(const std::string& id, int rank, int size, int device, double timeout_s)
    : s_(std::make_unique<State>()), rank_(rank), size_(size), timeout_s_(timeout_s) {
  init(id, device);
}

std::string NcclComm::unique_id() {
  ncclUniqueId id;
  ncclResult_t r = ncclGetUniqueId(&id);
  if (r != ncclSuccess)
    throw CommError(host_name() + ": ncclGetUniqueId: " + ncclGetErrorString(r), __FILE__, __LINE__);
  return std::string(reinterpret_cast<const char*>(&id), sizeof id);
}

void NcclComm::init(const std::string& id_bytes, int device) {
  s_->device = device;
  s_->where = "rank " + std::to_string(rank_) + "/" + std::to_string(size_) + " on " + host_name() + " (cuda:" +
              std::to_string(device) + ", NCCL)";
  if (id_bytes.size() != sizeof(ncclUniqueId))
    throw CommError(s_->where + ": NCCL unique id of " + std::to_string(id_bytes.size()) + " bytes", __FILE__, __LINE__);
  ncclUniqueId id;
  std::memcpy(&id, id_bytes.data(), sizeof id);
  TF_CUDA(cudaSetDevice(device));
  TF_CUDA(cudaStreamCreateWithFlags(&s_->stream, cudaStreamNonBlocking));
  TF_CUDA(cudaEventCreateWithFlags(&s_->ready, cudaEventDisableTiming));
  TF_CUDA(cudaEventCreateWithFlags(&s_->done, cudaEventDisableTiming));
  TF_NCCL(ncclCommInitRank(&s_->comm, size_, id, rank_));
}

NcclComm::~NcclComm() {
  if (s_->comm) ncclCommDestroy(s_->comm);
  if (s_->ready) cudaEventDestroy(s_->ready);
  if (s_->done) cudaEventDestroy(s_->done);
  if (s_->stream) cudaStreamDestroy(s_->stream);
}

void NcclComm::set_stream(void* cuda_stream) { s_->compute = static_cast<cudaStream_t>(cuda_stream); }

void NcclComm::after_compute() {
  TF_CUDA(cudaEventRecord(s_->ready, s_->compute));
  TF_CUDA(cudaStreamWaitEvent(s_->stream, s_->ready, 0));
}

void NcclComm::finish(const char* op, const char* file, int line) {
  wait(op, file, line);
  TF_CUDA(cudaEventRecord(s_->done, s_->stream));
  TF_CUDA(cudaStreamWaitEvent(s_->compute, s_->done, 0));
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
  DeviceScope on(s_->device);
  after_compute();
  TF_NCCL(ncclAllReduce(buf, buf, count, nccl_type(dtype), nccl_op(op), s_->comm, s_->stream));
  finish("ncclAllReduce", __FILE__, __LINE__);
}

void NcclComm::broadcast(void* buf, size_t bytes, int root) {
  if (bytes == 0) return;
  DeviceScope on(s_->device);
  after_compute();
  TF_NCCL(ncclBroadcast(buf, buf, bytes, ncclUint8, root, s_->comm, s_->stream));
  finish("ncclBroadcast", __FILE__, __LINE__);
}

void NcclComm::allgather(const void* send, void* recv, size_t bytes) {
  DeviceScope on(s_->device);
  after_compute();
  TF_NCCL(ncclAllGather(send, recv, bytes, ncclUint8, s_->comm, s_->stream));
  finish("ncclAllGather", __FILE__, __LINE__);
}

void NcclComm::barrier() {
  // NCCL has no barrier: a one-element all-reduce on the device does the job.
  DeviceScope on(s_->device);
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
