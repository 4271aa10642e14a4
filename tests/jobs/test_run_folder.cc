// Run folders (jobs/run_folder.h): names, locks held by real processes, and
// the states a killed `train` can leave its folder in.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <functional>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "core/error.h"
#include "core/fs.h"
#include "jobs/run_folder.h"
#include "jobs/same_program.h"
#include "test_util.h"

namespace tf::jobs {

namespace {
config::Config cfg_in(const fs::path& out, const std::string& name, const std::string& run_id, int epochs = 3) {
  nlohmann::json doc = {{"experiment", {{"name", name}, {"run_id", run_id}, {"output_dir", out.string()}}},
                        {"training", {{"epochs", epochs}}}};
  return config::Config::resolve(doc);
}

std::string bad_input(const std::function<void()>& f) {
  try {
    f();
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}

// A child process that takes the lock of `dir`, says so through a pipe, and
// holds it until killed.
pid_t hold_lock_in_child(const fs::path& dir) {
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    FolderLock lock(dir, "CV");
    char c = 1;
    (void)!::write(p[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  ::close(p[1]);
  char c = 0;
  EXPECT_EQ(::read(p[0], &c, 1), 1);
  ::close(p[0]);
  return pid;
}
}  // namespace

TEST(RunFolder, NamesThatWouldLeaveTheOutputFolderAreRefusedNamingTheKey) {
  for (const std::string& bad : std::vector<std::string>{"/", "../../x", "a/b", "/abs/path", "..", ".", "", std::string("a\nb"),
                                std::string("a\0b", 3), std::string(201, 'x'), "tab\there"}) {
    std::string msg = bad_input([&] { check_name("experiment.run_id", bad); });
    EXPECT_NE(msg.find("experiment.run_id"), std::string::npos) << "accepted: " << bad;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "the message must stay one line: " << msg;
  }
  for (const std::string& good : std::vector<std::string>{"default", "run-1", "cv_2026.12.02", std::string(200, 'x'), "Ünïcode"})
    EXPECT_EQ(bad_input([&] { check_name("experiment.name", good); }), "") << good;
}

TEST(RunFolder, NothingIsCreatedForABadName) {
  test::TempDir tmp;
  const fs::path out = tmp / "out";
  EXPECT_NE(bad_input([&] { open_job_folder(cfg_in(out, "../escape", ""), "cv-", "CV"); }).find("experiment.name"),
            std::string::npos);
  EXPECT_NE(bad_input([&] { TrainFolder f(cfg_in(out, "n", "../../x")); }).find("experiment.run_id"),
            std::string::npos);
  EXPECT_NE(bad_input([&] { create_run_dir(out, "/", ""); }).find("experiment.name"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(tmp.path().parent_path() / "escape"));
}

TEST(RunFolder, RunDirIsNeverReused) {
  test::TempDir dir;
  auto a = create_run_dir(dir.path(), "exp", "");
  auto b = create_run_dir(dir.path(), "exp", "");
  EXPECT_NE(a, b);
  EXPECT_TRUE(fs::is_directory(a));
  EXPECT_TRUE(fs::is_directory(b));
  auto c = create_run_dir(dir.path(), "exp", "fixed");
  EXPECT_EQ(c.filename(), "fixed");
  EXPECT_NE(bad_input([&] { create_run_dir(dir.path(), "exp", "fixed"); }).find("exists already"), std::string::npos);
}

TEST(RunFolder, AFolderInUseIsRefusedNamingItsHolderAndADeadHoldersLockIsTakenOver) {
  test::TempDir tmp;
  const fs::path dir = tmp / "cv";
  fs::create_directories(dir);
  pid_t holder = hold_lock_in_child(dir);
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  const std::string msg = bad_input([&] { FolderLock second(dir, "CV"); });
  EXPECT_NE(msg.find(dir.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("pid " + std::to_string(holder)), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::string("host ") + host), std::string::npos) << msg;
  // Shared users (cv --tasks) are refused too while an exclusive job holds it.
  EXPECT_NE(bad_input([&] { FolderLock s(dir, "CV", FolderLock::Mode::kShared); }), "");
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  // The holder died without cleaning up: its lock file is still there, its lock is not.
  EXPECT_TRUE(fs::exists(dir / kLockFile));
  FolderLock taken(dir, "CV");
  EXPECT_NE(lock_holder(dir).find("pid " + std::to_string(::getpid())), std::string::npos);
}

TEST(RunFolder, SharedLocksCoexistButExcludeAnExclusiveOne) {
  test::TempDir tmp;
  FolderLock a(tmp.path(), "CV", FolderLock::Mode::kShared);
  pid_t pid = ::fork();
  if (pid == 0) {  // another process: a second array task shares, an exclusive job is refused
    bool ok = true;
    try {
      FolderLock b(tmp.path(), "CV", FolderLock::Mode::kShared);
    } catch (...) {
      ok = false;
    }
    try {
      FolderLock c(tmp.path(), "CV");
      ok = false;
    } catch (const BadInput&) {
    }
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(RunFolder, JobFolderRefusesAnotherConfig) {
  test::TempDir tmp;
  auto a = cfg_in(tmp.path(), "e", "same", 3), b = cfg_in(tmp.path(), "e", "same", 4);
  { JobFolder f = open_job_folder(a, "cv-", "CV"); }
  { JobFolder again = open_job_folder(a, "cv-", "CV"); }  // a resume: accepted
  EXPECT_NE(bad_input([&] { open_job_folder(b, "cv-", "CV"); }).find("different config"), std::string::npos);
}

// The states a `train` with experiment.run_id leaves behind when it is killed,
// in the order they arise; each rerun continues or starts again in place.
TEST(RunFolder, TrainFolderContinuesOrRestartsAfterAKillAtAnyPoint) {
  test::TempDir tmp;
  const auto cfg = cfg_in(tmp.path(), "t", "r1");
  const fs::path dir = tmp / "t" / "r1";
  {  // killed right after mkdir (only the lock file)
    fs::create_directories(dir);
    test::write_text(dir / kLockFile, "host x, pid 1\n");
    TrainFolder f(cfg);
    EXPECT_EQ(f.dir(), dir);
    EXPECT_FALSE(f.resuming());
  }
  {  // killed while writing its first file: only the lock and a temp file
    test::write_text(dir / "config.yaml.tmp.4242", "experiment:");
    TrainFolder f(cfg);
    EXPECT_FALSE(f.resuming());
    EXPECT_FALSE(fs::exists(dir / "config.yaml.tmp.4242"));
  }
  {  // killed before the first resume checkpoint: emptied and started again
    test::write_text(dir / "config.yaml", cfg.to_yaml());
    test::write_text(dir / "history.csv", "epoch,loss\n1,0.5\n");
    TrainFolder f(cfg);
    EXPECT_FALSE(f.resuming());
    EXPECT_FALSE(fs::exists(dir / "history.csv"));
    EXPECT_NE(train_rerun_hint(cfg, dir).find("starts this run again"), std::string::npos);
  }
  {  // killed after a resume checkpoint: continued, nothing removed
    test::write_text(dir / "config.yaml", cfg.to_yaml());
    test::write_text(dir / "history.csv", "epoch,loss\n1,0.5\n");
    fs::create_directories(dir / "resume");
    test::write_text(dir / "resume" / "state.json", "{}\n");
    TrainFolder f(cfg);
    EXPECT_TRUE(f.resuming());
    EXPECT_TRUE(fs::exists(dir / "history.csv"));
    EXPECT_NE(train_rerun_hint(cfg, dir).find("continues this run"), std::string::npos);
  }
  // Another config in the folder, a finished run, foreign files: refused, untouched.
  EXPECT_NE(bad_input([&] { TrainFolder f(cfg_in(tmp.path(), "t", "r1", 9)); }).find("another config"),
            std::string::npos);
  test::write_text(dir / "summary.json", "{}\n");
  EXPECT_NE(bad_input([&] { TrainFolder f(cfg); }).find("exists already"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "history.csv"));
  fs::create_directories(tmp / "t" / "foreign");
  test::write_text(tmp / "t" / "foreign" / "notes.txt", "mine");
  EXPECT_NE(bad_input([&] { TrainFolder f(cfg_in(tmp.path(), "t", "foreign")); }), "");
  EXPECT_EQ(read_file(tmp / "t" / "foreign" / "notes.txt"), "mine");
  // Without a run_id a stop is never continued: the hint says so.
  EXPECT_NE(train_rerun_hint(cfg_in(tmp.path(), "t", ""), dir).find("new run from the beginning"), std::string::npos);
}

TEST(SameProgram, OneRankAlwaysAgreesAndTheHashSeesEveryByte) {
  LocalComm one;
  EXPECT_NO_THROW(check_same_program(one, {"cv", "a.yaml"}, "x"));
  EXPECT_NE(text_hash("cv a.yaml"), text_hash("cv b.yaml"));
  EXPECT_EQ(text_hash("abc"), text_hash("abc"));
}

}  // namespace tf::jobs
