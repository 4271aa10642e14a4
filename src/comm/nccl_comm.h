// NcclComm: the Communicator over NCCL, for buffers in GPU memory.
//
// Built only when NCCL and the CUDA runtime are found (TRAINFLEET_WITH_NCCL);
// used for gradient all-reduce when runtime.device is cuda and LibTorch has
// CUDA. Its ranks are those of a host communicator (MpiComm), over which the
// NCCL unique id is broadcast. Collectives are enqueued on the communicator's
// own CUDA stream and waited for with a deadline (ncclCommGetAsyncError +
// cudaStreamQuery); on a timeout or an NCCL error the communicator is aborted
// and CommError raised.
//
// Stream ordering (the contract of communicator.h, made explicit here): the
// caller's buffers are produced on a compute stream (LibTorch's current
// stream for the trainer) that it hands in with set_stream(); by default the
// legacy default stream. The own stream is non-blocking, so nothing orders it
// with the compute stream implicitly. Each collective therefore
//   1. records an event on the compute stream and makes the NCCL stream wait
//      for it (the buffer is complete before NCCL reads it);
//   2. enqueues the NCCL call and waits on the host until it completes;
//   3. records an event on the NCCL stream and makes the compute stream wait
//      for it (work queued later on the compute stream sees the result, also
//      if step 2 ever stops blocking the host).
// Memory that the caller frees after a collective returns is no longer in use
// by NCCL (step 2), so LibTorch's caching allocator needs no recordStream.
//
// Rank contract: as for every Communicator; `buf` pointers are device pointers
// on this rank's device, and set_stream() names a stream of that device.
#pragma once

#include <memory>
#include <string>

#include "comm/communicator.h"

namespace tf {

class NcclComm final : public Communicator {
 public:
  // Collective over all ranks of `host`; every rank of `host` must call it.
  // `device` is the CUDA device this rank uses.
  NcclComm(Communicator& host, int device, double timeout_s);
  // The same from an id made by unique_id() on one rank and handed to the
  // others by the caller (ranks as threads of one process, in tests).
  NcclComm(const std::string& id, int rank, int size, int device, double timeout_s);
  ~NcclComm() override;
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }
  bool device_buffers() const override { return true; }
  void allreduce(void* buf, size_t count, DType dtype, ReduceOp op) override;
  void broadcast(void* buf, size_t bytes, int root) override;
  void allgather(const void* send, void* recv, size_t bytes) override;
  void barrier() override;
  // Splitting needs the host communicator's split; build a new NcclComm on it instead.
  std::unique_ptr<Communicator> split(int color, int key) override;
  std::unique_ptr<SharedCounter> make_counter() override;
  void set_stream(void* cuda_stream) override;

  // A fresh NCCL unique id (the bytes of ncclUniqueId).
  static std::string unique_id();
  // Number of CUDA devices visible (0 when there is no driver).
  static int device_count();

 private:
  void init(const std::string& id, int device);
  void after_compute();                                       // step 1 of the ordering
  void finish(const char* op, const char* file, int line);  // steps 2 and 3
  void wait(const char* op, const char* file, int line);
  struct State;
  std::unique_ptr<State> s_;
  int rank_ = 0, size_ = 1;
  double timeout_s_;
};

}  // namespace tf
