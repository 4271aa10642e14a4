// The study journal: an append-only file of JSON records, one per line, each
// ended by a CRC-32 of its text ("<json>\t<crc hex>\n") and fsync'd. Readers
// replay it (tune/replay.h): a torn last line (a writer killed mid-append) is
// left until it is complete or followed by another line, and a damaged or
// misfitting line is skipped with one warning naming its line number. An
// append that fails (disk full) removes its partial line and throws IoError.
// Appends happen under an exclusive lock on a
// neighbouring lock file, so several processes (rank groups, several Slurm
// jobs on a shared file system) can work on one study without a server.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "tune/replay.h"

namespace tf::tune {

class Journal {
 public:
  // `warn`: log skipped lines (false where another reader of the same
  // process has already reported them).
  explicit Journal(std::filesystem::path path, bool warn = true);

  // Exclusive access across processes while the guard lives (flock).
  class Lock {
   public:
    explicit Lock(const Journal& j);
    ~Lock();
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

   private:
    int fd_;
  };

  // The study as the journal tells it (call under a Lock for a consistent
  // view). Lines replayed before are kept: a call reads only what was
  // appended since, and warns once about each line it skips (unless quiet).
  const StudyState& read() const;
  // Line numbers (1-based) that replay skipped so far.
  const std::vector<int64_t>& skipped_lines() const { return skipped_; }
  // Appends one record (call under a Lock) and, when `durable`, fsyncs it
  // before returning. Per-epoch reports skip the fsync: losing the last few
  // to a power cut only affects pruning decisions, never a trial's result.
  void append(const nlohmann::json& record, bool durable = true) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_, lock_path_;
  bool warn_;
  mutable Replay replay_;
  mutable std::vector<int64_t> skipped_;
  mutable uint64_t parsed_bytes_ = 0;  // complete lines consumed so far
};

// Refuses (BadInput, exit 2) a journal that lost records of finished trials:
// a folder trials/trial_NNNN of `study_dir` holds summary.json while the
// journal `s` of `j` does not show that trial finished (and no live session
// runs it). Running such a trial again would overwrite its results.
void check_results_kept(const Journal& j, const StudyState& s, const std::filesystem::path& study_dir);

// A session's claim of liveness: the session holds an exclusive flock on
// sessions/<id>.lock in the study folder for as long as its process lives
// (the kernel drops it when the process dies, SIGKILL included). Another
// session decides whether a "running" trial is orphaned by trying that lock.
class SessionLock {
 public:
  SessionLock(const std::filesystem::path& study_dir, const std::string& session);
  ~SessionLock();
  SessionLock(const SessionLock&) = delete;
  SessionLock& operator=(const SessionLock&) = delete;
  // Whether `session` of `study_dir` still runs (its lock is held).
  static bool alive(const std::filesystem::path& study_dir, const std::string& session);

 private:
  int fd_ = -1;
};

}  // namespace tf::tune
