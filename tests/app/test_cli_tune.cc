// `trainfleet tune` through the real binary: samplers, pruners, cross-validated
// trials, failures, kills and resumes, concurrent sessions.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <thread>
#include <tuple>

#include "core/fs.h"
#include "test_util.h"

namespace tf {

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

// How often `what` occurs in a file (0 when it does not exist yet).
int count_in(const fs::path& file, const std::string& what) {
  if (!fs::exists(file)) return 0;
  const std::string text = read_file(file);
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

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
  // Grid order: keys sorted (training.batch_size, training.learning_rate), the
  // last varying fastest; every point once, in that order.
  std::istringstream grid(read_file(tmp / "grid/tune/study/trials.csv"));
  std::string line;
  std::getline(grid, line);
  ASSERT_EQ(line, "number,state,value,duration_s,group,training.batch_size,training.learning_rate,reason");
  const std::vector<std::pair<std::string, std::string>> order = {
      {"16", "0.001"}, {"16", "0.01"}, {"16", "0.1"}, {"32", "0.001"}, {"32", "0.01"}, {"32", "0.1"}};
  for (size_t i = 0; i < order.size(); ++i) {
    ASSERT_TRUE(std::getline(grid, line)) << "trial " << i;
    std::vector<std::string> cols;
    std::istringstream row(line);
    for (std::string c; std::getline(row, c, ',');) cols.push_back(c);
    ASSERT_GE(cols.size(), 7u) << line;
    EXPECT_EQ(cols[0], std::to_string(i)) << line;
    EXPECT_EQ(cols[1], "complete") << line;
    EXPECT_EQ(cols[5], order[i].first) << line;
    EXPECT_EQ(cols[6], order[i].second) << line;
  }
  auto r = test::run_cli("tune --suggest-space lstm", tmp.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("model.lstm.hidden_size"), std::string::npos) << r.output;
  r = test::run_cli("tune grid.yaml --set experiment.output_dir=grid --retrain-best", tmp.path());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(tmp / "grid/tune/study/retrain"));
  // Given the study folder, `evaluate` names the retrained model's folder.
  r = test::run_cli("evaluate grid/tune/study --data data.h5", tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  const std::string hint = "its retrained best model is grid/tune/study/retrain/";
  const size_t at = r.output.find(hint);
  ASSERT_NE(at, std::string::npos) << r.output;
  const std::string id = r.output.substr(at + hint.size(), r.output.find('/', at + hint.size()) - at - hint.size());
  EXPECT_TRUE(fs::exists(tmp / "grid/tune/study/retrain" / id / "model.pt")) << r.output;
}

namespace {
// One study's journal as the test reads it: per trial its reports
// (epoch -> value, in journal order), its finish state, and all reports in
// the order they were written.
struct StudyRun {
  std::vector<std::tuple<int64_t, int64_t, double>> reports;  // (trial, epoch, value)
  std::map<int64_t, std::string> state;
  std::map<int64_t, int64_t> last_epoch;
};

StudyRun read_study(const fs::path& dir) {
  StudyRun s;
  std::istringstream journal(read_file(dir / "study.jsonl"));
  for (std::string line; std::getline(journal, line);) {
    const auto rec = nlohmann::json::parse(line.substr(0, line.rfind('\t')));
    if (rec.at("op") == "report") {
      s.reports.emplace_back(rec.at("trial").get<int64_t>(), rec.at("epoch").get<int64_t>(), rec.at("value").get<double>());
      s.last_epoch[rec.at("trial").get<int64_t>()] = rec.at("epoch").get<int64_t>();
    }
    if (rec.at("op") == "finish") s.state[rec.at("trial").get<int64_t>()] = rec.at("state").get<std::string>();
  }
  return s;
}

// Where each trial should stop, written out from the successive-halving rule
// of src/tune/pruner.h (Optuna's SuccessiveHalvingPruner), replayed over the
// reports in the order the single group wrote them. The objective is val_loss
// (minimised). Trial t is in bracket b = t mod brackets, whose rungs are at
// min_resource * factor^(b + k) epochs. At a rung, the trial's value joins the
// values reported there by its bracket so far (its own included); sorted
// best first, the cut is the value at index max(0, count / factor - 1), and
// the trial stops when the cut is strictly better than its value. Returns,
// per trial, the epoch it should stop at: the rung where it is pruned, or
// `epochs` (complete) when it passes every rung.
struct Expected {
  std::map<int64_t, int64_t> stop;
  std::map<int64_t, bool> pruned;
};
Expected successive_halving(const StudyRun& run, int64_t brackets, int64_t min_resource, int64_t factor,
                            int64_t epochs) {
  Expected x;
  std::map<std::pair<int64_t, int64_t>, std::vector<double>> at_rung;  // (bracket, epoch) -> values
  for (const auto& [t, e, v] : run.reports) {
    if (!x.stop.count(t)) x.stop[t] = epochs, x.pruned[t] = false;
    if (x.pruned[t]) continue;  // reports after a stop: the product went on, the comparison below shows it
    const int64_t b = t % brackets;
    auto& values = at_rung[{b, e}];
    values.push_back(v);
    int64_t rung = min_resource;
    for (int64_t s = 0; s < b; ++s) rung *= factor;
    while (rung < e) rung *= factor;
    if (rung != e) continue;  // not a rung of this bracket
    std::vector<double> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    const int64_t idx = std::max<int64_t>(0, static_cast<int64_t>(sorted.size()) / factor - 1);
    if (sorted[static_cast<size_t>(idx)] < v) x.stop[t] = e, x.pruned[t] = true;
  }
  return x;
}
}  // namespace

// ASHA and Hyperband stop trials at the rungs the successive-halving rule
// gives for their values, the best trial runs all epochs, and Hyperband's
// brackets (first rungs at 1, 3 and 9 epochs) stop other trials than ASHA.
TEST(Cli, AshaAndHyperbandPruneAtRungs) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out data.h5 --samples 120 --steps 64", tmp.path()).exit_code, 0);
  std::map<std::string, Expected> replayed;
  std::map<std::string, StudyRun> runs;
  for (const std::string pruner : {"asha", "hyperband"}) {
    std::string cfg = tune_config("random");
    cfg.replace(cfg.find("epochs: 2"), 9, "epochs: 9");
    cfg.replace(cfg.find("n_trials: 6"), 11, "n_trials: 8");
    cfg.replace(cfg.find("[0.001, 0.01, 0.1]"), 18, "[0.0001, 0.001, 0.01, 0.1, 0.5]");
    cfg += "  objective: val_loss\n  pruner: " + pruner + "\n  pruner_min_resource: 1\n  pruner_reduction_factor: 3\n";
    test::write_text(tmp / (pruner + ".yaml"), cfg);
    auto r = test::run_cli("tune " + pruner + ".yaml --threads 1 --set experiment.output_dir=" + pruner, tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("best: trial"), std::string::npos);
    const fs::path dir = tmp / pruner / "tune/study";
    const StudyRun run = read_study(dir);
    ASSERT_EQ(run.state.size(), 8u) << pruner;
    // 9 epochs from min resource 1 by factor 3: Hyperband has 3 brackets.
    const Expected x = successive_halving(run, pruner == "hyperband" ? 3 : 1, 1, 3, 9);
    int pruned = 0;
    for (const auto& [t, st] : run.state) {
      EXPECT_EQ(run.last_epoch.at(t), x.stop.at(t)) << pruner << " trial " << t;
      EXPECT_EQ(st, x.pruned.at(t) ? "pruned" : "complete") << pruner << " trial " << t;
      pruned += st == "pruned";
    }
    EXPECT_GE(pruned, 2) << pruner;  // the rule really stopped trials here
    // The best trial is complete after all 9 epochs, and no trial's 9th epoch beat it.
    const auto best = nlohmann::json::parse(read_file(dir / "best_trial.json"));
    const int64_t b = best.at("number");
    EXPECT_EQ(run.state.at(b), "complete") << pruner;
    EXPECT_EQ(run.last_epoch.at(b), 9) << pruner;
    for (const auto& [t, e, v] : run.reports)
      if (e == 9) EXPECT_GE(v, best.at("value").get<double>() - 1e-12) << pruner << " trial " << t;
    replayed[pruner] = x;
    runs[pruner] = run;
  }
  // Both studies ran the same trials (the random sampler's values depend on
  // seed and trial number only; one thread): the same trial reports the same
  // value at the same epoch, so only the brackets make the stops differ.
  std::map<std::pair<int64_t, int64_t>, double> asha_value;
  for (const auto& [t, e, v] : runs["asha"].reports) asha_value[{t, e}] = v;
  for (const auto& [t, e, v] : runs["hyperband"].reports)
    if (asha_value.count({t, e})) EXPECT_EQ(v, (asha_value[{t, e}])) << "trial " << t << " epoch " << e;
  // Hyperband's brackets: trials 1, 4, 7 reach epoch 3 at least, trials 2, 5 run all 9.
  for (const auto& [t, e] : runs["hyperband"].last_epoch) {
    if (t % 3 == 1) EXPECT_GE(e, 3) << "hyperband trial " << t;
    if (t % 3 == 2) EXPECT_EQ(e, 9) << "hyperband trial " << t;
  }
  // ... which here stops other trials, or at other epochs, than ASHA.
  EXPECT_NE(runs["asha"].last_epoch, runs["hyperband"].last_epoch);
  // And the journal of Hyperband is not what one bracket would have made of it.
  const Expected one = successive_halving(runs["hyperband"], 1, 1, 3, 9);
  EXPECT_NE(one.stop, replayed["hyperband"].stop);
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
    auto count = [&](const std::string& what) { return count_in(journal, what); };
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
  for (int i = 0; i < 3000 && count_in(journal_path, "\"op\":\"start\"") == 0; ++i) usleep(10000);
  std::thread tb([&] { b = test::run_cli("tune grid.yaml --threads 1 --set experiment.output_dir=shared", tmp.path()); });
  ta.join();
  tb.join();
  ASSERT_EQ(a.exit_code, 0) << a.output;
  ASSERT_EQ(b.exit_code, 0) << b.output;
  const fs::path dir = tmp / "shared/tune/study";
  EXPECT_EQ(count_in(dir / "study.jsonl", "\"op\":\"finish\""), 6);
  EXPECT_EQ(count_in(dir / "study.jsonl", "\"requeued\":true"), 0) << "a live session's trial was taken over";
  // Both sessions did work.
  EXPECT_NE(a.output.find("starts trial_"), std::string::npos);
  EXPECT_NE(b.output.find("starts trial_"), std::string::npos);
  test::run_cli("study show " + dir.string(), tmp.path());
  EXPECT_EQ(test::trials_without_timing(dir / "trials.csv"), test::trials_without_timing(tmp / "ref/tune/study/trials.csv"));
}

}  // namespace tf
