// NcclComm: the Communicator over NCCL, for buffers in GPU memory.
//
// Built only when NCCL and the CUDA runtime are found (TRAINFLEET_WITH_NCCL);
// used for gradient all-reduce when runtime.device is cuda and LibTorch has
// CUDA. Its ranks are those of a host communicator (MpiComm), over which the
// NCCL unique id is broadcast. Collectives are enqueued on one CUDA stream and
// waited for with a deadline (ncclCommGetAsyncError + cudaStreamQuery); on a
// timeout or an NCCL error the communicator is aborted and CommError raised.
//
// Rank contract: as for every Communicator; `buf` pointers are device pointers.
#pragma once

#include <memory>
#include <string>

#include "comm/communicator.h"
#include "comm/mpi_comm.h"

namespace tf {

class NcclComm final : public Communicator {
 public:
  // Collective over all ranks of `host`; every rank of `host` must call it.
  // `device` is the CUDA device this rank uses.
  NcclComm(Communicator& host, int device, double timeout_s);
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

  // Number of CUDA devices visible (0 when there is no driver).
  static int device_count();

 private:
  void wait(const char* op, const char* file, int line);
  struct State;
  std::unique_ptr<State> s_;
  int rank_ = 0, size_ = 1;
  double timeout_s_;
};

}  // namespace tf
