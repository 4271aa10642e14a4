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

void LocalComm::allgather(const void* send, void* recv, size_t bytes) {
  if (send != recv) std::memmove(recv, send, bytes);
}

}  // namespace tf
