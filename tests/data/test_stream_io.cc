// Block-wise HDF5 I/O and the background batch reader: make-data's block
// writer against the in-memory generator, every /X layout read alike, rows
// in the asked order, reader errors reaching the consumer, and the
// normaliser's sums from chunks equal to the sums of all rows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <numeric>
#include <random>

#include "core/error.h"
#include "data/batch_stream.h"
#include "data/cache_budget.h"
#include "data/h5io.h"
#include "data/normalizer.h"
#include "data/row_source.h"
#include "data/synth.h"
#include "test_util.h"

namespace tf {

namespace {
SynthOptions small_opts() {
  SynthOptions o;
  o.samples = 53;
  o.steps = 64;
  o.seed = 11;
  return o;
}

void expect_same(const Dataset& a, const Dataset& b) {
  EXPECT_EQ(a.n, b.n);
  EXPECT_EQ(a.t, b.t);
  EXPECT_EQ(a.c, b.c);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.y, b.y);
}
}  // namespace

TEST(StreamIo, BlockWriterMatchesTheGeneratorInEveryLayout) {
  test::TempDir tmp;
  const SynthOptions o = small_opts();
  const Dataset ref = make_airleak_data(o);
  const H5Layout layouts[] = {{0, 0}, {1, 0}, {16, 0}, {4, 6}};
  int i = 0;
  for (const H5Layout& l : layouts) {
    const auto path = tmp / ("d" + std::to_string(i++) + ".h5");
    auto counts = write_airleak_h5(path, o, l, /*block_rows=*/7);
    EXPECT_EQ(counts, ref.class_counts());
    Dataset back = read_h5(path);
    expect_same(back, ref);
    EXPECT_EQ(back.groups, ref.groups);
    EXPECT_EQ(back.time, ref.time);
    EXPECT_EQ(back.class_names, ref.class_names);
    // The same rows through the open reader, a few at a time.
    H5RowReader reader(path);
    expect_same(reader.read({0, 1, 5, 6, 7, 30, 52}), ref.subset({0, 1, 5, 6, 7, 30, 52}));
  }
  EXPECT_THROW(write_airleak_h5(tmp / "d0.h5", o, {}), BadInput);  // never replaces a file
  EXPECT_THROW(write_airleak_h5(tmp / "z.h5", o, {0, 3}), BadInput);  // gzip needs chunks
}

TEST(StreamIo, BatchesComeInTheAskedOrder) {
  const Dataset ref = make_airleak_data(small_opts());
  MemoryRows rows(ref);
  std::vector<int64_t> perm(static_cast<size_t>(ref.n));
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), std::mt19937_64(3));
  std::vector<std::vector<int64_t>> batches;
  for (size_t b = 0; b < perm.size(); b += 8)
    batches.emplace_back(perm.begin() + b, perm.begin() + std::min(perm.size(), b + 8));
  BatchStream stream(rows, batches, 2);
  for (const auto& b : batches) expect_same(stream.next(), ref.subset(b));
  EXPECT_THROW(stream.next(), Error);
}

TEST(StreamIo, AReaderErrorReachesTheConsumer) {
  test::TempDir tmp;
  Dataset d = make_airleak_data(small_opts());
  d.x[static_cast<size_t>(40 * d.row_size() + 3)] = NAN;
  write_h5(tmp / "nan.h5", d);
  std::vector<int64_t> all(static_cast<size_t>(d.n));
  std::iota(all.begin(), all.end(), 0);
  H5Rows rows(tmp / "nan.h5", all, d.y, d.t, d.c, Normalizer::identity(d.c), true);
  BatchStream stream(rows, consecutive_batches(0, d.n, 16));
  expect_same(stream.next(), d.subset(consecutive_batches(0, 16, 16)[0]));
  stream.next();
  try {
    stream.next();  // rows 32..47 hold the NaN
    FAIL() << "no error";
  } catch (const BadInput& e) {
    EXPECT_NE(std::string(e.what()).find("NaN value at row 40"), std::string::npos) << e.what();
  }
}

TEST(StreamIo, NormaliserSumsFromChunksEqualTheWholeSums) {
  const Dataset d = make_airleak_data(small_opts());
  std::vector<double> sums;
  MemoryRows rows(d);
  for_each_chunk(rows, 0, d.n, 10, [&](int64_t, const Dataset& c) { Normalizer::add_sums(c, sums); });
  EXPECT_EQ(sums, Normalizer::partial_sums(d));
}

// data.cache_mb's default: half of the node's available memory, shared by
// the ranks on the node; under srun without --ntasks-per-node only
// SLURM_STEP_TASKS_PER_NODE tells how many there are ("4(x2)", "1,3").
TEST(CacheBudget, DefaultSharesHalfTheAvailableMemoryAmongTheNodesRanks) {
  EXPECT_EQ(cache_budget_bytes(0), 0);
  EXPECT_EQ(cache_budget_bytes(5), int64_t{5} << 20);
  for (const char* v : {"OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_STEP_TASKS_PER_NODE", "SLURM_NTASKS_PER_NODE"})
    ::unsetenv(v);
  const double one = static_cast<double>(cache_budget_bytes(-1));
  ::setenv("SLURM_STEP_TASKS_PER_NODE", "4(x2)", 1);
  const double four = static_cast<double>(cache_budget_bytes(-1));
  ::setenv("SLURM_STEP_TASKS_PER_NODE", "1,3", 1);
  const double three = static_cast<double>(cache_budget_bytes(-1));
  ::unsetenv("SLURM_STEP_TASKS_PER_NODE");
  ::setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "2", 1);
  const double two = static_cast<double>(cache_budget_bytes(-1));
  ::unsetenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  ASSERT_GT(one, 0);
  EXPECT_NEAR(four / one, 0.25, 0.03);  // available memory moves a little between calls
  EXPECT_NEAR(three / one, 1.0 / 3, 0.03);
  EXPECT_NEAR(two / one, 0.5, 0.03);
}

}  // namespace tf
