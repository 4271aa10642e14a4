// MpiComm under a real mpirun (2 and 4 ranks).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "comm/mpi_comm.h"

namespace tf {

namespace {
MpiComm& world() {
  static MpiComm w(MPI_COMM_WORLD, false, 60.0);
  return w;
}
}  // namespace

TEST(MpiComm, AllreduceSumMaxMinAllTypes) {
  auto& c = world();
  int r = c.rank(), n = c.size();
  std::vector<float> f = {1.0f * r, 2.0f};
  c.allreduce(f.data(), f.size(), DType::kFloat32, ReduceOp::kSum);
  EXPECT_FLOAT_EQ(f[0], n * (n - 1) / 2.0f);
  EXPECT_FLOAT_EQ(f[1], 2.0f * n);
  std::vector<double> d = {static_cast<double>(r)};
  c.allreduce(d.data(), 1, DType::kFloat64, ReduceOp::kMax);
  EXPECT_EQ(d[0], n - 1);
  std::vector<int64_t> i = {10 + r};
  c.allreduce(i.data(), 1, DType::kInt64, ReduceOp::kMin);
  EXPECT_EQ(i[0], 10);
}

TEST(MpiComm, BroadcastAndAllgather) {
  auto& c = world();
  int root = c.size() - 1;
  std::vector<int> v(5, c.rank() == root ? 42 : -1);
  c.broadcast(v.data(), v.size() * sizeof(int), root);
  for (int x : v) EXPECT_EQ(x, 42);
  int mine = 100 + c.rank();
  std::vector<int> all(static_cast<size_t>(c.size()));
  c.allgather(&mine, all.data(), sizeof(int));
  for (int k = 0; k < c.size(); ++k) EXPECT_EQ(all[k], 100 + k);
  c.barrier();
}

TEST(MpiComm, SplitIntoGroups) {
  auto& c = world();
  auto g = c.split(c.rank() % 2, c.rank());
  EXPECT_EQ(g->size(), (c.size() + 1 - c.rank() % 2) / 2);
  EXPECT_EQ(g->rank(), c.rank() / 2);
  double v = c.rank();
  g->allreduce(&v, 1, DType::kFloat64, ReduceOp::kSum);
  double want = 0;
  for (int k = c.rank() % 2; k < c.size(); k += 2) want += k;
  EXPECT_EQ(v, want);
}

// A rank that does not show up: the group's first rank times out and names it.
// Every rank of these tests runs on this machine.
std::string this_host() {
  char h[64] = {0};
  ::gethostname(h, sizeof h - 1);
  return h;
}

TEST(MpiComm, TimeoutNamesTheMissingRank) {
  auto& c = world();
  auto g = c.split(0, c.rank());
  auto* m = dynamic_cast<MpiComm*>(g.get());
  ASSERT_NE(m, nullptr);
  m->set_timeout(1.0);
  static double buf = 1.0;  // the abandoned request still completes into it later
  const int late = g->size() - 1;
  if (g->rank() == 0) {
    auto t0 = std::chrono::steady_clock::now();
    try {
      g->allreduce(&buf, 1, DType::kFloat64, ReduceOp::kSum);
      ADD_FAILURE() << "expected a timeout";
    } catch (const CommError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("did not complete within 1 s"), std::string::npos) << what;
      EXPECT_NE(what.find("never reached it: " + std::to_string(late) + " on " + this_host()), std::string::npos)
          << what;
      EXPECT_NE(what.find("MPI_Iallreduce"), std::string::npos) << what;
    }
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(waited, 3.0);
  } else if (g->rank() == late) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  }
  if (g->rank() != 0) {
    m->set_timeout(30.0);
    g->allreduce(&buf, 1, DType::kFloat64, ReduceOp::kSum);  // completes the abandoned collective
  }
  c.barrier();
}

// A rank that fails tells its peers (report_failure): a peer waiting in a
// collective ends it at once with PeerFailed naming the rank, long before the
// timeout; the communicator is then dropped, and the world goes on.
TEST(MpiComm, APeerFailureEndsAPendingCollectiveAtOnce) {
  auto& c = world();
  auto g = c.split(0, c.rank()).release();  // left unfreed: it holds a collective that never completes
  g->set_timeout(30.0);
  static double buf = 1.0;
  const int failing = g->size() - 1;
  if (g->rank() == failing) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    g->report_failure();
  } else {
    auto t0 = std::chrono::steady_clock::now();
    try {
      g->allreduce(&buf, 1, DType::kFloat64, ReduceOp::kSum);
      ADD_FAILURE() << "expected PeerFailed";
    } catch (const PeerFailed& e) {
      EXPECT_NE(std::string(e.what()).find("group rank " + std::to_string(failing) + " on " + this_host() + " failed"),
                std::string::npos)
          << e.what();
    }
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  }
  c.barrier();
}

}  // namespace tf
