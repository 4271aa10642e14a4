// Run folders: the one place that knows their names, layouts and locks.
//
// Every folder a command writes lies in <experiment.output_dir>/<experiment.name>/<id>/:
//   train           id = experiment.run_id, or a UTC time stamp (a new folder per run);
//   cv              id = experiment.run_id, or "cv-" + a hash of the resolved config;
//   compare         id = experiment.run_id, or "compare-" + a hash;
//   tune            id = experiment.run_id, or "study-" + a hash.
// Names are checked (check_name) before anything is created, so nothing is
// ever written outside experiment.output_dir.
//
// Exclusive use: a resumable folder is locked (flock on <folder>/.lock, which
// records host and pid) while a job uses it. A second job on it is refused at
// once with BadInput naming the folder and the holder; the lock of a dead
// process is released by the kernel, so the next job takes it over.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "config/config.h"

namespace tf::jobs {

namespace fs = std::filesystem;

// The lock file inside a locked folder.
inline constexpr const char* kLockFile = ".lock";

// BadInput naming `key` unless `value` is a safe folder name: not empty, no
// '/', no "..", no control characters (newline, NUL, ...), at most 200 bytes.
void check_name(const std::string& key, const std::string& value);

// check_name for experiment.name and (when set) experiment.run_id.
void check_names(const config::Config& cfg);

// An flock held on <dir>/.lock for the life of the object (rank 0 of a job).
class FolderLock {
 public:
  enum class Mode { kExclusive, kShared };
  // Takes the lock at once or throws BadInput naming `dir`, `what` and the holder.
  FolderLock(const fs::path& dir, const std::string& what, Mode mode = Mode::kExclusive);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  int fd_ = -1;
};

// "host <name>, pid <n>" of the process holding <dir>/.lock, or "unknown".
std::string lock_holder(const fs::path& dir);

// Creates a new run folder `root/experiment/id` (id = UTC time stamp when
// empty) with mkdir, which fails when it exists: a run never writes into
// another run's folder. With an explicit id that exists already: BadInput.
fs::path create_run_dir(const fs::path& root, const std::string& experiment, const std::string& id);

// The folder of a resumable job (see the table above): run_id, or `prefix` + a
// hash of the resolved config, so that rerunning the same command finds it.
fs::path job_dir(const config::Config& cfg, const std::string& prefix);

// A resumable job's folder, opened and locked: created holding config.yaml,
// or accepted when it holds exactly this config already (a resume); BadInput
// for another config. `mode` kShared lets jobs that split the work between
// them (cv --tasks) share it, while refusing an exclusive user.
// `lock` false opens without the exclusive lock (tune: sessions join a study).
struct JobFolder {
  fs::path dir;
  std::unique_ptr<FolderLock> lock;
};
JobFolder open_job_folder(const config::Config& cfg, const std::string& prefix, const std::string& what,
                          bool lock = true, FolderLock::Mode mode = FolderLock::Mode::kExclusive);

// The folder of one unit of a resumable job (a fold, a trial): kept as it is
// when an interrupted attempt left a resume checkpoint in it (resume/state.json),
// else emptied and created afresh.
fs::path reuse_or_fresh(const fs::path& dir);

// The folder of `train`, locked for the life of the object:
//   without experiment.run_id, a new time-stamped folder;
//   with it, <output_dir>/<name>/<run_id>, created, or, when a run of the same
//   config was stopped in it at any point (killed, preempted), continued from
//   its resume checkpoint, or emptied and started again when it has none.
//   A finished run (summary.json) or a folder of another config: BadInput.
class TrainFolder {
 public:
  explicit TrainFolder(const config::Config& cfg);
  const fs::path& dir() const { return dir_; }
  // Whether the run continues from a resume checkpoint.
  bool resuming() const { return resuming_; }

 private:
  fs::path dir_;
  bool resuming_ = false;
  std::unique_ptr<FolderLock> lock_;
};

// What a rerun of `train` with this config does after a stop, for the
// message of a stopped run whose folder is `dir`.
std::string train_rerun_hint(const config::Config& cfg, const fs::path& dir);

}  // namespace tf::jobs
