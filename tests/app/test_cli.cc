// The CLI end to end, through the real binary: make-data, train, evaluate,
// predict, config; run folders, exit codes, and no clobbering.
#include <gtest/gtest.h>

#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "config/config.h"
#include "core/fs.h"
#include "data/h5io.h"
#include "test_util.h"

namespace tf {

namespace {
const char* kTinyConfig = R"(
experiment: {name: tiny, output_dir: runs, run_id: r1, seed: 5}
data: {path: data.h5, test_split: 0.25, validation_split: 0.2}
model: {name: cnn1d, cnn1d: {channels: [8, 8], kernel_sizes: [5, 3], pool_size: 2}}
training:
  epochs: 3
  batch_size: 16
  learning_rate: 0.005
  lr_schedule: cosine
  metrics: [accuracy, f1_macro, leak_recall]
  callbacks: {early_stopping_monitor: val_f1_macro, checkpoint_monitor: val_loss, reduce_lr_on_plateau: true}
)";
}  // namespace

TEST(Cli, HelpAndVersion) {
  auto r = test::run_cli("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("trainfleet "), std::string::npos);
  for (const char* sub : {"train", "evaluate", "predict", "make-data", "config"}) {
    r = test::run_cli(std::string(sub) + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << sub;
  }
}

TEST(Cli, PrintDefaultsIsAValidConfig) {
  test::TempDir tmp;
  auto r = test::run_cli("config --print-defaults");
  ASSERT_EQ(r.exit_code, 0);
  auto cfg = config::Config::resolve(config::parse_text(r.output, "defaults"));
  EXPECT_EQ(cfg.doc(), config::Config::defaults().doc());
}

TEST(Cli, TrainEvaluatePredictEndToEnd) {
  test::TempDir tmp;
  auto r = test::run_cli("make-data --out data.h5 --samples 120 --steps 64 --seed 3", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto before = fs::last_write_time(tmp / "data.h5");
  r = test::run_cli("make-data --out data.h5 --samples 120 --steps 64 --if-missing", tmp.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(fs::last_write_time(tmp / "data.h5"), before);
  r = test::run_cli("make-data --out data.h5", tmp.path());
  EXPECT_EQ(r.exit_code, 2) << "make-data must not overwrite";

  test::write_text(tmp / "tiny.yaml", kTinyConfig);
  r = test::run_cli("train tiny.yaml --threads 1", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("epoch 3/3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ETA"), std::string::npos);
  EXPECT_NE(r.output.find("f1_macro"), std::string::npos);
  fs::path run = tmp / "runs/tiny/r1";
  for (const char* f : {"config.yaml", "history.csv", "metrics.jsonl", "best.pt", "model.pt", "optimizer.pt",
                        "summary.json", "normalizer.json", "model.json", "splits.json"})
    EXPECT_TRUE(fs::exists(run / f)) << f;
  auto summary = nlohmann::json::parse(read_file(run / "summary.json"));
  EXPECT_EQ(summary["epochs_run"], 3);
  EXPECT_EQ(summary["rows"]["test"], 30);
  EXPECT_TRUE(summary["test"].contains("f1_macro"));
  // The saved config is the resolved one and reproduces the run's settings.
  auto saved = config::Config::load(run / "config.yaml");
  EXPECT_EQ(saved.get_int("training.batch_size"), 16);
  EXPECT_EQ(saved.get_int("training.callbacks.early_stopping_patience"), 10);

  // The same run id again: refused, and the first run's files are untouched.
  std::string summary_text = read_file(run / "summary.json");
  r = test::run_cli("train tiny.yaml", tmp.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("exists already"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(run / "summary.json"), summary_text);

  r = test::run_cli("evaluate runs/tiny/r1 --data data.h5 --out eval.json", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("precision"), std::string::npos);
  auto ev = nlohmann::json::parse(read_file(tmp / "eval.json"));
  EXPECT_EQ(ev["rows"], 120);
  r = test::run_cli("evaluate runs/tiny/r1 --data data.h5 --out eval.json", tmp.path());
  EXPECT_EQ(r.exit_code, 2);

  r = test::run_cli("predict runs/tiny/r1 --data data.h5 --out pred.csv", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string csv = read_file(tmp / "pred.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 121);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "row,pred,pred_name,p_no_leak,p_small_leak,p_medium_leak,p_large_leak");
  r = test::run_cli("predict runs/tiny/r1 --data data.h5 --out pred.h5", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_cli("predict runs/tiny/r1 --data data.h5 --out pred.csv", tmp.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(read_file(tmp / "pred.csv"), csv);
  // Evaluation's accuracy equals the share of predicted classes that match /y.
  Dataset d = read_h5(tmp / "data.h5");
  int correct = 0, row = 0;
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    int pred = std::stoi(line.substr(line.find(',') + 1));
    correct += pred == d.y[row++];
  }
  EXPECT_NEAR(ev["accuracy"].get<double>(), correct / 120.0, 1e-12);
}

// A CV killed while folds are running: the rerun skips the finished folds,
// computes the rest, and ends with the results of an uninterrupted run.
TEST(Cli, KilledCvResumesWithoutRecomputingFinishedFolds) {
  test::TempDir tmp;
  auto r = test::run_cli("make-data --out data.h5 --samples 160 --steps 64 --seed 2", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  test::write_text(tmp / "cv.yaml",
                   "experiment: {name: cv, seed: 3, run_id: resumable}\n"
                   "data: {path: data.h5, validation_split: 0.2}\n"
                   "model: {name: cnn1d, cnn1d: {channels: [16, 16], kernel_sizes: [5, 3], pool_size: 2}}\n"
                   "training: {epochs: 25, batch_size: 16, callbacks: {early_stopping: false}}\n"
                   "cv: {method: stratified_kfold, n_splits: 4}\n");
  // Uninterrupted reference.
  r = test::run_cli("cv cv.yaml --threads 1 --set experiment.output_dir=ref", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Start, wait for the first finished fold, kill -9.
  fs::path folds = tmp / "runs/cv/resumable/folds";
  std::string cmd = "cd '" + tmp.path().string() + "' && exec '" + TF_BINARY + "' cv cv.yaml --threads 1 > first.log 2>&1";
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 1200 && !fs::exists(folds / "fold_00.json"); ++i) usleep(25000);
  ASSERT_TRUE(fs::exists(folds / "fold_00.json")) << read_file(tmp / "first.log");
  kill(-pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  std::vector<std::string> finished;
  std::map<std::string, std::string> before;
  for (auto& e : fs::directory_iterator(folds))
    if (e.path().extension() == ".json") {
      finished.push_back(e.path().stem().string());
      before[e.path().filename().string()] = read_file(e.path());
    }
  ASSERT_LT(finished.size(), 4u) << "the run finished before it could be killed";
  EXPECT_FALSE(fs::exists(tmp / "runs/cv/resumable/cv_results.json"));
  // Rerun the same command.
  r = test::run_cli("cv cv.yaml --threads 1", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("resuming: " + std::to_string(finished.size()) + " done already"), std::string::npos)
      << r.output;
  for (const auto& f : finished) EXPECT_EQ(r.output.find("starts " + f), std::string::npos) << f << " was recomputed";
  for (auto& [name, text] : before) EXPECT_EQ(read_file(folds / name), text) << name << " changed";
  auto a = nlohmann::json::parse(read_file(tmp / "runs/cv/resumable/cv_results.json"));
  auto b = nlohmann::json::parse(read_file(tmp / "ref/cv/resumable/cv_results.json"));
  EXPECT_EQ(a["summary"], b["summary"]);
  EXPECT_EQ(a["pooled_oof"], b["pooled_oof"]);
  EXPECT_EQ(read_file(tmp / "runs/cv/resumable/oof_predictions.csv"), read_file(tmp / "ref/cv/resumable/oof_predictions.csv"));
}

TEST(Cli, CvRejectsSplittersTheDataCannotSupport) {
  test::TempDir tmp;
  auto r = test::run_cli("make-data --out data.h5 --samples 60 --steps 64 --sites 3", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  test::write_text(tmp / "cv.yaml", "data: {path: data.h5}\ntraining: {epochs: 1}\n");
  r = test::run_cli("cv cv.yaml --cv-method group_kfold --n-splits 5", tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("cv.method group_kfold"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("number of groups (3)"), std::string::npos) << r.output;
  r = test::run_cli("cv cv.yaml --cv-method kfolds", tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("did you mean \"kfold\""), std::string::npos) << r.output;
  r = test::run_cli("cv cv.yaml --scoring accuracy,auc", tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("cv.scoring[1]"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "runs"));
}

}  // namespace tf
