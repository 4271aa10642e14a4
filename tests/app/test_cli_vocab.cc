// The seed user's first hour through the real binary: `config --check` refuses
// what `tune` and `compare` would, `pruner: none` means none, messages that say
// what to do, and the example studies in configs/.
#include <gtest/gtest.h>

#include <string>

#include "core/fs.h"
#include "test_util.h"

namespace tf {

namespace {
bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const char* kBase = R"(experiment: {name: v, seed: 1}
data: {path: d.h5}
model: {name: svm}
)";
}  // namespace

// Each bad section: `config --check` exits 2 with the message the command that
// reads the section gives.
TEST(CliVocabulary, ConfigCheckRejectsWhatTuneAndCompareWould) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out d.h5 --samples 60 --steps 64", tmp.path()).exit_code, 0);
  struct Case {
    std::string command, section, message;
  };
  const std::vector<Case> cases = {
      {"tune", "tuning: {space: {C: [1, 10]}}", "tuning.space.C: not a config key (did you mean model.svm.C?)"},
      {"tune", "tuning: {space: {model.svm.C: {type: float, low: 1, high: 2, lo: 1}}}",
       "tuning.space.model.svm.C: unknown field lo"},
      {"tune", "tuning: {space: {model.svm.C: [1, -1]}}", "tuning.space.model.svm.C: value -1 is not valid"},
      {"compare", "compare: {entries: {a: {model: xgboost}, b: {model: svm}}}",
       "compare.entries.a.model: expected one of"},
      {"compare", "compare: {entries: {a: {model: svm}, b: {model: random_forest}, v: {ensemble: [a, zz]}}}",
       "compare.entries.v.ensemble: \"zz\" is not another entry"},
  };
  for (const auto& c : cases) {
    test::write_text(tmp / "c.yaml", kBase + c.section + "\n");
    auto check = test::run_cli("config --check c.yaml", tmp.path());
    auto run = test::run_cli(c.command + " c.yaml", tmp.path());
    EXPECT_EQ(check.exit_code, 2) << c.section << "\n" << check.output;
    EXPECT_EQ(run.exit_code, 2) << c.section << "\n" << run.output;
    EXPECT_TRUE(has(check.output, c.message)) << check.output;
    EXPECT_TRUE(has(run.output, c.message)) << run.output;
  }
  // The list form passes both.
  test::write_text(tmp / "c.yaml", std::string(kBase) + "tuning: {sampler: grid, space: {model.svm.C: [1, 10]}}\n");
  auto check = test::run_cli("config --check c.yaml", tmp.path());
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_TRUE(has(check.output, "sampler: \"grid\"")) << check.output;
  // The seed's metrics: [accuracy]: the default objective is val_loss, and the log says why.
  check = test::run_cli("config --check c.yaml --set training.metrics=[accuracy]", tmp.path());
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_TRUE(has(check.output, "objective: \"val_loss\"")) << check.output;
  EXPECT_TRUE(has(check.output, "tuning.objective: val_loss (the default: val_f1_macro needs f1_macro in "
                                "training.metrics, which lists accuracy")) << check.output;
}

// pruner: none prunes nothing; the "cannot win" stop of cross-validated trials
// is tuning.cv_early_stop. Trial 1 (C = 0.001: one class for everything) cannot
// beat trial 0 after its first fold.
TEST(CliVocabulary, PrunerNoneMeansNoneAndCvEarlyStopIsItsOwnSwitch) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out d.h5 --samples 150 --steps 64", tmp.path()).exit_code, 0);
  test::write_text(tmp / "c.yaml", std::string(kBase) +
                                       "cv: {n_splits: 3}\n"
                                       "tuning: {sampler: grid, cv: true, pruner: none, objective: val_f1_macro,\n"
                                       "         space: {model.svm.C: [10, 0.001]}}\n");
  for (const std::string early : {"false", "true"}) {
    const std::string out = "early_stop_" + early;
    auto r = test::run_cli("tune c.yaml --set experiment.output_dir=" + out + " --set tuning.cv_early_stop=" + early,
                           tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::string trials;
    for (const auto& e : fs::recursive_directory_iterator(tmp / out))
      if (e.path().filename() == "trials.csv") trials = read_file(e.path());
    ASSERT_FALSE(trials.empty());
    EXPECT_EQ(has(trials, "pruned"), early == "true") << early << "\n" << trials;
  }
}

TEST(CliVocabulary, MessagesSayWhatToDo) {
  test::TempDir tmp;
  auto made = test::run_cli("make-data --out d.h5 --samples 60 --steps 64", tmp.path());
  EXPECT_TRUE(has(made.output, "to d.h5 (class counts")) << made.output;

  auto bogus = test::run_cli("bogus", tmp.path());
  EXPECT_EQ(bogus.exit_code, 2);
  EXPECT_TRUE(has(bogus.output, "unknown subcommand \"bogus\"") && has(bogus.output, " train") &&
              has(bogus.output, " tune") && has(bogus.output, " make-data"))
      << bogus.output;

  test::write_text(tmp / "c.yaml", "experiment: {name: m, run_id: cv1}\ndata: {path: missing.h5}\n"
                                   "model: {name: random_forest, random_forest: {n_estimators: 5}}\ncv: {n_splits: 2}\n");
  auto missing = test::run_cli("train c.yaml", tmp.path());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(has(missing.output, "missing.h5 does not exist") && has(missing.output, "data.path") &&
              has(missing.output, "trainfleet make-data --out missing.h5"))
      << missing.output;

  ASSERT_EQ(test::run_cli("cv c.yaml --set data.path=d.h5", tmp.path()).exit_code, 0);
  for (const char* cmd : {"evaluate", "predict"}) {
    auto r = test::run_cli(std::string(cmd) + " runs/m/cv1 --data d.h5" +
                               (std::string(cmd) == "predict" ? " --out p.csv" : ""),
                           tmp.path());
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_TRUE(has(r.output, "it is a CV folder") && has(r.output, "runs/m/cv1/folds/fold_00/")) << r.output;
  }
}

// "stopped early at epoch N", and the reduce-LR message after the epoch line it belongs to.
TEST(CliVocabulary, EarlyStopAndReduceLrAreLoggedAfterTheirEpoch) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out d.h5 --samples 80 --steps 64", tmp.path()).exit_code, 0);
  test::write_text(tmp / "c.yaml",
                   "experiment: {name: es, run_id: r}\ndata: {path: d.h5}\n"
                   "model: {name: mlp, mlp: {hidden_units: [8]}}\n"
                   "training: {epochs: 6, batch_size: 16, callbacks: {early_stopping_patience: 1,\n"
                   "  early_stopping_min_delta: 100, reduce_lr_on_plateau: true, reduce_lr_patience: 1,\n"
                   "  reduce_lr_min_delta: 100}}\n");
  auto r = test::run_cli("train c.yaml", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const size_t epoch2 = r.output.find("epoch 2/6"), reduce = r.output.find("epoch 2: reducing learning rate"),
               stopped = r.output.find("stopped early at epoch 2");
  ASSERT_NE(epoch2, std::string::npos) << r.output;
  ASSERT_NE(reduce, std::string::npos) << r.output;
  ASSERT_NE(stopped, std::string::npos) << r.output;
  EXPECT_LT(epoch2, reduce) << r.output;
  EXPECT_LT(epoch2, stopped) << r.output;
  EXPECT_FALSE(has(r.output, "epoch 3/6")) << r.output;
}

// configs/'s example studies, made tiny with --set.
TEST(CliVocabulary, ExampleStudiesRun) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out d.h5 --samples 120 --steps 64", tmp.path()).exit_code, 0);
  const fs::path configs = test::source_dir() / "configs";
  struct Example {
    std::string file, tiny;
    int trials;
  };
  const std::vector<Example> examples = {
      {"grid_random_forest.yaml", "--set tuning.n_trials=3 --set cv.n_splits=2", 3},
      {"random_svm.yaml", "--set tuning.n_trials=4 --set cv.n_splits=2", 4},
      {"bayesian_cnn1d.yaml",
       "--set tuning.n_trials=3 --set tuning.tpe_startup_trials=2 --set training.epochs=1 "
       "--set data.validation_split=0.25",
       3},
  };
  for (const auto& e : examples) {
    const std::string common = (configs / e.file).string() + " --set data.path=d.h5 --set experiment.run_id=s " + e.tiny;
    auto check = test::run_cli("config --check " + common, tmp.path());
    ASSERT_EQ(check.exit_code, 0) << e.file << "\n" << check.output;
    auto r = test::run_cli("tune " + common, tmp.path());
    ASSERT_EQ(r.exit_code, 0) << e.file << "\n" << r.output;
    std::string trials;
    for (const auto& f : fs::recursive_directory_iterator(tmp / "runs"))
      if (f.path().filename() == "trials.csv" && f.path().string().find(e.file.substr(0, e.file.size() - 5)) !=
                                                     std::string::npos)
        trials = read_file(f.path());
    int complete = 0;
    for (size_t p = trials.find(",complete,"); p != std::string::npos; p = trials.find(",complete,", p + 1)) ++complete;
    EXPECT_EQ(complete, e.trials) << e.file << "\n" << trials;
  }
}

}  // namespace tf
