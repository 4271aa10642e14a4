// Graceful stop on SIGUSR1 / SIGTERM (Slurm's warning signal, preemption,
// time limits, `kill`).
//
// The handler only records the signal. Long-running loops poll
// stop_requested() at safe points (after a training step, before the next
// fold or trial); ranks of one run agree on it through a collective (see the
// trainer), write their resume checkpoints, and throw Preempted. The
// program then exits with kExitPreempted (75, EX_TEMPFAIL), which the Slurm
// scripts in slurm/ turn into `scontrol requeue`; rerunning the same command
// resumes from the checkpoints. A second signal of the same kind while the
// first is being handled falls back to the default action (terminate).
#pragma once

#include <string>

#include "core/error.h"

namespace tf {

constexpr int kExitPreempted = 75;

// Installs the handlers for SIGUSR1 and SIGTERM (idempotent).
void install_stop_handlers();

// The signal number that asked this process to stop, or 0.
int stop_requested();

// For tests: pretend signal `sig` arrived (0 clears).
void set_stop_requested(int sig);

// "SIGUSR1", "SIGTERM", ...
std::string signal_name(int sig);

// Thrown on every rank of a run once they agreed to stop: checkpoints are
// written; the process should exit with kExitPreempted.
class Preempted : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return kExitPreempted; }
};

// Preempted, thrown after every rank of the world took the stop decision
// together (WorkQueue::finish): main must not meet the other ranks again.
class PreemptedTogether : public Preempted {
 public:
  using Preempted::Preempted;
};

}  // namespace tf
