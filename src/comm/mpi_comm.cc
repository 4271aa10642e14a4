#include "comm/mpi_comm.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <thread>

namespace tf {

namespace {
constexpr int kNoticeTag = 7001;
constexpr int kFailedTag = 7002;

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::kFloat32: return MPI_FLOAT;
    case DType::kFloat64: return MPI_DOUBLE;
    case DType::kInt64: return MPI_INT64_T;
  }
  return MPI_BYTE;
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return MPI_SUM;
    case ReduceOp::kMax: return MPI_MAX;
    case ReduceOp::kMin: return MPI_MIN;
  }
  return MPI_SUM;
}
}  // namespace

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

MpiComm::MpiComm(MPI_Comm comm, bool owned, double timeout_s)
    : comm_(comm), owned_(owned), timeout_s_(timeout_s), ring_(1024, 0) {
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank", __FILE__, __LINE__);
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size", __FILE__, __LINE__);
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank_);
  check(MPI_Comm_dup(comm_, &notices_), "MPI_Comm_dup", __FILE__, __LINE__);
  MPI_Comm_set_errhandler(notices_, MPI_ERRORS_RETURN);
  char host[64] = {0};
  ::gethostname(host, sizeof host - 1);
  host_ = host;
  // Every rank's host, so that a failure or timeout names the node at fault.
  std::vector<char> all(sizeof host * static_cast<size_t>(size_));
  check(MPI_Allgather(host, sizeof host, MPI_CHAR, all.data(), sizeof host, MPI_CHAR, comm_), "MPI_Allgather",
        __FILE__, __LINE__);
  for (int r = 0; r < size_; ++r) hosts_.emplace_back(all.data() + sizeof host * static_cast<size_t>(r));
  if (rank_ == 0) arrived_.assign(static_cast<size_t>(size_), 0);
}

MpiComm::~MpiComm() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (notices_ != MPI_COMM_NULL) {
    if (rank_ == 0) drain_notices();  // so the communicator can be freed cleanly
    MPI_Comm_free(&notices_);
  }
  if (owned_ && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

std::string MpiComm::where() const {
  return "rank " + std::to_string(world_rank_) + " (group rank " + std::to_string(rank_) + "/" +
         std::to_string(size_) + ") on " + host_;
}

void MpiComm::check(int rc, const char* call, const char* file, int line) const {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw CommError(where() + ": " + call + " failed: " + std::string(msg, static_cast<size_t>(len)), file, line);
}

void MpiComm::arrive(const char* op) {
  ++ops_;
  if (size_ == 1) return;
  if (rank_ != 0) {
    uint64_t& slot = ring_[ops_ % ring_.size()];
    slot = ops_;
    MPI_Request r;
    check(MPI_Isend(&slot, 1, MPI_UINT64_T, 0, kNoticeTag, notices_, &r), "MPI_Isend", __FILE__, __LINE__);
    MPI_Request_free(&r);
  } else {
    arrived_[0] = ops_;
    drain_notices();
  }
}

void MpiComm::drain_notices() {
  int flag = 1;
  while (flag) {
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, kNoticeTag, notices_, &flag, &st);
    if (flag) {
      uint64_t v = 0;
      MPI_Recv(&v, 1, MPI_UINT64_T, st.MPI_SOURCE, kNoticeTag, notices_, MPI_STATUS_IGNORE);
      auto& a = arrived_[static_cast<size_t>(st.MPI_SOURCE)];
      a = std::max(a, v);
    }
  }
}

void MpiComm::report_failure() {
  if (size_ == 1 || notices_ == MPI_COMM_NULL) return;
  failed_notice_ = rank_;
  for (int r = 0; r < size_; ++r) {
    if (r == rank_) continue;
    MPI_Request req;
    if (MPI_Isend(&failed_notice_, 1, MPI_INT, r, kFailedTag, notices_, &req) == MPI_SUCCESS) MPI_Request_free(&req);
  }
}

void MpiComm::wait(MPI_Request& req, const char* op, size_t bytes, const char* file, int line) {
  using Clock = std::chrono::steady_clock;
  auto peer_failed = [&] {
    if (failed_peer_ < 0) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, kFailedTag, notices_, &flag, &st);
      if (!flag) return;
      int v = 0;
      MPI_Recv(&v, 1, MPI_INT, st.MPI_SOURCE, kFailedTag, notices_, MPI_STATUS_IGNORE);
      failed_peer_ = st.MPI_SOURCE;
    }
    throw PeerFailed(where() + ": " + op + " abandoned: group rank " + std::to_string(failed_peer_) + " on " +
                         hosts_[static_cast<size_t>(failed_peer_)] + " failed and left the collectives",
                     file, line);
  };
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration<double>(rank_ == 0 ? timeout_s_ : timeout_s_ + 5.0);
  int done = 0;
  int spins = 0;
  while (true) {
    check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), op, file, line);
    if (done) return;
    if (rank_ == 0) drain_notices();
    peer_failed();
    if (Clock::now() > deadline) break;
    if (++spins > 2000) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  std::ostringstream os;
  os << where() << ": " << op << " (collective #" << ops_ << ", " << bytes << " bytes) did not complete within "
     << (rank_ == 0 ? timeout_s_ : timeout_s_ + 5.0) << " s";
  if (rank_ == 0) {
    std::vector<std::string> missing;
    for (int r = 1; r < size_; ++r)
      if (arrived_[static_cast<size_t>(r)] < ops_)
        missing.push_back(std::to_string(r) + " on " + hosts_[static_cast<size_t>(r)] + " (last reached #" +
                          std::to_string(arrived_[static_cast<size_t>(r)]) + ")");
    os << "; group ranks that never reached it: " << (missing.empty() ? std::string("none known") : [&] {
      std::string s;
      for (size_t i = 0; i < missing.size(); ++i) s += (i ? ", " : "") + missing[i];
      return s;
    }());
  } else {
    os << "; the group's first rank reports which ranks are missing";
  }
  throw CommError(os.str(), file, line);
}

void MpiComm::allreduce(void* buf, size_t count, DType dtype, ReduceOp op) {
  arrive("allreduce");
  if (size_ == 1 || count == 0) return;
  MPI_Request req;
  check(MPI_Iallreduce(MPI_IN_PLACE, buf, static_cast<int>(count), mpi_type(dtype), mpi_op(op), comm_, &req),
        "MPI_Iallreduce", __FILE__, __LINE__);
  wait(req, "MPI_Iallreduce", count * dtype_size(dtype), __FILE__, __LINE__);
}

void MpiComm::broadcast(void* buf, size_t bytes, int root) {
  arrive("broadcast");
  if (size_ == 1 || bytes == 0) return;
  MPI_Request req;
  check(MPI_Ibcast(buf, static_cast<int>(bytes), MPI_BYTE, root, comm_, &req), "MPI_Ibcast", __FILE__, __LINE__);
  wait(req, "MPI_Ibcast", bytes, __FILE__, __LINE__);
}

void MpiComm::allgather(const void* send, void* recv, size_t bytes) {
  arrive("allgather");
  if (size_ == 1) {
    LocalComm().allgather(send, recv, bytes);
    return;
  }
  MPI_Request req;
  check(MPI_Iallgather(send, static_cast<int>(bytes), MPI_BYTE, recv, static_cast<int>(bytes), MPI_BYTE, comm_, &req),
        "MPI_Iallgather", __FILE__, __LINE__);
  wait(req, "MPI_Iallgather", bytes * static_cast<size_t>(size_), __FILE__, __LINE__);
}

void MpiComm::barrier() {
  arrive("barrier");
  if (size_ == 1) return;
  MPI_Request req;
  check(MPI_Ibarrier(comm_, &req), "MPI_Ibarrier", __FILE__, __LINE__);
  wait(req, "MPI_Ibarrier", 0, __FILE__, __LINE__);
}

namespace {
// One int64 in an MPI window on rank 0, advanced with MPI_Fetch_and_op under a
// passive-target lock_all epoch.
class MpiCounter final : public SharedCounter {
 public:
  explicit MpiCounter(MPI_Comm comm) {
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Aint bytes = rank == 0 ? static_cast<MPI_Aint>(sizeof(int64_t)) : 0;
    MPI_Win_allocate(bytes, sizeof(int64_t), MPI_INFO_NULL, comm, &base_, &win_);
    if (rank == 0) *base_ = 0;
    MPI_Barrier(comm);
    MPI_Win_lock_all(0, win_);
  }
  ~MpiCounter() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    // MPI_Win_free is collective: not while an error ends this rank alone
    // (the job is aborted next), else it would wait for ranks still working.
    if (finalized || std::uncaught_exceptions() > 0) return;
    MPI_Win_unlock_all(win_);
    MPI_Win_free(&win_);
  }
  int64_t next() override {
    int64_t one = 1, got = 0;
    MPI_Fetch_and_op(&one, &got, MPI_INT64_T, 0, 0, MPI_SUM, win_);
    MPI_Win_flush(0, win_);
    return got;
  }

 private:
  MPI_Win win_ = MPI_WIN_NULL;
  int64_t* base_ = nullptr;
};
}  // namespace

std::unique_ptr<SharedCounter> MpiComm::make_counter() {
  arrive("make_counter");
  return std::make_unique<MpiCounter>(comm_);
}

std::unique_ptr<Communicator> MpiComm::split(int color, int key) {
  arrive("split");
  MPI_Comm sub;
  check(MPI_Comm_split(comm_, color, key, &sub), "MPI_Comm_split", __FILE__, __LINE__);
  return std::make_unique<MpiComm>(sub, true, timeout_s_);
}

}  // namespace tf
