#include "jobs/queue.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "core/error.h"
#include "core/interrupt.h"
#include "jobs/fault.h"

namespace tf::jobs {

namespace {

// Status words, by precedence: a write error (a full or failing disk: not the
// task's fault, so the whole command stops) outranks a rank's own failure,
// which outranks a rank that only saw a peer fail, which outranks a stop.
constexpr int64_t kOk = 0, kStopped = 1, kPeerFailed = 2, kFailed = 3, kWriteFailed = 4;

struct Outcome {
  int64_t status = kOk;
  int code = kExitOk;
  std::string message;
};

// Runs one task on this rank, catching at the task boundary.
Outcome run_one(const std::function<void()>& task) {
  Outcome o;
  try {
    task();
  } catch (const Preempted& e) {
    o = {kStopped, kExitPreempted, e.what()};
  } catch (const PeerFailed& e) {
    o = {kPeerFailed, kExitInternal, e.what()};
  } catch (const IoError& e) {
    o = {kWriteFailed, e.exit_code(), e.what()};
  } catch (const Error& e) {
    o = {kFailed, e.exit_code(), e.what()};
  } catch (const std::exception& e) {
    o = {kFailed, kExitInternal, std::string("internal error: ") + e.what()};
  }
  return o;
}

// The group's decision: one all-gather of (status, exit code, world rank) per
// rank, then the message of the rank whose status ranks first.
struct Decision {
  int64_t status = kOk;
  Failure failure;
};

Decision agree(Communicator& group, int world_rank, const Outcome& mine) {
  const int n = group.size();
  int64_t word[3] = {mine.status, mine.code, world_rank};
  std::vector<int64_t> all(static_cast<size_t>(3 * n));
  group.allgather(word, all.data(), sizeof word);
  Decision d;
  int root = -1;
  for (int r = 0; r < n; ++r) {
    const int64_t s = all[static_cast<size_t>(3 * r)];
    if (s > d.status) {
      d.status = s;
      root = r;
    }
  }
  if (root < 0) return d;
  d.failure.code = static_cast<int>(all[static_cast<size_t>(3 * root + 1)]);
  d.failure.world_rank = static_cast<int>(all[static_cast<size_t>(3 * root + 2)]);
  d.failure.reason = broadcast_string_from(group, mine.message, root);
  return d;
}

}  // namespace

std::string broadcast_string_from(Communicator& comm, std::string s, int root) {
  uint64_t n = s.size();
  comm.broadcast(&n, sizeof n, root);
  s.resize(n);
  comm.broadcast(s.data(), n, root);
  return s;
}

WorkQueue::WorkQueue(Job job) : job_(std::move(job)) { work_ = job_.group.split(0, job_.group.rank()); }

WorkQueue::~WorkQueue() = default;

int64_t WorkQueue::run(const Hooks& h) {
  Communicator& group = job_.group;
  int64_t ran = 0;
  for (;; ++ran) {
    if (stop_agreed(group))
      throw Preempted("stopped by " + signal_name(stop_requested()) + " between " + job_.unit +
                          "s; rerun the same command to continue",
                      __FILE__, __LINE__);
    std::string task;
    if (group.rank() == 0) task = h.next();
    task = broadcast_string_from(group, task, 0);
    if (task.empty()) return ran;
    Outcome mine = run_one([&] {
      try {
        maybe_inject_fault(job_.world.rank(), ran);
        h.run(*work_, task);
      } catch (const Preempted&) {
        throw;  // every rank of the group agreed to stop inside the task
      } catch (...) {
        work_->report_failure();  // peers waiting in a collective of this task give up
        throw;
      }
    });
    const Decision d = agree(group, job_.world.rank(), mine);
    if (d.status == kOk) {
      if (h.done) h.done(task);
      continue;
    }
    if (d.status == kStopped) throw Preempted(d.failure.reason, __FILE__, __LINE__);
    if (d.status == kWriteFailed) throw Error(d.failure.reason, __FILE__, __LINE__);  // the same line on every rank
    // Failed: the task's communicator may hold collectives some ranks left
    // half-way; the next task gets a fresh one (the old one is let go
    // unfreed, as MPI cannot cancel a pending collective).
    (void)work_.release();
    work_ = group.split(0, group.rank());
    if (!h.failed) {
      const std::string text = job_.unit + " " + task.substr(0, 80) + ": " + d.failure.text();
      if (d.failure.code == kExitBadInput) throw BadInput(text, __FILE__, __LINE__);
      throw Error(text, __FILE__, __LINE__);
    }
    h.failed(task, d.failure);
  }
}

void WorkQueue::finish() {
  job_.world.set_timeout(30.0 * 24 * 3600);  // waiting for other groups is not a hang
  const bool stopped = stop_agreed(job_.world);
  job_.world.set_timeout(job_.timeout_s);
  if (stopped)
    throw PreemptedTogether("stopped by " + signal_name(stop_requested()) + "; rerun the same command to continue", __FILE__,
                    __LINE__);
}

int64_t next_index(SharedCounter& counter, int64_t n, const std::function<bool(int64_t)>& skip) {
  int64_t i;
  do {
    i = counter.next();
  } while (i < n && skip && skip(i));
  return i < n ? i : -1;
}

Progress::Progress(int64_t total, int64_t done_at_start, int groups)
    : total_(total), done_at_start_(done_at_start), groups_(groups), start_(std::chrono::steady_clock::now()) {}

int64_t Progress::running(int64_t done) const {
  return std::min<int64_t>(std::max<int64_t>(0, total_ - done), groups_);
}

std::string Progress::line(const std::string& what, int64_t done, const std::string& done_label,
                           const std::string& detail) const {
  const int64_t left = std::max<int64_t>(0, total_ - done);
  std::string s = what + " progress: " + std::to_string(done) + "/" + std::to_string(total_) + " " + done_label + detail;
  const int64_t here = done - done_at_start_;  // finished during this session: its pace
  if (here > 0 && left > 0) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = elapsed / static_cast<double>(here) * static_cast<double>(left);
    char buf[64];
    std::snprintf(buf, sizeof buf, ", ETA %dm%02ds", static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    s += buf;
  }
  return s;
}

}  // namespace tf::jobs
