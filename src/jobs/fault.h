// Failure injection, a test hook: makes one rank fail at one point of a job,
// to test that a group decides together (see jobs/queue.h), or slows every
// rank down. Three forms:
//
//   TRAINFLEET_FAULT_INJECT=rank:1,task:0    world rank 1 fails at the start of
//                                            its group's first task (tasks
//                                            counted from 0 per group);
//   TRAINFLEET_FAULT_INJECT=rank:1,epoch:4   rank 1 of a training group fails
//                                            halfway through epoch 4 (from 1),
//                                            while its peers are in the
//                                            gradient all-reduce;
//   TRAINFLEET_FAULT_INJECT=slow:30          every rank sleeps 30 ms at the
//                                            start of each training epoch, so
//                                            that a test can signal, preempt or
//                                            kill a run mid-way however fast
//                                            the machine (results unchanged).
//
// Unset (always, in production) it does nothing. This is the only place that
// reads the variable.
#pragma once

#include <cstdint>

namespace tf::jobs {

// Throws Error("injected fault ...") when TRAINFLEET_FAULT_INJECT names this
// world rank and this task; BadInput when the variable is malformed.
void maybe_inject_fault(int world_rank, int64_t task);

// The epoch in which group rank `group_rank` is to fail (-1: none).
int64_t injected_fault_epoch(int group_rank);

// Milliseconds to sleep at the start of each epoch (0: none).
int64_t injected_epoch_delay_ms();

// Throws the injected fault's Error, naming `where`.
[[noreturn]] void throw_injected_fault(const char* where);

}  // namespace tf::jobs
