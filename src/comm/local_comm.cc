#include <cstring>

#include "comm/communicator.h"

#include "core/interrupt.h"

namespace tf {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat32: return 4;
    case DType::kFloat64: return 8;
    case DType::kInt64: return 8;
  }
  return 0;
}

namespace {
class LocalCounter final : public SharedCounter {
 public:
  int64_t next() override { return value_++; }

 private:
  int64_t value_ = 0;
};
}  // namespace

std::unique_ptr<SharedCounter> LocalComm::make_counter() { return std::make_unique<LocalCounter>(); }

std::string broadcast_string(Communicator& comm, std::string s) {
  uint64_t n = s.size();
  comm.broadcast(&n, sizeof n, 0);
  s.resize(n);
  comm.broadcast(s.data(), n, 0);
  return s;
}

bool stop_agreed(Communicator& comm) {
  double f = stop_requested() ? 1.0 : 0.0;
  if (comm.is_distributed()) comm.allreduce(&f, 1, DType::kFloat64, ReduceOp::kMax);
  return f > 0;
}

void finish_together(Communicator& world, const std::function<void(double)>& set_timeout, double timeout_s) {
  if (set_timeout) set_timeout(30.0 * 24 * 3600);  // waiting for other groups is not a hang
  const bool stopped = stop_agreed(world);
  if (set_timeout) set_timeout(timeout_s);
  if (stopped)
    throw Preempted("stopped by " + signal_name(stop_requested()) + "; rerun the same command to continue",
                    __FILE__, __LINE__);
}

void LocalComm::allgather(const void* send, void* recv, size_t bytes) {
  if (send != recv) std::memmove(recv, send, bytes);
}

}  // namespace tf
