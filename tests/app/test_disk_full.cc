// A full disk, for real: a small tmpfs the test mounts as the output folder,
// filled by a ballast file to several levels. Every write error must end the
// command with exit 1 and one line naming the file and "No space left on
// device": no stack trace, no abort, no temp file left, and every file
// written before it still whole. Skipped where mounting is not permitted.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/fs.h"
#include "test_util.h"

namespace tf {

namespace {

const char* kTrain = R"(
experiment: {name: full, seed: 1, run_id: run}
data: {path: ../data.h5, validation_split: 0.25, test_split: 0.0}
model: {name: mlp, mlp: {hidden_units: [64], dropout: 0.0}}
training: {epochs: 3, batch_size: 32, optimizer: adam,
           callbacks: {early_stopping: false, model_checkpoint: true, tensorboard: true}}
runtime: {resume_every_epochs: 1, resume_min_interval_s: 0}
)";

const char* kTune = R"(
experiment: {name: fulltune, seed: 1, run_id: study}
data: {path: ../data.h5, validation_split: 0.25, test_split: 0.0}
model: {name: mlp, mlp: {hidden_units: [64], dropout: 0.0}}
training: {epochs: 2, batch_size: 32, optimizer: adam, callbacks: {early_stopping: false, model_checkpoint: true}}
runtime: {resume_every_epochs: 1, resume_min_interval_s: 0}
tuning:
  sampler: random
  n_trials: 3
  space:
    training.learning_rate: {type: float, low: 1.0e-3, high: 1.0e-1, log: true}
)";

// A tmpfs of `kib` KiB mounted on `dir` while the object lives.
class Tmpfs {
 public:
  Tmpfs(const fs::path& dir, int kib) : dir_(dir) {
    fs::create_directories(dir);
    const std::string opts = "size=" + std::to_string(kib) + "k";
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0;
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  uint64_t used() const {
    struct statvfs s {};
    ::statvfs(dir_.c_str(), &s);
    return (s.f_blocks - s.f_bfree) * s.f_frsize;
  }
  uint64_t size() const {
    struct statvfs s {};
    ::statvfs(dir_.c_str(), &s);
    return s.f_blocks * s.f_frsize;
  }

 private:
  fs::path dir_;
  bool mounted_ = false;
};

// Empties the disk, then fills it with a ballast file to leave `free_bytes`.
void fill_to(const Tmpfs& disk, const fs::path& dir, uint64_t free_bytes) {
  for (const auto& e : fs::directory_iterator(dir)) fs::remove_all(e.path());
  const uint64_t ballast = disk.size() > free_bytes ? disk.size() - free_bytes : 0;
  std::ofstream(dir / "ballast", std::ios::binary) << std::string(ballast, 'b');
}

// What a failed run must leave: exit 1, one error line naming a file on the
// disk and the system's reason, no temp files, every JSON file parsing,
// history.csv with whole lines. Returns the file the error named.
std::string check_failed_cleanly(const test::CliResult& r, const fs::path& disk) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Exception raised from"), std::string::npos) << r.output;
  std::string named;
  int error_lines = 0;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    if (line.find("] error ") == std::string::npos) continue;
    ++error_lines;
    const size_t at = line.find("cannot write ");
    if (at != std::string::npos && line.find(": No space left on device") != std::string::npos) {
      named = line.substr(at + 13, line.find(": No space left on device") - at - 13);
      EXPECT_EQ(named.find(disk.string()), 0u) << line;
    }
  }
  EXPECT_EQ(error_lines, 1) << r.output;
  EXPECT_FALSE(named.empty()) << r.output;
  for (const auto& e : fs::recursive_directory_iterator(disk)) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp."), std::string::npos) << e.path();
    if (e.path().extension() == ".json") {
      EXPECT_FALSE(nlohmann::json::parse(read_file(e.path()), nullptr, false).is_discarded()) << e.path();
    }
    if (name == "history.csv") {
      const std::string text = read_file(e.path());
      EXPECT_TRUE(text.empty() || text.back() == '\n') << e.path();
    }
  }
  return fs::path(named).filename().string();
}

}  // namespace

TEST(DiskFull, TrainAndTuneEndWithOneMessageAndNoTempFiles) {
  test::TempDir tmp;
  Tmpfs disk(tmp / "disk", 4096);
  if (!disk.mounted()) GTEST_SKIP() << "mounting a tmpfs is not permitted here (needs root): disk-full test skipped";
  ASSERT_EQ(test::run_cli("make-data --out data.h5 --samples 200 --steps 128", tmp.path()).exit_code, 0);
  test::write_text(tmp / "train.yaml", kTrain);
  const fs::path d = tmp / "disk";
  fill_to(disk, d, disk.size());
  auto full = test::run_cli("train ../train.yaml --threads 1 --set experiment.output_dir=" + d.string(), d);
  ASSERT_EQ(full.exit_code, 0) << full.output;
  const uint64_t used = disk.used();
  // Free space from nothing to just short of what the whole run needs.
  std::set<std::string> failed_at;
  for (uint64_t free_bytes : {uint64_t{0}, uint64_t{4096}, used / 8, used / 4, used / 2, used * 3 / 4, used - 4096}) {
    SCOPED_TRACE("free bytes " + std::to_string(free_bytes));
    fill_to(disk, d, free_bytes);
    auto r = test::run_cli("train ../train.yaml --threads 1 --set experiment.output_dir=" + d.string(), d);
    failed_at.insert(check_failed_cleanly(r, d));
  }
  std::string names;
  for (const auto& n : failed_at) names += " " + n;
  std::printf("train failed cleanly at:%s\n", names.c_str());
  EXPECT_GE(failed_at.size(), 4u) << names;
  EXPECT_TRUE(failed_at.count("config.yaml")) << names;

  test::write_text(tmp / "tune.yaml", kTune);
  fill_to(disk, d, used / 2);
  auto r = test::run_cli("tune ../tune.yaml --threads 1 --set experiment.output_dir=" + d.string(), d);
  check_failed_cleanly(r, d);
}

}  // namespace tf
