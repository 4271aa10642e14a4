// Streaming through the CLI: a run whose rows exceed data.cache_mb reads
// them from the file batch by batch, says so, ends with the results of the
// in-memory run, and its peak memory does not grow with the data.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fs.h"
#include "test_util.h"

namespace tf {

namespace {
const char* kConfig = R"(
experiment: {name: s, output_dir: runs, seed: 5}
data: {path: data.h5, test_split: 0.25, validation_split: 0.2}
model: {name: mlp, mlp: {hidden_units: [16], dropout: 0.1}}
training: {epochs: 2, batch_size: 32, learning_rate: 0.005, metrics: [accuracy]}
)";

struct Measured {
  int exit_code = -1;
  long max_rss_kb = 0;  // the child's peak resident memory (getrusage through wait4)
  std::string output;
};

// Runs trainfleet with `args` in `cwd` as a child of this process alone, so
// that wait4 reports that child's own peak memory.
Measured run_measured(const std::vector<std::string>& args, const fs::path& cwd) {
  const fs::path log = cwd / "child.log";
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) ::_exit(127);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(TF_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(TF_BINARY, argv.data());
    ::_exit(127);
  }
  Measured r;
  int status = 0;
  struct rusage ru {};
  ::wait4(pid, &status, 0, &ru);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.max_rss_kb = ru.ru_maxrss;
  r.output = read_file(log);
  return r;
}

nlohmann::json summary_of(const fs::path& runs) {
  for (const auto& e : fs::recursive_directory_iterator(runs))
    if (e.path().filename() == "summary.json") return nlohmann::json::parse(read_file(e.path()));
  return {};
}
}  // namespace

TEST(CliStream, RowsOverTheCacheAreStreamedWithTheSameResults) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out data.h5 --samples 300 --steps 256 --seed 2", tmp.path()).exit_code, 0);
  test::write_text(tmp / "c.yaml", kConfig);  // 300 windows of 9 KiB: 2.6 MiB
  nlohmann::json results[2];
  for (int streamed = 0; streamed < 2; ++streamed) {
    const std::string runs = streamed ? "streamed" : "cached";
    auto r = test::run_cli("train c.yaml --set experiment.output_dir=" + runs +
                               " --set data.cache_mb=" + (streamed ? "1" : "100"),
                           tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output.find("streamed from the file") != std::string::npos, streamed == 1) << r.output;
    nlohmann::json s = summary_of(tmp / runs);
    EXPECT_EQ(s["data"]["streamed"].get<bool>(), streamed == 1);
    results[streamed] = {s["val"], s["test"]};
  }
  EXPECT_EQ(results[0], results[1]);
}

TEST(CliStream, StreamingKeepsPeakMemoryBelowTheInMemoryRun) {
  test::TempDir tmp;
  // 1500 windows [1024 x 9]: 55 MiB of rows.
  ASSERT_EQ(test::run_cli("make-data --out data.h5 --samples 1500 --steps 1024 --seed 2", tmp.path()).exit_code, 0);
  test::write_text(tmp / "c.yaml", kConfig);
  long rss[2] = {0, 0};
  for (int streamed = 0; streamed < 2; ++streamed) {
    Measured r = run_measured({"train", "c.yaml", "--set", "training.epochs=1", "--set",
                          std::string("data.cache_mb=") + (streamed ? "8" : "1000"), "--set",
                          std::string("experiment.output_dir=") + (streamed ? "s" : "c")},
                         tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(summary_of(tmp / (streamed ? "s" : "c"))["data"]["streamed"].get<bool>(), streamed == 1);
    rss[streamed] = r.max_rss_kb;
  }
  // In memory, a rank holds the 55 MiB of rows (measured: 56 MiB more peak
  // memory than streamed); streamed, a few batches and chunks.
  EXPECT_LT(rss[1] + 35 * 1024, rss[0]) << "streamed " << rss[1] << " KiB, in memory " << rss[0] << " KiB";
}

}  // namespace tf
