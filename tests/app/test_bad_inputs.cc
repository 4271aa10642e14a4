// The bad-input corpus: every file in tests/app/bad_inputs/ is a config (some
// pointing at broken HDF5 files written below) that `trainfleet train` must
// reject with exit code 2, a message containing each `# expect:` line, and no
// run folder left behind.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>

#include "config/config.h"
#include "core/fs.h"
#include "data/h5io.h"
#include "data/synth.h"
#include "test_util.h"

namespace tf {

namespace {

using test::write_raw_h5;

void write_bad_data(const fs::path& dir) {
  const hsize_t n = 8, t = 32, c = 9;
  std::vector<float> x(n * t * c, 0.5f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.1 * i));
  std::vector<int64_t> y = {0, 1, 2, 3, 0, 1, 2, 3};
  std::vector<double> yf(y.begin(), y.end());
  std::vector<float> xnan = x;
  xnan[100] = std::nanf("");
  write_raw_h5(dir / "nan.h5", {{"X", H5T_NATIVE_FLOAT, {n, t, c}, xnan.data()}, {"y", H5T_NATIVE_INT64, {n}, y.data()}});
  write_raw_h5(dir / "label_range.h5", {{"X", H5T_NATIVE_FLOAT, {n, t, c}, x.data()}, {"y", H5T_NATIVE_INT64, {n}, y.data()}},
            {"quiet", "loud"});
  write_raw_h5(dir / "rank2.h5", {{"X", H5T_NATIVE_FLOAT, {n, t * c}, x.data()}, {"y", H5T_NATIVE_INT64, {n}, y.data()}});
  write_raw_h5(dir / "yfloat.h5", {{"X", H5T_NATIVE_FLOAT, {n, t, c}, x.data()}, {"y", H5T_NATIVE_DOUBLE, {n}, yf.data()}});
  write_raw_h5(dir / "ylen.h5", {{"X", H5T_NATIVE_FLOAT, {n, t, c}, x.data()}, {"y", H5T_NATIVE_INT64, {n - 2}, y.data()}});
  std::vector<int64_t> g(n + 1, 1);
  write_raw_h5(dir / "groups.h5", {{"X", H5T_NATIVE_FLOAT, {n, t, c}, x.data()},
                                {"y", H5T_NATIVE_INT64, {n}, y.data()},
                                {"groups", H5T_NATIVE_INT64, {n + 1}, g.data()}});
  std::vector<int64_t> one(n, 2);
  std::vector<int64_t> zero(n, 0);
  write_raw_h5(dir / "oneclass.h5", {{"X", H5T_NATIVE_FLOAT, {n, t, c}, x.data()}, {"y", H5T_NATIVE_INT64, {n}, zero.data()}});
  write_raw_h5(dir / "short_steps.h5", {{"X", H5T_NATIVE_FLOAT, {n, t / 2, c}, x.data()}, {"y", H5T_NATIVE_INT64, {n}, y.data()}});
  test::write_text(dir / "text.h5", "this is not HDF5\n");
  // Hostile files: a FIFO (would block a reader), a declared shape of 10^11
  // windows in a file of a few KiB, duplicate class names, a NaN time stamp.
  ::mkfifo((dir / "fifo.h5").c_str(), 0600);
  const hsize_t huge = 100000000000ULL;
  write_raw_h5(dir / "huge.h5", {{"X", H5T_NATIVE_FLOAT, {huge, t, c}, nullptr}, {"y", H5T_NATIVE_INT64, {huge}, nullptr}});
  write_raw_h5(dir / "dup_names.h5", {{"X", H5T_NATIVE_FLOAT, {n, t, c}, x.data()}, {"y", H5T_NATIVE_INT64, {n}, y.data()}},
               {"none", "leak", "leak", "big"});
  std::vector<double> time = {0, 1, 2, std::nan(""), 4, 5, 6, 7};
  write_raw_h5(dir / "time_nan.h5", {{"X", H5T_NATIVE_FLOAT, {n, t, c}, x.data()},
                                     {"y", H5T_NATIVE_INT64, {n}, y.data()},
                                     {"time", H5T_NATIVE_DOUBLE, {n}, time.data()}});
}

std::string substitute(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

}  // namespace

TEST(BadInputs, EveryCorpusFileExitsTwoNamingTheCulprit) {
  test::TempDir tmp("tf-bad");
  SynthOptions o;
  o.samples = 80;
  o.steps = 64;
  write_h5(tmp / "good.h5", make_airleak_data(o));
  write_bad_data(tmp.path());
  fs::path corpus = test::source_dir() / "tests/app/bad_inputs";
  int files = 0;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    std::string text = read_file(entry.path());
    std::vector<std::string> expects;
    std::regex re("# expect: (.*)");
    for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) expects.push_back((*it)[1]);
    ASSERT_FALSE(expects.empty()) << entry.path() << " has no '# expect:' line";
    text = substitute(substitute(text, "@DATA@", (tmp / "good.h5").string()), "@TMP@", tmp.path().string());
    fs::path cfg = tmp / "configs" / entry.path().filename().string();
    test::write_text(cfg, text);
    auto r = test::run_cli("train '" + cfg.string() + "' --set experiment.output_dir=runs", tmp.path());
    SCOPED_TRACE(entry.path().filename().string() + ":\n" + r.output);
    EXPECT_EQ(r.exit_code, 2);
    for (const auto& e : expects) EXPECT_NE(r.output.find(e), std::string::npos) << "missing: " << e;
    EXPECT_EQ(r.output.find("internal error"), std::string::npos);
    // Nothing was started: no run folder exists.
    if (fs::exists(tmp / "runs")) {
      for (const auto& exp : fs::directory_iterator(tmp / "runs")) EXPECT_TRUE(fs::is_empty(exp.path())) << exp.path();
    }
  }
  EXPECT_GE(files, 30);
}

TEST(BadInputs, CommandLineMistakesExitTwo) {
  test::TempDir tmp("tf-cli");
  for (const char* args : {"", "trian configs/x.yaml", "train", "train a.yaml --set", "evaluate runs/x",
                           "predict runs/x --data d.h5", "config", "config --print-defaults --check a.yaml",
                           "make-data --samples lots"}) {
    auto r = test::run_cli(args, tmp.path());
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
  }
  test::write_text(tmp / "c.yaml", "training: {epochs: 2}\n");
  auto r = test::run_cli("train c.yaml --set notakey", tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--set notakey"), std::string::npos) << r.output;
  r = test::run_cli("config --check c.yaml --set training.epochs=-1", tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("training.epochs"), std::string::npos) << r.output;
}

}  // namespace tf

namespace tf {

namespace {

// Runs the binary with stdout and stderr kept apart.
struct Split {
  int exit_code = -1;
  std::string out, err;
};
Split run_split(const std::string& args, const fs::path& cwd) {
  std::string cmd = "cd '" + cwd.string() + "' && '" + TF_BINARY + "' " + args + " > stdout.txt 2> stderr.txt";
  int st = std::system(cmd.c_str());
  Split s;
  s.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  s.out = read_file(cwd / "stdout.txt");
  s.err = read_file(cwd / "stderr.txt");
  return s;
}

}  // namespace

TEST(BadInputs, HostileFilesAndSizesExitTwo) {
  test::TempDir tmp("tf-hostile");
  fs::create_directories(tmp / "folder.yaml");
  auto r = test::run_cli("train folder.yaml", tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("config file folder.yaml is a folder"), std::string::npos) << r.output;
  r = test::run_cli("config --check folder.yaml", tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  // 10^8 windows of 1024 x 9 floats are 3.4 TiB: refused before writing, naming the numbers.
  r = test::run_cli("make-data --out big.h5 --samples 100000000", tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("100000000 windows x 1024 steps x 9 channels (float32) needs 3.4 TiB of disk"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(tmp / "big.h5"));
}

// An alias bomb of 9^10 values and a self-referencing alias end within a
// second of what the program needs to start and check a small config.
TEST(BadInputs, AliasBombsEndWithinASecond) {
  test::TempDir tmp("tf-bomb");
  auto seconds = [&](const std::string& file, int expect_code) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = test::run_cli("config --check '" + file + "'", tmp.path());
    EXPECT_EQ(r.exit_code, expect_code) << file << "\n" << r.output;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  test::write_text(tmp / "small.yaml", "training: {epochs: 2}\n");
  const double start = seconds((tmp / "small.yaml").string(), 0);
  for (const char* name : {"yaml_alias_bomb.yaml", "yaml_alias_cycle.yaml"})
    EXPECT_LT(seconds((test::source_dir() / "tests/app/bad_inputs" / name).string(), 2), start + 1.0) << name;
}

TEST(BadInputs, TuningSpacesThatCannotRunExitTwo) {
  test::TempDir tmp("tf-space");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{training.learning_rate: {type: float, low: 0.001, high: 0.1, step: 0}}",
       "tuning.space.training.learning_rate: step: expected a number > 0, got 0"},
      {"{training.epochs: {type: int, low: 1, high: 4, step: 0.5}}", "an int parameter needs a whole step, got 0.5"},
      {"{experiment.output_dir: {type: categorical, choices: [a, b]}}",
       "tuning.space.experiment.output_dir: cannot be tuned"},
      {"{tuning.n_trials: {type: int, low: 1, high: 4}}", "tuning.space.tuning.n_trials: cannot be tuned"},
      {"{training.learning_rate: {type: float, low: .nan, high: 0.1}}", "low: expected a finite number, got nan"},
      {"{training.learning_rate: {type: float, low: 0.001, high: .inf}}", "high: expected a finite number, got inf"},
      {"{training.learning_rate: {type: categorical, choices: [.nan, 0.1]}}", "value nan is not valid"},
  };
  int i = 0;
  for (const auto& [space, expect] : cases) {
    std::string name = "s" + std::to_string(i++) + ".yaml";
    test::write_text(tmp / name, "data: {path: absent.h5}\ntraining: {epochs: 1}\ntuning:\n  space: " + space + "\n");
    auto r = test::run_cli("tune " + name + " --set experiment.output_dir=runs", tmp.path());
    EXPECT_EQ(r.exit_code, 2) << space << "\n" << r.output;
    EXPECT_NE(r.output.find(expect), std::string::npos) << space << "\n" << r.output;
    EXPECT_FALSE(fs::exists(tmp / "runs")) << space;
  }
}

// stdout carries only the command's output; logs and errors go to stderr, uncoloured off a terminal.
TEST(BadInputs, StdoutCarriesOnlyTheOutput) {
  test::TempDir tmp("tf-streams");
  test::write_text(tmp / "c.yaml", "training: {learning_rate: 0.0001, epochs: 2}\nmodel: {mlp: {dropout: 0.9}}\n");
  auto s = run_split("config --check c.yaml", tmp.path());
  ASSERT_EQ(s.exit_code, 0) << s.err;
  test::write_text(tmp / "resolved.yaml", s.out);
  auto again = config::Config::load(tmp / "resolved.yaml");
  EXPECT_EQ(again.to_yaml(), s.out);
  EXPECT_NE(s.out.find("learning_rate: 1e-04\n"), std::string::npos) << s.out;  // shortest round-trip form
  EXPECT_NE(s.out.find("dropout: 0.9\n"), std::string::npos) << s.out;
  test::write_text(tmp / "bad.yaml", "training: {epochz: 2}\n");
  s = run_split("train bad.yaml", tmp.path());
  EXPECT_EQ(s.exit_code, 2);
  EXPECT_EQ(s.out, "");
  EXPECT_NE(s.err.find("training.epochz: unknown key"), std::string::npos) << s.err;
  EXPECT_EQ(s.err.find("\x1b["), std::string::npos) << s.err;
}

// Class names that need CSV quoting, and a named class without rows.
TEST(BadInputs, OddClassNamesAndEmptyClasses) {
  test::TempDir tmp("tf-names");
  const hsize_t n = 48, t = 64, c = 9;
  std::vector<float> x(n * t * c);
  std::vector<int64_t> y(n);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.01 * i));
  for (size_t i = 0; i < n; ++i) y[i] = static_cast<int64_t>(i % 3);
  write_raw_h5(tmp / "d.h5", {{"X", H5T_NATIVE_FLOAT, {n, t, c}, x.data()}, {"y", H5T_NATIVE_INT64, {n}, y.data()}},
               {"no,leak", "say \"hi\"", "two\nlines", "unused"});
  test::write_text(tmp / "c.yaml",
                   "experiment: {output_dir: runs, name: n, run_id: r}\ndata: {path: d.h5}\n"
                   "model: {name: mlp, mlp: {hidden_units: [8]}}\ntraining: {epochs: 1}\n");
  auto r = test::run_cli("train c.yaml", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("class 3 \"unused\" (attribute class_names) has no rows"), std::string::npos) << r.output;
  r = test::run_cli("predict runs/n/r --data d.h5 --out missing/p.csv", tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("folder missing does not exist"), std::string::npos) << r.output;
  r = test::run_cli("predict runs/n/r --data d.h5 --out p.csv", tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string csv = read_file(tmp / "p.csv");
  EXPECT_EQ(csv.rfind("row,pred,pred_name,\"p_no,leak\",\"p_say \"\"hi\"\"\",\"p_two\nlines\",p_unused\n", 0), 0u)
      << csv;
}

}  // namespace tf
