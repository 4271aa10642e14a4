// The work queue of a job over rank groups: the one loop that `train` (several
// configs), `cv`, `compare` and `tune` run their tasks with.
//
// The world is split into groups (app/); each group runs one task at a time,
// data-parallel inside the group. Per task, on every rank of a group:
//   1. stop agreement: when any rank of the group was asked to stop (SIGUSR1,
//      SIGTERM), every rank throws Preempted (exit 75) between tasks;
//   2. the group's first rank picks the next task (`next`), broadcast to the group;
//   3. every rank runs it (`run`) on a communicator of its own for the task;
//   4. the group decides together: one all-gather of a status word per rank
//      (ok, failed, bad input, stopped); every rank catches its exception at
//      the task boundary, and a failing rank first tells its peers
//      (report_failure), so none is left waiting in a collective;
//   5. the same decision on every rank: `done` after success; after a failure,
//      `failed` (tune: the trial fails, the next one runs) or, when `failed` is
//      empty, the job aborts on every rank with an error naming the failing
//      rank and its reason.
// At the end every group waits for the others (finish), then all stop together.
//
// Rank contract: every rank of the world builds one WorkQueue with the same
// Job, calls run() once and then finish(), as every rank of its group does.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "comm/communicator.h"

namespace tf::jobs {

struct Job {
  Communicator& world;
  Communicator& group;  // this rank's group
  int group_id = 0, groups = 1;
  double timeout_s = 600;     // runtime.collective_timeout_s
  std::string unit = "task";  // "fold", "trial", "config": in messages
};

// A failure the group agreed on: the same on every rank of the group.
struct Failure {
  int world_rank = -1;  // the first rank that failed
  int code = 1;         // its exit code (1 internal, 2 bad input)
  std::string reason;   // its error message
  std::string text() const { return "rank " + std::to_string(world_rank) + " failed: " + reason; }
};

class WorkQueue {
 public:
  explicit WorkQueue(Job job);
  ~WorkQueue();

  struct Hooks {
    std::function<std::string()> next;  // group's first rank: the next task, "" when none is left
    std::function<void(Communicator& work, const std::string& task)> run;  // every rank of the group
    std::function<void(const std::string& task)> done;                     // every rank, after success
    std::function<void(const std::string& task, const Failure&)> failed;   // every rank; empty: abort
  };
  // Runs tasks until `next` returns "". Returns the number of tasks this group ran.
  int64_t run(const Hooks& hooks);

  // Waits for every rank of the world; throws Preempted on every rank when any
  // rank was stopped by a signal (the job's results are then incomplete).
  void finish();

  const Job& job() const { return job_; }

 private:
  Job job_;
  std::unique_ptr<Communicator> work_;
};

// The next index in [0, n) from `counter` (shared by the world) for which
// `skip(i)` is false (empty `skip`: none skipped), or -1; for the `next` hook of a job with a task list.
int64_t next_index(SharedCounter& counter, int64_t n, const std::function<bool(int64_t)>& skip);

// Progress and ETA lines, at this session's pace:
// "<what> progress: 3/10 <done_label><detail>, ETA 1m02s".
class Progress {
 public:
  // `total` tasks, `done_at_start` of them finished before this session, run
  // by `groups` groups in parallel.
  Progress(int64_t total, int64_t done_at_start, int groups);
  std::string line(const std::string& what, int64_t done, const std::string& done_label,
                   const std::string& detail) const;
  // Tasks running now: the groups, or fewer when fewer tasks are left.
  int64_t running(int64_t done) const;

 private:
  int64_t total_, done_at_start_;
  int groups_;
  std::chrono::steady_clock::time_point start_;
};

// Copies rank `root`'s string to every rank of `comm` (collective).
std::string broadcast_string_from(Communicator& comm, std::string s, int root);

}  // namespace tf::jobs
