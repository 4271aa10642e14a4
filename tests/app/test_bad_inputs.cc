// The bad-input corpus: every file in tests/app/bad_inputs/ is a config (some
// pointing at broken HDF5 files written below) that `trainfleet train` must
// reject with exit code 2, a message containing each `# expect:` line, and no
// run folder left behind.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <fstream>
#include <regex>

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
