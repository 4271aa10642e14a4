// MpiComm: the Communicator over an MPI communicator (CPU buffers).
//
// Every collective is issued non-blocking (MPI_Iallreduce, ...) and waited for
// with a deadline (`timeout_s`, default 600 s). Each rank also tells the
// group's first rank, with a tiny fire-and-forget message, which collective it
// has reached; when a wait times out, the first rank can name the ranks that
// never arrived. A rank that fails tells the others (report_failure), and a
// rank waiting in a collective ends it with PeerFailed. A timeout or an MPI error raises CommError carrying rank,
// host, operation and file:line; the app turns it into MPI_Abort so the whole
// job ends instead of hanging.
//
// Rank contract (as for every Communicator): all ranks of the communicator
// call the same collectives in the same order with the same sizes.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "core/error.h"

namespace tf {

class MpiComm final : public Communicator {
 public:
  // Wraps `comm`; frees it on destruction when `owned`.
  MpiComm(MPI_Comm comm, bool owned, double timeout_s);
  ~MpiComm() override;
  MpiComm(const MpiComm&) = delete;
  MpiComm& operator=(const MpiComm&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  void allreduce(void* buf, size_t count, DType dtype, ReduceOp op) override;
  void broadcast(void* buf, size_t bytes, int root) override;
  void allgather(const void* send, void* recv, size_t bytes) override;
  void barrier() override;
  std::unique_ptr<Communicator> split(int color, int key) override;
  std::unique_ptr<SharedCounter> make_counter() override;

  MPI_Comm handle() const { return comm_; }
  int world_rank() const { return world_rank_; }
  double timeout() const { return timeout_s_; }
  void set_timeout(double seconds) override { timeout_s_ = seconds; }
  void report_failure() override;
  // Number of collectives this rank has entered.
  uint64_t ops() const { return ops_; }

 private:
  void arrive(const char* op);
  void drain_notices();
  void wait(MPI_Request& req, const char* op, size_t bytes, const char* file, int line);
  void check(int rc, const char* call, const char* file, int line) const;
  std::string where() const;

  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Comm notices_ = MPI_COMM_NULL;  // private channel for arrival notices
  bool owned_ = false;
  int rank_ = 0, size_ = 1, world_rank_ = 0;
  double timeout_s_;
  uint64_t ops_ = 0;
  std::vector<uint64_t> ring_;        // send buffers of arrival notices
  std::vector<uint64_t> arrived_;     // first rank only: last collective each rank reached
  int failed_notice_ = 0;             // send buffer of report_failure()
  int failed_peer_ = -1;              // a rank that reported a failure, once seen
  std::string host_;
  std::vector<std::string> hosts_;    // every group rank's host, for messages
};

// Whether this process was started by an MPI launcher (mpirun, srun --mpi=pmix).
bool launched_by_mpi();

}  // namespace tf
