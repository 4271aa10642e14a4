// Nested CV with a study inside every outer fold (`trainfleet cv` with
// cv.nested and a tuning: section), through the real binary: no outer test
// row reaches a study, 1 and 2 rank groups give the same results, and a run
// killed with SIGKILL ends, when rerun, with the uninterrupted run's results.
// (scikit-learn's nested GridSearchCV is the oracle of tests/cv/test_nested_sklearn.py.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "core/fs.h"
#include "shell.h"
#include "test_util.h"

namespace tf {

namespace {

using test::bin;

// A tiny mlp tuned over two learning rates: 3 outer x 2 inner folds.
void setup(const test::TempDir& tmp) {
  auto r = test::run_cli("make-data --out data.h5 --samples 120 --steps 64 --seed 4", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  test::write_text(tmp / "c.yaml",
                   "experiment: {name: nest, seed: 5}\n"
                   "data: {path: data.h5, validation_split: 0.25}\n"
                   "model: {name: mlp, mlp: {hidden_units: [16]}}\n"
                   "training: {epochs: 2, batch_size: 16, metrics: [accuracy],\n"
                   "           callbacks: {early_stopping: false, model_checkpoint: false}}\n"
                   "cv: {method: stratified_kfold, n_splits: 3, nested: true, inner_n_splits: 2, scoring: [accuracy]}\n"
                   "tuning:\n"
                   "  sampler: grid\n"
                   "  objective: val_accuracy\n"
                   "  space: {training.learning_rate: {type: categorical, choices: [0.03, 0.003]}}\n");
}

fs::path run_dir(const test::TempDir& tmp, const std::string& sets = "") {
  auto r = test::run_cli("config --print-run-dir cv c.yaml " + sets, tmp.path());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::string line = r.output.substr(0, r.output.find('\n'));
  return tmp.path() / line;
}

// What must not depend on the schedule: per-fold outer scores and the chosen parameters.
nlohmann::json outcome(const fs::path& dir) {
  auto res = nlohmann::json::parse(read_file(dir / "cv_results.json"));
  nlohmann::json o;
  o["per_fold"] = res["summary"]["accuracy"]["per_fold"];
  for (const auto& f : res["nested"]) o["chosen"].push_back(f["best_params"]);
  return o;
}

std::set<int64_t> rows_of(const nlohmann::json& j) {
  std::set<int64_t> s;
  for (const auto& r : j) s.insert(r.get<int64_t>());
  return s;
}

}  // namespace

TEST(NestedCv, OuterTestRowsNeverReachTheStudy) {
  test::TempDir tmp("nested_rows");
  setup(tmp);
  auto r = test::run_cli("cv c.yaml --threads 1", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path dir = run_dir(tmp);
  auto res = nlohmann::json::parse(read_file(dir / "cv_results.json"));
  ASSERT_EQ(res["nested"].size(), 3u);
  for (int k = 0; k < 3; ++k) {
    const std::string fold = "fold_0" + std::to_string(k);
    auto outer = nlohmann::json::parse(read_file(dir / "folds" / (fold + ".json")));
    const std::set<int64_t> outer_test = rows_of(outer["test_rows"]);
    auto outer_split = nlohmann::json::parse(read_file(dir / "folds" / fold / "splits.json"));
    std::set<int64_t> outer_train = rows_of(outer_split["train"]);
    for (auto row : rows_of(outer_split["val"])) outer_train.insert(row);
    int inner_runs = 0;
    for (const auto& trial : fs::directory_iterator(dir / "studies" / fold / "trials")) {
      std::set<int64_t> inner_test_union;
      for (const auto& inner : fs::directory_iterator(trial.path())) {
        if (!fs::exists(inner.path() / "splits.json")) continue;
        auto s = nlohmann::json::parse(read_file(inner.path() / "splits.json"));
        for (const char* part : {"train", "val", "test"})
          for (auto row : rows_of(s[part])) {
            EXPECT_FALSE(outer_test.count(row)) << fold << ": outer test row " << row << " in " << inner.path();
            EXPECT_TRUE(outer_train.count(row)) << fold << ": row " << row << " is not an outer training row";
          }
        for (auto row : rows_of(s["test"])) inner_test_union.insert(row);
        ++inner_runs;
      }
      // The inner folds' test rows cover the outer training set exactly.
      EXPECT_EQ(inner_test_union, outer_train) << trial.path();
    }
    EXPECT_EQ(inner_runs, 2 * 2) << fold << ": 2 trials x 2 inner folds";
  }
  EXPECT_EQ(res["nested_tuning"]["stability"]["per_parameter"]["training.learning_rate"].size() >= 1, true);
}

TEST(NestedCv, SameResultsOnOneAndTwoGroups) {
  test::TempDir tmp("nested_groups");
  setup(tmp);
  auto one = test::run_cli("cv c.yaml --threads 1 --set experiment.output_dir=one", tmp.path());
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const std::string cmd = "cd '" + tmp.path().string() +
                          "' && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 2 --oversubscribe "
                          "--bind-to none " + bin() +
                          " cv c.yaml --threads 1 --ranks-per-run 1 --set experiment.output_dir=two > two.log 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(tmp / "two.log");
  const fs::path d1 = run_dir(tmp, "--set experiment.output_dir=one"), d2 = run_dir(tmp, "--set experiment.output_dir=two");
  EXPECT_EQ(outcome(d1).dump(), outcome(d2).dump());
  // Both groups ran tasks: the trials' finish records name groups 0 and 1.
  std::set<int64_t> groups;
  for (const auto& study : fs::directory_iterator(d2 / "studies")) {
    std::istringstream journal(read_file(study.path() / "study.jsonl"));
    for (std::string line; std::getline(journal, line);) {
      auto rec = nlohmann::json::parse(line.substr(0, line.rfind('\t')), nullptr, false);  // "<json>\t<crc>"
      if (rec.is_object() && rec.value("op", "") == "finish") groups.insert(rec["group"].get<int64_t>());
    }
  }
  EXPECT_EQ(groups, (std::set<int64_t>{0, 1}));
}

TEST(NestedCv, KilledRunEndsWithTheUninterruptedResults) {
  test::TempDir tmp("nested_kill");
  setup(tmp);
  auto ref = test::run_cli("cv c.yaml --threads 1 --set experiment.output_dir=ref", tmp.path());
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  const fs::path dir = run_dir(tmp);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(tmp.path().c_str()) != 0) ::_exit(99);
    ::execl(TF_BINARY, TF_BINARY, "cv", "c.yaml", "--threads", "1", static_cast<char*>(nullptr));
    ::_exit(98);
  }
  // Kill it once the second outer fold's study has finished a trial.
  const fs::path journal = dir / "studies" / "fold_01" / "study.jsonl";
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(120)) {
    if (fs::exists(journal) && read_file(journal).find("\"op\":\"finish\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFSIGNALED(st)) << "the run ended before it could be killed";
  EXPECT_FALSE(fs::exists(dir / "cv_results.json"));
  auto again = test::run_cli("cv c.yaml --threads 1", tmp.path());
  ASSERT_EQ(again.exit_code, 0) << again.output;
  // Finished trials were kept, not run again: one finish record per trial.
  for (const auto& study : fs::directory_iterator(dir / "studies")) {
    std::map<int64_t, int> finishes;
    std::istringstream in(read_file(study.path() / "study.jsonl"));
    for (std::string line; std::getline(in, line);) {
      if (line.find("\"op\":\"finish\"") == std::string::npos) continue;
      auto rec = nlohmann::json::parse(line.substr(0, line.rfind('\t')));
      finishes[rec["trial"].get<int64_t>()]++;
    }
    EXPECT_EQ(finishes.size(), 2u) << study.path();
    for (const auto& [trial, n] : finishes) EXPECT_EQ(n, 1) << study.path() << " trial " << trial;
  }
  EXPECT_EQ(outcome(dir).dump(), outcome(run_dir(tmp, "--set experiment.output_dir=ref")).dump());
}

}  // namespace tf
