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

namespace {
const char* kTuneConfig = R"(
experiment: {name: tune, seed: 3, run_id: study}
data: {path: data.h5, validation_split: 0.25, test_split: 0.0}
model: {name: mlp, mlp: {hidden_units: [32], dropout: 0.0}}
training: {epochs: 2, batch_size: 16, optimizer: sgd, callbacks: {early_stopping: false, model_checkpoint: false}}
tuning:
  sampler: SAMPLER
  n_trials: 6
  space:
    training.learning_rate: {type: float, low: 1.0e-3, high: 1.0e-1, log: true, values: [0.001, 0.01, 0.1]}
    training.batch_size: {type: int, low: 16, high: 32, step: 16}
)";

std::string tune_config(const std::string& sampler) {
  std::string s = kTuneConfig;
  s.replace(s.find("SAMPLER"), 7, sampler);
  return s;
}
}  // namespace

TEST(Cli, TuneWithEverySamplerWritesTheStudy) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out data.h5 --samples 120 --steps 64", tmp.path()).exit_code, 0);
  for (const std::string sampler : {"grid", "random", "tpe", "tpe_mv"}) {
    const bool mv = sampler == "tpe_mv";
    test::write_text(tmp / (sampler + ".yaml"), tune_config(mv ? "tpe" : sampler));
    auto r = test::run_cli("tune " + sampler + ".yaml --set experiment.output_dir=" + sampler +
                               (mv ? " --set tuning.tpe_multivariate=true --set tuning.tpe_startup_trials=2" : ""),
                           tmp.path());
    ASSERT_EQ(r.exit_code, 0) << sampler << "\n" << r.output;
    fs::path dir = tmp / sampler / "tune/study";
    for (const char* f : {"study.jsonl", "trials.csv", "best_trial.json", "config.yaml"})
      EXPECT_TRUE(fs::exists(dir / f)) << sampler << " " << f;
    std::string csv = read_file(dir / "trials.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 7) << csv;  // header + 6 trials (grid: 3 x 2)
    EXPECT_NE(r.output.find("best: trial"), std::string::npos);
    EXPECT_NE(r.output.find("study progress: 6/6 done ("), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("study progress: 1/6 done ("), std::string::npos) << r.output;
    auto show = test::run_cli("study show " + (dir).string(), tmp.path());
    EXPECT_EQ(show.exit_code, 0);
    EXPECT_NE(show.output.find("parameter importances"), std::string::npos) << show.output;
  }
  // Grid order: the last key varies fastest; every point once.
  std::string grid = read_file(tmp / "grid/tune/study/trials.csv");
  EXPECT_NE(grid.find("0,complete,"), std::string::npos);
  auto r = test::run_cli("tune --suggest-space lstm", tmp.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("model.lstm.hidden_size"), std::string::npos) << r.output;
  r = test::run_cli("tune grid.yaml --set experiment.output_dir=grid --retrain-best", tmp.path());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(tmp / "grid/tune/study/retrain"));
}

// ASHA and Hyperband stop weak trials at their rungs; the best trial runs to the end.
TEST(Cli, AshaAndHyperbandPruneAtRungs) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out data.h5 --samples 120 --steps 64", tmp.path()).exit_code, 0);
  for (const std::string pruner : {"asha", "hyperband"}) {
    std::string cfg = tune_config("random");
    cfg.replace(cfg.find("epochs: 2"), 9, "epochs: 9");
    cfg.replace(cfg.find("n_trials: 6"), 11, "n_trials: 8");
    cfg.replace(cfg.find("[0.001, 0.01, 0.1]"), 18, "[0.0001, 0.001, 0.01, 0.1, 0.5]");
    cfg += "  pruner: " + pruner + "\n  pruner_min_resource: 1\n  pruner_reduction_factor: 3\n";
    test::write_text(tmp / (pruner + ".yaml"), cfg);
    auto r = test::run_cli("tune " + pruner + ".yaml --set experiment.output_dir=" + pruner, tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::string csv = read_file(tmp / pruner / "tune/study/trials.csv");
    int pruned = 0;
    for (size_t p = csv.find(",pruned,"); p != std::string::npos; p = csv.find(",pruned,", p + 1)) ++pruned;
    EXPECT_GE(pruned, 2) << pruner << "\n" << csv;
    // A pruned trial stopped at a rung (1, 3 or 9 epochs; hyperband's brackets start at 1, 3 or 9).
    std::string journal = read_file(tmp / pruner / "tune/study/study.jsonl");
    EXPECT_NE(journal.find("\"state\":\"pruned\""), std::string::npos);
    EXPECT_NE(r.output.find("best: trial"), std::string::npos);
  }
}

// Cross-validated trials: scored on every fold's test rows, reported and pruned fold by fold.
TEST(Cli, CrossValidatedTrialsArePrunedFoldByFold) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out data.h5 --samples 150 --steps 64", tmp.path()).exit_code, 0);
  std::string cfg = tune_config("random");
  cfg.replace(cfg.find("epochs: 2"), 9, "epochs: 3");
  cfg.replace(cfg.find("[0.001, 0.01, 0.1]"), 18, "[0.0001, 0.001, 0.01, 0.1]");
  cfg += "  cv: true\n  pruner: median\n  pruner_startup_trials: 2\n  pruner_warmup_steps: 1\n"
         "cv: {method: stratified_kfold, n_splits: 3}\n";
  test::write_text(tmp / "cv.yaml", cfg);
  auto r = test::run_cli("tune cv.yaml", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string journal = read_file(tmp / "runs/tune/study/study.jsonl");
  int complete_with_three = 0, pruned = 0;
  std::istringstream in(journal);
  std::string line;
  while (std::getline(in, line)) {
    auto rec = nlohmann::json::parse(line.substr(0, line.rfind('\t')));
    if (rec["op"] != "finish") continue;
    if (rec["state"] == "complete") {
      EXPECT_EQ(rec["fold_scores"].size(), 3u) << line;
      double mean = 0;
      for (auto& v : rec["fold_scores"]) mean += v.get<double>() / 3;
      EXPECT_NEAR(rec["value"].get<double>(), mean, 1e-12);
      ++complete_with_three;
    }
    if (rec["state"] == "pruned") {
      ++pruned;
      EXPECT_LT(rec["folds_run"].get<int>(), 3) << line;
    }
  }
  EXPECT_GE(complete_with_three, 2) << journal;
  EXPECT_GE(pruned, 1) << journal;
  EXPECT_NE(journal.find("\"fold\":2"), std::string::npos);  // reports name their fold
}

TEST(Cli, TrialsWithNanLossesFailWithTheirReasonAndTheStudyCompletes) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out data.h5 --samples 120 --steps 64", tmp.path()).exit_code, 0);
  std::string cfg = tune_config("grid");
  cfg.replace(cfg.find("[0.001, 0.01, 0.1]"), 18, "[0.001, 10.0, 9.0]");
  cfg.replace(cfg.find("hidden_units: [32]"), 18, "hidden_units: [256, 256]");
  test::write_text(tmp / "nan.yaml", cfg);
  auto r = test::run_cli("tune nan.yaml", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string csv = read_file(tmp / "runs/tune/study/trials.csv");
  int failed = 0, complete = 0;
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(",failed,") != std::string::npos) {
      ++failed;
      EXPECT_NE(line.find("training diverged"), std::string::npos) << line;
    }
    complete += line.find(",complete,") != std::string::npos;
  }
  EXPECT_GE(failed, 2) << csv;
  EXPECT_EQ(complete, 6 - failed) << csv;
  EXPECT_NE(r.output.find("best: trial"), std::string::npos);
}

// A study killed with SIGKILL while a trial runs: the rerun keeps every
// finished trial, continues the interrupted one from its last resume
// checkpoint, and (grid, random) ends with the table of an uninterrupted run.
TEST(Cli, KilledStudyResumes) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out data.h5 --samples 160 --steps 64", tmp.path()).exit_code, 0);
  for (const std::string sampler : {"grid", "random"}) {
    std::string cfg = tune_config(sampler);
    cfg.replace(cfg.find("epochs: 2"), 9, "epochs: 30");
    cfg += "runtime: {resume_min_interval_s: 0}\n";  // a checkpoint every epoch, for the kill to find
    test::write_text(tmp / (sampler + ".yaml"), cfg);
    auto ref = test::run_cli("tune " + sampler + ".yaml --threads 1 --set experiment.output_dir=ref_" + sampler, tmp.path());
    ASSERT_EQ(ref.exit_code, 0) << ref.output;
    fs::path journal = tmp / ("killed_" + sampler) / "tune/study/study.jsonl";
    std::string cmd = "cd '" + tmp.path().string() + "' && exec '" + TF_BINARY + "' tune " + sampler +
                      ".yaml --threads 1 --set experiment.output_dir=killed_" + sampler + " > first.log 2>&1";
    pid_t pid = fork();
    if (pid == 0) {
      setpgid(0, 0);
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Kill once two trials have finished and a third has started.
    auto count = [&](const std::string& what) {
      if (!fs::exists(journal)) return 0;
      std::string j = read_file(journal);
      int n = 0;
      for (size_t p = j.find(what); p != std::string::npos; p = j.find(what, p + 1)) ++n;
      return n;
    };
    // ... and has written a resume checkpoint (so the rerun continues it, not restarts it).
    fs::path third = journal.parent_path() / "trials/trial_0002/resume/state.json";
    for (int i = 0; i < 2400 && !(count("\"op\":\"finish\"") >= 2 && count("\"op\":\"start\"") >= 3 &&
                                  fs::exists(third));
         ++i)
      usleep(10000);
    kill(-pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    int finished = count("\"op\":\"finish\"");
    ASSERT_GE(finished, 2) << read_file(tmp / "first.log");
    ASSERT_LT(finished, 6) << "the study ended before it could be killed";
    auto r = test::run_cli("tune " + sampler + ".yaml --threads 1 --set experiment.output_dir=killed_" + sampler, tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("resuming with " + std::to_string(finished) + " finished"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("(again)"), std::string::npos) << "the interrupted trial was not rerun\n" << r.output;
    EXPECT_NE(r.output.find("trial_0002 at epoch"), std::string::npos)
        << "the interrupted trial did not continue from its checkpoint\n" << r.output;
    // No finished trial ran twice: exactly one finish record per trial.
    EXPECT_EQ(count("\"op\":\"finish\""), 6);
    EXPECT_EQ(test::trials_without_timing(tmp / ("killed_" + sampler) / "tune/study/trials.csv"),
              test::trials_without_timing(tmp / ("ref_" + sampler) / "tune/study/trials.csv"))
        << sampler;
  }
}

// Two jobs on one study at the same time (as several Slurm jobs would be):
// neither takes over the other's running trials, every trial runs once, and
// the table equals a single job's.
TEST(Cli, ConcurrentSessionsShareOneStudyWithoutStealingTrials) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out data.h5 --samples 160 --steps 64", tmp.path()).exit_code, 0);
  std::string cfg = tune_config("grid");
  cfg.replace(cfg.find("epochs: 2"), 9, "epochs: 150");  // trials of a good fraction of a second
  test::write_text(tmp / "grid.yaml", cfg);
  auto ref = test::run_cli("tune grid.yaml --threads 1 --set experiment.output_dir=ref", tmp.path());
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  test::CliResult a, b;
  std::thread ta([&] { a = test::run_cli("tune grid.yaml --threads 1 --set experiment.output_dir=shared", tmp.path()); });
  // The second job starts once the first one runs a trial: it must leave that trial alone.
  const fs::path journal_path = tmp / "shared/tune/study/study.jsonl";
  for (int i = 0; i < 3000; ++i) {
    if (fs::exists(journal_path) && read_file(journal_path).find("\"op\":\"start\"") != std::string::npos) break;
    usleep(10000);
  }
  std::thread tb([&] { b = test::run_cli("tune grid.yaml --threads 1 --set experiment.output_dir=shared", tmp.path()); });
  ta.join();
  tb.join();
  ASSERT_EQ(a.exit_code, 0) << a.output;
  ASSERT_EQ(b.exit_code, 0) << b.output;
  const fs::path dir = tmp / "shared/tune/study";
  std::string journal = read_file(dir / "study.jsonl");
  int finishes = 0, again = 0;
  for (size_t p = journal.find("\"op\":\"finish\""); p != std::string::npos; p = journal.find("\"op\":\"finish\"", p + 1))
    ++finishes;
  for (size_t p = journal.find("\"requeued\":true"); p != std::string::npos; p = journal.find("\"requeued\":true", p + 1))
    ++again;
  EXPECT_EQ(finishes, 6);
  EXPECT_EQ(again, 0) << "a live session's trial was taken over";
  // Both sessions did work.
  EXPECT_NE(a.output.find("starts trial_"), std::string::npos);
  EXPECT_NE(b.output.find("starts trial_"), std::string::npos);
  test::run_cli("study show " + dir.string(), tmp.path());
  EXPECT_EQ(test::trials_without_timing(dir / "trials.csv"), test::trials_without_timing(tmp / "ref/tune/study/trials.csv"));
}

}  // namespace tf

namespace tf {

// Classical models through the same commands: train, evaluate, predict, cv and
// a TPE study over svm.C and svm.gamma.
TEST(Cli, ClassicalModelsTrainEvaluatePredictCrossValidateAndTune) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out data.h5 --samples 240 --steps 128 --seed 5", tmp.path()).exit_code, 0);
  test::write_text(tmp / "c.yaml",
                   "experiment: {name: c, seed: 3, output_dir: runs}\n"
                   "data: {path: data.h5, validation_split: 0.2, test_split: 0.2}\n"
                   "model: {name: svm, random_forest: {n_estimators: 40}, gradient_boosting: {n_estimators: 30}}\n"
                   "cv: {method: stratified_kfold, n_splits: 3}\n"
                   "tuning:\n"
                   "  sampler: tpe\n"
                   "  n_trials: 8\n"
                   "  tpe_startup_trials: 3\n"
                   "  objective: val_f1_macro\n"
                   "  space:\n"
                   "    model.svm.C: {type: float, low: 0.1, high: 100, log: true}\n"
                   "    model.svm.gamma: {type: float, low: 0.001, high: 1, log: true}\n");
  for (const std::string m : {"svm", "random_forest", "gradient_boosting"}) {
    for (const std::string features : {"stats", "flatten"}) {
      const std::string id = m + "_" + features;
      auto r = test::run_cli("train c.yaml --set model.name=" + m + " --set model.features.kind=" + features +
                                 " --set experiment.run_id=" + id,
                             tmp.path());
      ASSERT_EQ(r.exit_code, 0) << r.output;
      const fs::path run = tmp / "runs/c" / id;
      auto summary = nlohmann::json::parse(read_file(run / "summary.json"));
      EXPECT_GT(summary["test"]["accuracy"].get<double>(), 0.5) << id;
      EXPECT_TRUE(fs::exists(run / "features.json"));
      auto ev = test::run_cli("evaluate runs/c/" + id + " --data data.h5 --out " + id + ".json", tmp.path());
      ASSERT_EQ(ev.exit_code, 0) << ev.output;
      EXPECT_TRUE(fs::exists(tmp / (id + ".json")));
      auto pr = test::run_cli("predict runs/c/" + id + " --data data.h5 --out " + id + ".csv", tmp.path());
      ASSERT_EQ(pr.exit_code, 0) << pr.output;
      std::string csv = read_file(tmp / (id + ".csv"));
      EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 241) << id;
    }
  }
  auto cv = test::run_cli("cv c.yaml --set model.name=random_forest", tmp.path());
  ASSERT_EQ(cv.exit_code, 0) << cv.output;
  EXPECT_NE(cv.output.find("mean+-sd"), std::string::npos);
  EXPECT_NE(cv.output.find("cv progress: 3/3 tasks done"), std::string::npos) << cv.output;
  auto tune = test::run_cli("tune c.yaml", tmp.path());
  ASSERT_EQ(tune.exit_code, 0) << tune.output;
  fs::path study;
  for (auto& e : fs::directory_iterator(tmp / "runs/c"))
    if (e.path().filename().string().rfind("study-", 0) == 0) study = e.path();
  std::string trials = read_file(study / "trials.csv");
  EXPECT_EQ(std::count(trials.begin(), trials.end(), '\n'), 9) << trials;
  EXPECT_EQ(trials.find(",failed,"), std::string::npos) << trials;
}

// Bad compare sections: exit 2, the message names the entry and field, no folder.
TEST(Cli, BadCompareEntriesAreRejectedBeforeAnythingRuns) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out data.h5 --samples 60 --steps 64", tmp.path()).exit_code, 0);
  const std::string head = "experiment: {name: cmp, output_dir: runs}\ndata: {path: data.h5}\ncv: {n_splits: 3}\n";
  const std::pair<std::string, std::string> cases[] = {
      {"compare: {entries: {a: {model: svm}}}", "at least two entries"},
      {"compare: {entries: {a: {model: xgb}, b: {model: svm}}}", "compare.entries.a.model"},
      {"compare: {entries: {a: {model: svm, set: {cv.n_splits: 5}}, b: {model: svm}}}", "compare.entries.a.set.cv.n_splits"},
      {"compare: {entries: {a: {model: svm, set: {model.svm.C: -1}}, b: {model: svm}}}", "model.svm.C"},
      {"compare: {entries: {a: {model: svm}, v: {ensemble: [a, zz]}}}", "compare.entries.v.ensemble"},
      {"compare: {entries: {a: {model: svm}, b: {model: svm}, v: {ensemble: [a, b], weights: [1]}}}",
       "compare.entries.v.weights"},
      {"compare: {entries: {a: {model: svm, colour: red}, b: {model: svm}}}", "compare.entries.a.colour"},
      {"compare: {metric: f2, entries: {a: {model: svm}, b: {model: svm}}}", "compare.metric"},
  };
  for (const auto& [yaml, expect] : cases) {
    test::write_text(tmp / "bad.yaml", head + yaml + "\n");
    auto r = test::run_cli("compare bad.yaml", tmp.path());
    EXPECT_EQ(r.exit_code, 2) << yaml << "\n" << r.output;
    EXPECT_NE(r.output.find(expect), std::string::npos) << yaml << "\n" << r.output;
    EXPECT_FALSE(fs::exists(tmp / "runs")) << yaml;
  }
}

}  // namespace tf

namespace tf {

TEST(Cli, ReportRejectsFoldersThatAreNoRuns) {
  test::TempDir tmp;
  fs::create_directories(tmp / "empty");
  auto r = test::run_cli("report empty", tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is not a trainfleet run"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "empty" / "report.html"));
  r = test::run_cli("report missing", tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("missing"), std::string::npos) << r.output;
}

}  // namespace tf

namespace tf {

// evaluate without --out prints the metrics and writes no file (make-data's
// default output path once leaked into it).
TEST(Cli, EvaluateWithoutOutWritesNothing) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out d.h5 --samples 80 --steps 64", tmp.path()).exit_code, 0);
  auto r = test::run_cli("train /dev/null --set data.path=d.h5 --set model.name=svm --set experiment.run_id=e",
                         tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_cli("evaluate runs/default/e --data d.h5", tmp.path());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("f1_macro"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "data"));
}

}  // namespace tf

namespace tf {

// On a terminal (a pseudo-terminal from script(1)) the epoch shows a bar
// redrawn in place; written to a file, the output has only the epoch lines.
TEST(Cli, ProgressBarOnlyOnATerminal) {
  if (std::system("command -v script > /dev/null 2>&1") != 0) GTEST_SKIP() << "script(1) not installed";
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out d.h5 --samples 300 --steps 256", tmp.path()).exit_code, 0);
  const std::string train = std::string("'") + TF_BINARY +
                            "' train /dev/null --set data.path=d.h5 --set training.epochs=2 --threads 1";
  const std::string cmd = "cd '" + tmp.path().string() + "' && TRAINFLEET_PROGRESS_INTERVAL_S=0.001 script -qfec \"" +
                          train + "\" tty.log > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string tty = read_file(tmp / "tty.log");
  EXPECT_NE(tty.find("\r  epoch 1/2 ["), std::string::npos) << tty;
  EXPECT_NE(tty.find("] step "), std::string::npos);
  EXPECT_NE(tty.find("epoch 2/2  loss"), std::string::npos);
  auto r = test::run_cli("train /dev/null --set data.path=d.h5 --set training.epochs=2 --threads 1", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find('\r'), std::string::npos);
  EXPECT_EQ(r.output.find("] step "), std::string::npos);
  EXPECT_NE(r.output.find("epoch 2/2  loss"), std::string::npos);
}

}  // namespace tf
