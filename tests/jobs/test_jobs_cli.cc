// The job layer's rules through the real binary: run-folder names, folders in
// use, and `train` with experiment.run_id killed at several points.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "core/fs.h"
#include "jobs/run_folder.h"
#include "test_util.h"

namespace tf {

namespace {
const char* kTrain =
    "experiment: {name: t, seed: 3, run_id: r1}\n"
    "data: {path: data.h5, validation_split: 0.2}\n"
    "model: {name: cnn1d, cnn1d: {channels: [8, 8], kernel_sizes: [5, 3], pool_size: 2}}\n"
    "training: {epochs: 12, batch_size: 16, callbacks: {early_stopping: false}}\n"
    "runtime: {resume_min_interval_s: 0}\n";

const char* kCv =
    "experiment: {name: cv, seed: 3}\n"
    "data: {path: data.h5, validation_split: 0.2}\n"
    "model: {name: mlp, mlp: {hidden_units: [8]}}\n"
    "training: {epochs: 1, batch_size: 32, callbacks: {early_stopping: false}}\n"
    "cv: {method: stratified_kfold, n_splits: 2}\n";

class JobsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = test::run_cli("make-data --out data.h5 --samples 120 --steps 64 --seed 4", tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    test::write_text(tmp / "train.yaml", kTrain);
    test::write_text(tmp / "cv.yaml", kCv);
  }

  // Starts `args` in the background (its own process group), output to `log`.
  pid_t start(const std::string& args, const std::string& log) {
    std::string cmd = "cd '" + tmp.path().string() + "' && exec '" + TF_BINARY + "' " + args + " > " + log + " 2>&1";
    pid_t pid = fork();
    if (pid == 0) {
      setpgid(0, 0);
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    return pid;
  }
  bool wait_for(const fs::path& p, double seconds = 60) {
    for (int i = 0; i < seconds * 40 && !fs::exists(p); ++i) usleep(25000);
    return fs::exists(p);
  }
  int end(pid_t pid, int sig) {
    kill(-pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  test::TempDir tmp;
};
}  // namespace

TEST_F(JobsCli, BadNamesExitTwoNamingTheKeyAndCreateNothing) {
  const std::pair<std::string, std::string> cases[] = {
      {"experiment.name=/", "experiment.name"},
      {"experiment.name=../../x", "experiment.name"},
      {"experiment.run_id=" + (tmp / "abs").string(), "experiment.run_id"},
      {"experiment.run_id=..", "experiment.run_id"},
      {"'experiment.name=\"a\\nb\"'", "experiment.name"},
      {"experiment.run_id=" + std::string(201, 'x'), "experiment.run_id"}};
  for (const std::string cmd : {"train train.yaml", "cv cv.yaml"}) {
    for (const auto& [set, key] : cases) {
      auto r = test::run_cli(cmd + " --threads 1 --set experiment.output_dir=out --set " + set, tmp.path());
      EXPECT_EQ(r.exit_code, 2) << cmd << " --set " << set << "\n" << r.output;
      EXPECT_NE(r.output.find(key), std::string::npos) << r.output;
    }
  }
  EXPECT_FALSE(fs::exists(tmp / "out"));
  EXPECT_FALSE(fs::exists(tmp / "abs"));
  EXPECT_FALSE(fs::exists(tmp.path().parent_path() / "x"));
}

// A second cv, compare or train on a folder in use is refused at once, naming
// the folder and the holder; once the holder is gone the folder is usable.
TEST_F(JobsCli, AFolderInUseIsRefusedAtOnceNamingTheHolder) {
  std::string compare = kCv;
  compare.replace(compare.find("seed: 3"), 7, "seed: 3, run_id: cmp");
  test::write_text(tmp / "compare.yaml", compare +
                                             "compare: {metric: accuracy, entries: {a: {model: mlp}, b: {model: mlp, "
                                             "set: {training.learning_rate: 0.01}}}}\n");
  auto dir_of = [&](const std::string& kind, const std::string& config) {
    auto r = test::run_cli("config --print-run-dir " + kind + " " + config, tmp.path());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return tmp / r.output.substr(0, r.output.find('\n'));
  };
  const std::pair<std::string, fs::path> jobs[] = {{"cv cv.yaml", dir_of("cv", "cv.yaml")},
                                                   {"compare compare.yaml", tmp / "runs/cv/cmp"},
                                                   {"train train.yaml", tmp / "runs/t/r1"}};
  for (const auto& [cmd, dir] : jobs) {
    fs::create_directories(dir);
    // The holder: another process with the folder's lock (as a running job holds it).
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t holder = fork();
    if (holder == 0) {
      close(p[0]);
      jobs::FolderLock lock(dir, "job");
      (void)!write(p[1], "x", 1);
      pause();
      _exit(0);
    }
    close(p[1]);
    char c;
    ASSERT_EQ(read(p[0], &c, 1), 1);
    close(p[0]);
    auto r = test::run_cli(cmd + " --threads 1", tmp.path());
    EXPECT_EQ(r.exit_code, 2) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find(dir.filename().string()), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("pid " + std::to_string(holder)), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir / "folds")) << "a refused job wrote into the folder";
    kill(holder, SIGKILL);  // dies holding the lock: the next job takes it over
    waitpid(holder, nullptr, 0);
    if (cmd.rfind("compare", 0) == 0) continue;  // (compare trains 4 folds: covered by the lock, not rerun here)
    r = test::run_cli(cmd + " --threads 1" + (cmd.rfind("train", 0) == 0 ? " --set training.epochs=1" : ""), tmp.path());
    EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.output;
  }
}

// train with experiment.run_id, SIGKILLed at several points: before its first
// checkpoint, after one, and right after it created its folder. Each rerun of
// the same command ends the run in the same folder with one clean history.
TEST_F(JobsCli, TrainWithRunIdKilledAtAnyPointFinishesWhenRerun) {
  const fs::path run = tmp / "runs/t/r1";
  const std::pair<std::string, fs::path> points[] = {
      {"config written", run / "config.yaml"},
      {"first resume checkpoint", run / "resume" / "state.json"},
      {"folder created", run}};
  for (const auto& [point, file] : points) {
    fs::remove_all(tmp / "runs");
    pid_t pid = start("train train.yaml --threads 1", "first.log");
    ASSERT_TRUE(wait_for(file)) << point << ": " << read_file(tmp / "first.log");
    end(pid, SIGKILL);
    ASSERT_FALSE(fs::exists(run / "summary.json")) << point << ": the run ended before it could be killed";
    auto r = test::run_cli("train train.yaml --threads 1", tmp.path());
    ASSERT_EQ(r.exit_code, 0) << point << "\n" << r.output;
    auto summary = nlohmann::json::parse(read_file(run / "summary.json"));
    EXPECT_EQ(summary["epochs_run"], 12) << point;
    const std::string history = read_file(run / "history.csv");
    EXPECT_EQ(history.find("epoch"), history.rfind("epoch")) << point << ": two header lines\n" << history;
    EXPECT_EQ(std::count(history.begin(), history.end(), '\n'), 13) << point << "\n" << history;
  }
}

// A stop says truthfully what a rerun will do: without a run_id, a new run.
TEST_F(JobsCli, AStopWithoutRunIdSaysARerunStartsANewRun) {
  std::string cfg = kTrain;
  cfg.replace(cfg.find(", run_id: r1"), 12, "");
  cfg.replace(cfg.find("epochs: 12"), 10, "epochs: 500");
  test::write_text(tmp / "norun.yaml", cfg);
  pid_t pid = start("train norun.yaml --threads 1", "stop.log");
  auto epochs_done = [&] {  // history.csv lines of the run's (time-stamped) folder
    if (!fs::exists(tmp / "runs/t")) return 0L;
    for (auto& e : fs::directory_iterator(tmp / "runs/t"))
      if (fs::exists(e.path() / "history.csv")) {
        const std::string h = read_file(e.path() / "history.csv");
        return static_cast<long>(std::count(h.begin(), h.end(), '\n')) - 1;
      }
    return 0L;
  };
  for (int i = 0; i < 2400 && epochs_done() < 1; ++i) usleep(25000);
  ASSERT_GE(epochs_done(), 1) << read_file(tmp / "stop.log");
  kill(-pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << read_file(tmp / "stop.log");
  EXPECT_EQ(WEXITSTATUS(status), 75) << read_file(tmp / "stop.log");
  const std::string log = read_file(tmp / "stop.log");
  EXPECT_NE(log.find("rerunning the same command starts a new run from the beginning"), std::string::npos) << log;
  EXPECT_EQ(log.find("rerun the same command to resume"), std::string::npos) << log;
}

}  // namespace tf
