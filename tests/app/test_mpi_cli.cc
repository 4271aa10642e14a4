// Multi-rank jobs through the real binary and mpirun: rank groups training
// different configs at once, the launcher's single-node mode, and a rank that
// fails mid-training.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "comm/communicator.h"
#include "core/fs.h"
#include "train/trainer.h"
#include "shell.h"
#include "test_util.h"

namespace tf {

namespace {
using test::sh;
using test::bin;
using test::mpirun;

// history.csv without the timing columns (time_s, samples_per_s).
std::string history_without_timing(const fs::path& run) {
  std::istringstream in(read_file(run / "history.csv"));
  std::string line, out;
  while (std::getline(in, line)) {
    for (int k = 0; k < 2; ++k) line = line.substr(0, line.rfind(','));
    out += line + "\n";
  }
  return out;
}

void write_config(const fs::path& p, const std::string& name, const std::string& model, int epochs) {
  test::write_text(p, "experiment: {name: " + name + ", output_dir: runs, seed: 3}\n"
                      "data: {path: data.h5, test_split: 0.2, validation_split: 0.2}\n"
                      "model: {name: " + model + ", cnn1d: {channels: [8, 8], kernel_sizes: [5, 3], pool_size: 2},"
                      " mlp: {hidden_units: [16]}}\n"
                      "training: {epochs: " + std::to_string(epochs) + ", batch_size: 16, learning_rate: 0.005,"
                      " callbacks: {early_stopping: false}}\n");
}

fs::path only_run(const fs::path& dir) {
  std::vector<fs::path> runs;
  for (auto& e : fs::directory_iterator(dir)) runs.push_back(e.path());
  EXPECT_EQ(runs.size(), 1u) << dir;
  return runs.empty() ? fs::path() : runs.front();
}
}  // namespace

class MpiCli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = sh(bin() + " make-data --out data.h5 --samples 160 --steps 64 --seed 4", tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  test::TempDir tmp{"tf-mpi"};
};

// 4 ranks as 2 groups of 2 train two configs at once; each equals its own 2-rank run.
TEST_F(MpiCli, TwoGroupsTrainTwoConfigsLikeSeparateRuns) {
  write_config(tmp / "a.yaml", "a", "cnn1d", 3);
  write_config(tmp / "b.yaml", "b", "mlp", 3);
  auto r = sh(mpirun(4) + bin() + " train a.yaml b.yaml --ranks-per-run 2 --set experiment.output_dir=grouped",
              tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("4 rank(s) as 2 group(s) of 2"), std::string::npos) << r.output;
  for (const char* name : {"a", "b"}) {
    auto single = sh(mpirun(2) + bin() + " train " + name + ".yaml --set experiment.output_dir=single", tmp.path());
    ASSERT_EQ(single.exit_code, 0) << single.output;
    fs::path g = only_run(tmp / "grouped" / name), s = only_run(tmp / "single" / name);
    EXPECT_EQ(history_without_timing(g), history_without_timing(s)) << name;
    auto sg = nlohmann::json::parse(read_file(g / "summary.json"));
    auto ss = nlohmann::json::parse(read_file(s / "summary.json"));
    EXPECT_EQ(sg["test"]["confusion_matrix"], ss["test"]["confusion_matrix"]) << name;
    EXPECT_EQ(sg["ranks"], 2);
  }
}

TEST_F(MpiCli, RanksPerRunMustDivideTheWorld) {
  write_config(tmp / "a.yaml", "a", "mlp", 1);
  auto r = sh(mpirun(4) + bin() + " train a.yaml --ranks-per-run 3", tmp.path());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("does not divide the 4 ranks"), std::string::npos) << r.output;
}

// Every rank meets the same bad config: the user reads its message once, from rank 0.
TEST_F(MpiCli, BadConfigIsReportedOnce) {
  test::write_text(tmp / "bad.yaml", "training: {epochz: 2}\n");
  auto r = sh(mpirun(4) + bin() + " train bad.yaml", tmp.path());
  EXPECT_NE(r.exit_code, 0);
  size_t count = 0;
  for (size_t p = r.output.find("training.epochz: unknown key"); p != std::string::npos;
       p = r.output.find("training.epochz: unknown key", p + 1))
    ++count;
  EXPECT_EQ(count, 1u) << r.output;
  EXPECT_NE(r.output.find(":0] error bad.yaml: training.epochz"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 30) << r.output;
}

TEST_F(MpiCli, LauncherSingleNodeModeRunsFourRanks) {
  write_config(tmp / "a.yaml", "a", "cnn1d", 2);
  auto r = sh("TRAINFLEET_BIN=" + bin() + " '" + (test::source_dir() / "launcher/trainfleet-run").string() +
                  "' -n 4 train a.yaml",
              tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("4 rank(s) on this node"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("4 rank(s) as 1 group(s) of 4"), std::string::npos) << r.output;
  auto s = nlohmann::json::parse(read_file(only_run(tmp / "runs/a") / "summary.json"));
  EXPECT_EQ(s["ranks"], 4);
}

// One rank fails mid-training: the whole job ends quickly, names the rank, and
// the last good checkpoint is intact.
TEST_F(MpiCli, FailingRankAbortsTheJobAndKeepsTheGoodCheckpoint) {
  write_config(tmp / "a.yaml", "a", "cnn1d", 6);
  auto r = sh("TRAINFLEET_FAULT_INJECT=rank:1,epoch:4 " + mpirun(2) + bin() +
                  " train a.yaml --set training.callbacks.checkpoint_save_best_only=false",
              tmp.path());
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_LT(r.seconds, 30.0);
  EXPECT_NE(r.output.find("injected fault halfway through an epoch"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rank 1 failed"), std::string::npos) << r.output;
  fs::path run = only_run(tmp / "runs/a");
  EXPECT_FALSE(fs::exists(run / "model.pt"));  // the run did not finish
  ASSERT_TRUE(fs::exists(run / "best.pt"));
  ASSERT_TRUE(fs::exists(run / "checkpoints/epoch_0003.pt"));
  EXPECT_FALSE(fs::exists(run / "checkpoints/epoch_0004.pt"));
  for (auto& e : fs::directory_iterator(run)) EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos);
  auto cfg = config::Config::load(run / "config.yaml");
  auto info = ModelInfo::from_json(nlohmann::json::parse(read_file(run / "model.json")), "model.json");
  LocalComm local;
  Trainer t(cfg, local, info);
  EXPECT_NO_THROW(t.load_weights(run / "best.pt"));
  EXPECT_NO_THROW(t.load_weights(run / "checkpoints/epoch_0003.pt"));
}

// The same CV on 1, 2 and 4 groups of one rank gives the same numbers to the
// last digit (at the same thread count); so do 1 and 2 groups of two ranks.
TEST_F(MpiCli, CvResultsAreIdenticalAcrossGroupLayouts) {
  test::write_text(tmp / "cv.yaml",
                   "experiment: {name: cv, seed: 3}\n"
                   "data: {path: data.h5, validation_split: 0.2}\n"
                   "model: {name: cnn1d, cnn1d: {channels: [8, 8], kernel_sizes: [5, 3], pool_size: 2}}\n"
                   "training: {epochs: 2, batch_size: 16, learning_rate: 0.005, callbacks: {early_stopping: false}}\n"
                   "cv: {method: stratified_kfold, n_splits: 4}\n");
  struct Layout {
    int np, per_run;
  };
  std::map<int, std::string> reference;  // per ranks-per-run: fold metrics + out-of-fold predictions
  for (Layout l : {Layout{1, 1}, Layout{2, 1}, Layout{4, 1}, Layout{2, 2}, Layout{4, 2}}) {
    std::string out = "out_" + std::to_string(l.np) + "_" + std::to_string(l.per_run);
    std::string cmd = (l.np > 1 ? mpirun(l.np) : std::string()) + bin() + " cv cv.yaml --threads 1 --ranks-per-run " +
                      std::to_string(l.per_run) + " --set experiment.output_dir=" + out;
    auto r = sh(cmd, tmp.path());
    ASSERT_EQ(r.exit_code, 0) << cmd << "\n" << r.output;
    fs::path run = only_run(tmp / out / "cv");
    auto res = nlohmann::json::parse(read_file(run / "cv_results.json"));
    nlohmann::json key = {res["summary"], res["pooled_oof"]};
    for (auto& f : res["folds"]) key.push_back({f["fold"], f["accuracy"], f["f1_macro"], f["confusion_matrix"]});
    std::string fingerprint = key.dump() + read_file(run / "oof_predictions.csv");
    if (!reference.count(l.per_run)) reference[l.per_run] = fingerprint;
    EXPECT_EQ(fingerprint, reference[l.per_run]) << "np " << l.np << ", ranks per run " << l.per_run;
  }
}

// Tuning under mpirun -np 4 with groups of 1 and of 2, for every sampler; with
// groups of 1 the grid and random tables equal a single-process study.
TEST_F(MpiCli, TuneOnRankGroups) {
  auto cfg = [](const std::string& sampler) {
    return "experiment: {name: t, seed: 3, run_id: s}\n"
           "data: {path: data.h5, validation_split: 0.25, test_split: 0.0}\n"
           "model: {name: mlp, mlp: {hidden_units: [32], dropout: 0.0}}\n"
           "training: {epochs: 2, batch_size: 16, optimizer: sgd, callbacks: {early_stopping: false, "
           "model_checkpoint: false}}\n"
           "tuning: {sampler: " + sampler + ", n_trials: 6, space: {training.learning_rate: {type: float, low: 0.001, "
           "high: 0.1, log: true, values: [0.001, 0.01, 0.1]}, training.batch_size: {type: int, low: 16, high: 32, "
           "step: 16}}}\n";
  };
  auto table = [](const fs::path& csv) { return test::trials_without_timing(csv); };
  for (const std::string sampler : {"grid", "random", "tpe"}) {
    test::write_text(tmp / (sampler + ".yaml"), cfg(sampler));
    auto single = sh(bin() + " tune " + sampler + ".yaml --threads 1 --set experiment.output_dir=one_" + sampler, tmp.path());
    ASSERT_EQ(single.exit_code, 0) << single.output;
    for (int per_run : {1, 2}) {
      std::string out = "np4_" + std::to_string(per_run) + "_" + sampler;
      auto r = sh(mpirun(4) + bin() + " tune " + sampler + ".yaml --threads 1 --ranks-per-run " +
                      std::to_string(per_run) + " --set experiment.output_dir=" + out,
                  tmp.path());
      ASSERT_EQ(r.exit_code, 0) << sampler << " " << per_run << "\n" << r.output;
      fs::path csv = tmp / out / "t/s/trials.csv";
      std::string t = table(csv);
      EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 7) << t;
      EXPECT_EQ(t.find("failed"), std::string::npos) << t;
      if (per_run == 1 && sampler != "tpe") {
        EXPECT_EQ(t, table(tmp / ("one_" + sampler) / "t/s/trials.csv")) << sampler;
      }
      // the trials really ran on several groups: the `group` column (the 5th)
      // holds at least two distinct group ids, each below the number of groups
      std::istringstream raw(read_file(csv));
      std::string line;
      std::getline(raw, line);
      ASSERT_EQ(line.rfind("number,state,value,duration_s,group,", 0), 0u) << line;
      std::set<int> groups;
      while (std::getline(raw, line)) {
        std::istringstream row(line);
        std::string col;
        for (int c = 0; c < 5; ++c) std::getline(row, col, ',');
        groups.insert(std::stoi(col));
      }
      EXPECT_GE(groups.size(), 2u) << sampler << " " << per_run << "\n" << read_file(csv);
      for (int g : groups) EXPECT_TRUE(g >= 0 && g < 4 / per_run) << g;
    }
  }
}


namespace {
const char* kCompareConfig = R"(experiment: {name: compare, seed: 7}
data: {path: data.h5, validation_split: 0.15}
training: {epochs: 2, batch_size: 32, learning_rate: 0.005, metrics: [f1_macro], callbacks: {early_stopping: false, model_checkpoint: false}}
cv: {method: stratified_kfold, n_splits: 4}
compare:
  entries:
    cnn: {model: cnn1d, set: {model.cnn1d.channels: [8, 8], model.cnn1d.kernel_sizes: [5, 3]}}
    lstm: {model: lstm, set: {model.lstm.hidden_size: 8, model.lstm.downsample: 8}}
    rf: {model: random_forest, set: {model.random_forest.n_estimators: 30}}
    svm: {model: svm}
    vote: {ensemble: [cnn, rf, svm], weights: [1, 2, 1]}
)";
}  // namespace

// compare: cnn1d, lstm, random forest, svm and an ensemble, single-process and
// under mpirun -np 4 with groups of 1 and 2: the same folds give the same
// scores, ranking and p-values everywhere (groups of 2 train the neural
// entries data-parallel, so they are compared with a 2-rank single group).
TEST_F(MpiCli, CompareRunsEveryEntryOnTheSameFoldsOnRankGroups) {
  test::write_text(tmp / "compare.yaml", kCompareConfig);
  std::map<int, std::string> reference;
  struct Layout {
    int np, per_run;
  };
  for (Layout l : {Layout{1, 1}, Layout{4, 1}, Layout{2, 2}, Layout{4, 2}}) {
    std::string out = "cmp_" + std::to_string(l.np) + "_" + std::to_string(l.per_run);
    std::string cmd = (l.np > 1 ? mpirun(l.np) : std::string()) + bin() + " compare compare.yaml --threads 1 " +
                      "--ranks-per-run " + std::to_string(l.per_run) + " --set experiment.output_dir=" + out;
    auto r = sh(cmd, tmp.path());
    ASSERT_EQ(r.exit_code, 0) << cmd << "\n" << r.output;
    fs::path run = only_run(tmp / out / "compare");
    auto res = nlohmann::json::parse(read_file(run / "compare.json"));
    ASSERT_EQ(res["ranking"].size(), 5u);
    EXPECT_EQ(res["pairs"].size(), 10u);
    std::set<std::string> names;
    for (const auto& e : res["ranking"]) {
      names.insert(e["entry"]);
      EXPECT_EQ(e["per_fold"].size(), 4u);
    }
    EXPECT_EQ(names, (std::set<std::string>{"cnn", "lstm", "rf", "svm", "vote"}));
    EXPECT_TRUE(fs::exists(run / "compare.csv"));
    EXPECT_NE(r.output.find("verdict"), std::string::npos) << r.output;
    nlohmann::json key = {res["ranking"], res["pairs"]};
    if (!reference.count(l.per_run)) reference[l.per_run] = key.dump();
    EXPECT_EQ(key.dump(), reference[l.per_run]) << "np " << l.np << ", ranks per run " << l.per_run;
  }
}

}  // namespace tf
