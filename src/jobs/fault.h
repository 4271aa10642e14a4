// Failure injection, a test hook: makes one rank fail at the start of one task
// of a job, to test that the group decides together (see jobs/queue.h).
//
//   TRAINFLEET_FAULT_INJECT=rank:1,task:0
//
// fails world rank 1 at the start of its group's first task (tasks counted
// from 0 per group). Unset (always, in production) it does nothing. This is
// the only place that reads the variable.
#pragma once

#include <cstdint>

namespace tf::jobs {

// Throws Error("injected fault ...") when TRAINFLEET_FAULT_INJECT names this
// world rank and this task; BadInput when the variable is malformed.
void maybe_inject_fault(int world_rank, int64_t task);

}  // namespace tf::jobs
