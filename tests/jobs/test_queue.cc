// The work queue (jobs/queue.h) on one rank: the decisions it takes after a
// task (done, failed, aborted naming the rank, stopped), the fault-injection
// hook, the shared counter and the progress line. Across ranks: test_jobs_mpi.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "comm/communicator.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "jobs/fault.h"
#include "jobs/queue.h"

namespace tf::jobs {

namespace {
struct Fixture {
  LocalComm world, group;
  Job job{world, group, 0, 1, 60, "trial"};
  std::vector<std::string> tasks = {"a", "b", "c"};
  size_t next = 0;
  std::function<std::string()> pick = [this] { return next < tasks.size() ? tasks[next++] : std::string(); };
};
}  // namespace

TEST(WorkQueue, RunsEveryTaskThenDoneAndRecordsFailuresWithTheRankAndReason) {
  Fixture f;
  WorkQueue q(f.job);
  std::vector<std::string> done, failed;
  const int64_t ran = q.run({f.pick,
                             [](Communicator&, const std::string& t) {
                               if (t == "b") throw BadInput("tuning.space: bad value", __FILE__, __LINE__);
                             },
                             [&](const std::string& t) { done.push_back(t); },
                             [&](const std::string& t, const Failure& e) { failed.push_back(t + "|" + e.text()); }});
  EXPECT_EQ(ran, 3);
  EXPECT_EQ(done, (std::vector<std::string>{"a", "c"}));
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0], "b|rank 0 failed: tuning.space: bad value");
  EXPECT_NO_THROW(q.finish());
}

TEST(WorkQueue, WithoutAFailureHookTheJobAbortsNamingTheRankWithTheTasksExitCode) {
  Fixture f;
  WorkQueue q(f.job);
  std::vector<std::string> done;
  auto run = [&](bool bad_input) {
    f.next = 0;
    q.run({f.pick,
           [&](Communicator&, const std::string& t) {
             if (t != "b") return;
             if (bad_input) throw BadInput("data.path: missing", __FILE__, __LINE__);
             throw std::runtime_error("out of memory");
           },
           [&](const std::string& t) { done.push_back(t); },
           {}});
  };
  try {
    run(false);
    FAIL() << "expected the job to abort";
  } catch (const BadInput&) {
    FAIL() << "an internal error became bad input";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0 failed: internal error: out of memory"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run(true), BadInput);
  EXPECT_EQ(done, (std::vector<std::string>{"a", "a"}));  // nothing after the failed task
}

TEST(WorkQueue, AStopBetweenTasksOrInsideOneEndsWithPreempted) {
  Fixture f;
  WorkQueue q(f.job);
  int runs = 0;
  set_stop_requested(SIGTERM);
  EXPECT_THROW(q.run({f.pick, [&](Communicator&, const std::string&) { ++runs; }, {}, {}}), Preempted);
  set_stop_requested(0);
  EXPECT_EQ(runs, 0);
  try {
    q.run({f.pick, [](Communicator&, const std::string&) { throw Preempted("stopped at epoch 2", __FILE__, __LINE__); },
           {}, [](const std::string&, const Failure&) { FAIL() << "a stop is no failure"; }});
    FAIL() << "expected Preempted";
  } catch (const Preempted& e) {
    EXPECT_EQ(std::string(e.what()), "stopped at epoch 2");
  }
}

TEST(WorkQueue, TheFaultHookHasThreeFormsAndRefusesOthers) {
  ::setenv("TRAINFLEET_FAULT_INJECT", "rank:1,epoch:3", 1);
  EXPECT_EQ(injected_fault_epoch(1), 3);
  EXPECT_EQ(injected_fault_epoch(0), -1);
  EXPECT_NO_THROW(maybe_inject_fault(1, 3));  // an epoch fault is no task fault
  EXPECT_EQ(injected_epoch_delay_ms(), 0);
  ::setenv("TRAINFLEET_FAULT_INJECT", "slow:30", 1);
  EXPECT_EQ(injected_epoch_delay_ms(), 30);
  EXPECT_EQ(injected_fault_epoch(1), -1);  // slowing is no fault
  EXPECT_NO_THROW(maybe_inject_fault(1, 0));
  for (const char* bad : {"rank:1,when:3", "rank:1,task:2x", "1:4", "rank:x,task:0", "rank:-1,task:0", "rank:0,epoch:0",
                          "slow:0", "slow:-5", "slow:30ms", "slow:", "slow:600000"}) {
    ::setenv("TRAINFLEET_FAULT_INJECT", bad, 1);
    EXPECT_THROW(injected_fault_epoch(0), BadInput) << bad;
    EXPECT_THROW(injected_epoch_delay_ms(), BadInput) << bad;
  }
  ::unsetenv("TRAINFLEET_FAULT_INJECT");
  EXPECT_EQ(injected_fault_epoch(1), -1);
}

TEST(WorkQueue, TheFaultInjectionHookFailsTheNamedRankAndTask) {
  Fixture f;
  WorkQueue q(f.job);
  std::vector<std::string> failed;
  ::setenv("TRAINFLEET_FAULT_INJECT", "rank:0,task:1", 1);
  q.run({f.pick, [](Communicator&, const std::string&) {}, {},
         [&](const std::string& t, const Failure& e) { failed.push_back(t + "|" + e.reason); }});
  ::unsetenv("TRAINFLEET_FAULT_INJECT");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].substr(0, 2), "b|");
  EXPECT_NE(failed[0].find("injected fault"), std::string::npos);
}

TEST(WorkQueue, NextIndexSkipsAndProgressGivesAnEta) {
  LocalComm one;
  auto counter = one.make_counter();
  EXPECT_EQ(next_index(*counter, 5, [](int64_t i) { return i < 2; }), 2);
  EXPECT_EQ(next_index(*counter, 5, {}), 3);
  EXPECT_EQ(next_index(*counter, 5, [](int64_t i) { return i == 4; }), -1);
  Progress p(10, 2, 4);
  EXPECT_EQ(p.line("cv", 2, "tasks done", ""), "cv progress: 2/10 tasks done");  // no pace yet: no ETA
  EXPECT_NE(p.line("cv", 4, "tasks done", ", x").find("cv progress: 4/10 tasks done, x, ETA "), std::string::npos);
  EXPECT_EQ(p.running(8), 2);
  EXPECT_EQ(p.running(1), 4);
}

}  // namespace tf::jobs
