// Communicators: how the ranks of one training run exchange data.
//
// One interface, implementations chosen at run time:
//   LocalComm  one rank, no MPI calls (single-process runs and unit tests);
//   (MpiComm / NcclComm plug in behind the same interface.)
//
// Rank contract: every collective (allreduce, broadcast, allgather, barrier,
// split) must be called by every rank of the communicator, in the same order,
// with the same count and dtype. Only rank() == 0 of a group writes files.
//
// Stream contract (device communicators, NcclComm): buffers are written and
// read by work queued on a CUDA stream that the caller names with
// set_stream() (a cudaStream_t passed as void*; nullptr, the default, is the
// legacy default stream). Each collective waits for the work queued on that
// stream before it reads the buffer, and the stream waits for the collective
// before any later work on it reads the result. Host communicators ignore
// the stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"

namespace tf {

// A collective that failed or timed out (names rank, host and operation).
class CommError : public Error {
 public:
  using Error::Error;
};

// A collective ended because another rank of the communicator left it after a
// failure (Communicator::report_failure). The communicator is then unusable:
// its ranks no longer call the same collectives.
class PeerFailed : public Error {
 public:
  using Error::Error;
};

enum class DType { kFloat32, kFloat64, kInt64 };
enum class ReduceOp { kSum, kMax, kMin };

size_t dtype_size(DType t);

// A counter shared by every rank of a communicator: next() hands out 0, 1,
// 2, ... across all callers, in any order, with no rank having to answer
// (MPI one-sided fetch-and-add). Dynamic work queues are built on it.
class SharedCounter {
 public:
  virtual ~SharedCounter() = default;
  virtual int64_t next() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // for messages: "local", "mpi", "nccl"
  // Where collectives read and write buffers: device (GPU) memory when true
  // (NCCL), host memory otherwise. Callers place their buffers by this alone.
  virtual bool device_buffers() const { return false; }
  bool is_distributed() const { return size() > 1; }

  // In-place reduction of `count` elements of `dtype` at `buf`.
  virtual void allreduce(void* buf, size_t count, DType dtype, ReduceOp op) = 0;
  // Copies `bytes` at `buf` from `root` to every rank.
  virtual void broadcast(void* buf, size_t bytes, int root) = 0;
  // Concatenates `bytes` from every rank into `recv` (size() * bytes), in rank order.
  virtual void allgather(const void* send, void* recv, size_t bytes) = 0;
  virtual void barrier() = 0;
  // Sub-communicator of the ranks with the same `color`, ordered by `key`.
  virtual std::unique_ptr<Communicator> split(int color, int key) = 0;
  // Collective: a counter shared by all ranks; destroy it collectively too.
  virtual std::unique_ptr<SharedCounter> make_counter() = 0;
  // The CUDA stream (cudaStream_t as void*) that produces and consumes the
  // buffers of the following collectives; see the stream contract above.
  virtual void set_stream(void* cuda_stream) {}

  // Seconds a collective may wait for the other ranks before it fails
  // (naming the ranks that never came); a no-op where there is no deadline.
  virtual void set_timeout(double /*seconds*/) {}
  // Tells the other ranks that this rank will call no further collectives on
  // this communicator (it failed): their pending and later collectives on it
  // end with PeerFailed instead of waiting. Not collective; a no-op where
  // nothing can be waiting (one rank).
  virtual void report_failure() {}

  // Typed helpers.
  void allreduce_sum(double* v, size_t n) { allreduce(v, n, DType::kFloat64, ReduceOp::kSum); }
};

// Copies rank 0's string to every rank (collective).
std::string broadcast_string(Communicator& comm, std::string s);

// Whether any rank of `comm` was asked to stop by a signal (collective; see
// core/interrupt.h): ranks of one run take the decision together.
bool stop_agreed(Communicator& comm);

// A single rank: every collective returns at once.
class LocalComm final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  void allreduce(void*, size_t, DType, ReduceOp) override {}
  void broadcast(void*, size_t, int) override {}
  void allgather(const void* send, void* recv, size_t bytes) override;
  void barrier() override {}
  std::unique_ptr<Communicator> split(int, int) override { return std::make_unique<LocalComm>(); }
  std::unique_ptr<SharedCounter> make_counter() override;
};

}  // namespace tf
