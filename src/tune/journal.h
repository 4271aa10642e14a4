// The study journal: an append-only file of JSON records, one per line, each
// ended by a CRC-32 of its text ("<json>\t<crc hex>\n") and fsync'd. Readers
// skip a torn last line (a writer killed mid-append) and stop with an error at
// a corrupt line elsewhere. Appends happen under an exclusive lock on a
// neighbouring lock file, so several processes (rank groups, several Slurm
// jobs on a shared file system) can work on one study without a server.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

namespace tf::tune {

uint32_t crc32(const std::string& s);

class Journal {
 public:
  explicit Journal(std::filesystem::path path);

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

  // Every intact record, in order (call under a Lock for a consistent view).
  // Records parsed before are kept: a call reads only what was appended since.
  const std::vector<nlohmann::json>& read() const;
  // Appends one record (call under a Lock) and, when `durable`, fsyncs it
  // before returning. Per-epoch reports skip the fsync: losing the last few
  // to a power cut only affects pruning decisions, never a trial's result.
  void append(const nlohmann::json& record, bool durable = true) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_, lock_path_;
  mutable std::vector<nlohmann::json> records_;
  mutable uint64_t parsed_bytes_ = 0;  // complete lines consumed so far
};

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
