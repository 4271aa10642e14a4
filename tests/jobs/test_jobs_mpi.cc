// The job layer across ranks, through mpirun and the real binary: a failure on
// rank 1 only of a 2-rank group becomes the same decision on both ranks
// (tune: the trial fails with its reason; cv: the job aborts naming rank 1),
// well before the collective timeout, i.e. no rank was left waiting; and
// ranks started with different configs (MPMD) stop at once.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <map>
#include <vector>
#include <cstdio>
#include <sstream>

#include "core/fs.h"
#include "shell.h"
#include "test_util.h"

namespace tf {

namespace {
using test::sh;
using test::bin;
using test::mpirun;

// The collective timeout of these jobs: a rank left waiting would fail only after it.
constexpr double kTimeout = 40;

const std::string kBase =
    "data: {path: data.h5, validation_split: 0.25}\n"
    "model: {name: mlp, mlp: {hidden_units: [8]}}\n"
    "training: {epochs: 2, batch_size: 16, callbacks: {early_stopping: false}}\n"
    "runtime: {collective_timeout_s: 40}\n";

class JobsMpi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = sh(bin() + " make-data --out data.h5 --samples 120 --steps 64 --seed 4", tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    test::write_text(tmp / "cv.yaml", "experiment: {name: cv, seed: 3, run_id: c}\n" + kBase +
                                          "cv: {method: stratified_kfold, n_splits: 2}\n");
    test::write_text(tmp / "tune.yaml", "experiment: {name: tune, seed: 3, run_id: s}\n" + kBase +
                                            "tuning: {n_trials: 3, sampler: random, objective: val_accuracy,\n"
                                            "  space: {training.learning_rate: {type: float, low: 0.001, high: 0.1, log: true}}}\n");
  }
  test::TempDir tmp;
};
}  // namespace

TEST_F(JobsMpi, AFailureOnRankOneFailsTheTrialOnBothRanksAndTheStudyGoesOn) {
  auto r = sh(mpirun(2, "TRAINFLEET_FAULT_INJECT=rank:1,task:0") + bin() + " tune tune.yaml --ranks-per-run 2 --threads 1",
              tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LT(r.seconds, kTimeout) << "a rank waited for the collective timeout\n" << r.output;
  // The journal's finish records: trial 0 failed (reason naming rank 1), once; the others complete.
  std::istringstream journal(read_file(tmp / "runs/tune/s/study.jsonl"));
  std::string line;
  std::map<int64_t, std::vector<nlohmann::json>> finishes;
  while (std::getline(journal, line)) {
    auto j = nlohmann::json::parse(line.substr(0, line.rfind('\t')), nullptr, false);  // "<json>\t<crc>"
    if (!j.is_discarded() && j.value("op", "") == "finish") finishes[j["trial"].get<int64_t>()].push_back(j);
  }
  ASSERT_EQ(finishes.size(), 3u) << r.output;
  ASSERT_EQ(finishes[0].size(), 1u) << "one decision for the group, written once";
  EXPECT_EQ(finishes[0][0]["state"], "failed");
  const std::string reason = finishes[0][0]["reason"];
  EXPECT_NE(reason.find("rank 1 failed"), std::string::npos) << reason;
  EXPECT_NE(reason.find("injected fault"), std::string::npos) << reason;
  for (int64_t t : {1, 2}) EXPECT_EQ(finishes[t].back()["state"], "complete") << r.output;
}

// The harder case: rank 1 throws mid-epoch while rank 0 waits in a gradient
// all-reduce (the trainer's fault injection at an epoch): still one decision, at once.
TEST_F(JobsMpi, AFailureOnRankOneMidEpochFailsEveryTrialWithoutWaiting) {
  auto r = sh(mpirun(2, "TRAINFLEET_FAULT_INJECT=rank:1,epoch:1") + bin() + " tune tune.yaml --ranks-per-run 2 --threads 1", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LT(r.seconds, kTimeout) << "a rank waited for the collective timeout\n" << r.output;
  const std::string journal = read_file(tmp / "runs/tune/s/study.jsonl");
  size_t failed = 0;
  for (size_t p = journal.find("\"state\":\"failed\""); p != std::string::npos; p = journal.find("\"state\":\"failed\"", p + 1))
    ++failed;
  EXPECT_EQ(failed, 3u) << journal;
  EXPECT_NE(journal.find("rank 1 failed: injected fault halfway through an epoch"), std::string::npos) << journal;
  EXPECT_EQ(journal.find("\"state\":\"complete\""), std::string::npos) << journal;
}

TEST_F(JobsMpi, AFailureOnRankOneAbortsTheCvNamingRankOne) {
  auto r = sh(mpirun(2, "TRAINFLEET_FAULT_INJECT=rank:1,task:0") + bin() + " cv cv.yaml --ranks-per-run 2 --threads 1",
              tmp.path());
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_LT(r.seconds, kTimeout) << "a rank waited for the collective timeout\n" << r.output;
  EXPECT_NE(r.output.find("rank 1 failed: injected fault"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("did not complete within"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "runs/cv/c/folds/fold_00.json")) << "the failed fold was recorded as done";
  // The same command without the fault: the CV runs in the same folder (its lock was let go).
  r = sh(mpirun(2) + bin() + " cv cv.yaml --ranks-per-run 2 --threads 1", tmp.path());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(tmp / "runs/cv/c/cv_results.json"));
}

TEST_F(JobsMpi, RanksStartedWithDifferentConfigsStopAtOnceNamingTheRanks) {
  std::string other = read_file(tmp / "cv.yaml");
  other.replace(other.find("seed: 3"), 7, "seed: 4");
  test::write_text(tmp / "other.yaml", other);
  auto r = sh("mpirun --oversubscribe --bind-to none -np 1 " + bin() + " cv cv.yaml --threads 1 : -np 1 " + bin() +
                  " cv other.yaml --threads 1",
              tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("ranks 1 run a different command line or config"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "runs")) << "nothing is written before the ranks agree";
  // The same config file with a different override on one rank: caught too.
  r = sh("mpirun --oversubscribe --bind-to none -np 1 " + bin() + " cv cv.yaml --threads 1 : -np 1 " + bin() +
             " cv cv.yaml --threads 1 --set experiment.seed=4",
         tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace tf
