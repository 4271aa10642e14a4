#include "jobs/fault.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace tf::jobs {

namespace {

struct Fault {
  long long rank = -1, task = -1, epoch = -1, slow_ms = 0;
};

Fault parse_fault() {
  Fault f;
  const char* spec = std::getenv("TRAINFLEET_FAULT_INJECT");
  if (!spec || !*spec) return f;
  int used = 0;
  if (std::string(spec).rfind("slow:", 0) == 0) {
    if (std::sscanf(spec, "slow:%lld%n", &f.slow_ms, &used) != 1 || spec[used] != '\0' || f.slow_ms < 1 ||
        f.slow_ms > 60000)
      throw BadInput(std::string("TRAINFLEET_FAULT_INJECT: \"") + spec + "\": slow:MS takes 1 to 60000 milliseconds",
                     __FILE__, __LINE__);
    return f;
  }
  char kind[8] = {0};
  long long at = -1;
  if (std::sscanf(spec, "rank:%lld,%7[a-z]:%lld%n", &f.rank, kind, &at, &used) != 3 || spec[used] != '\0' ||
      (std::string(kind) != "task" && std::string(kind) != "epoch"))
    throw BadInput(std::string("TRAINFLEET_FAULT_INJECT: \"") + spec + "\" is none of rank:R,task:T, rank:R,epoch:E, slow:MS",
                   __FILE__, __LINE__);
  const bool task = std::string(kind) == "task";
  if (f.rank < 0 || at < (task ? 0 : 1))
    throw BadInput(std::string("TRAINFLEET_FAULT_INJECT: \"") + spec + "\": the rank counts from 0, " +
                       (task ? "tasks from 0" : "epochs from 1"),
                   __FILE__, __LINE__);
  (task ? f.task : f.epoch) = at;
  return f;
}

}  // namespace

void maybe_inject_fault(int world_rank, int64_t task) {
  const Fault f = parse_fault();
  if (f.task >= 0 && f.rank == world_rank && f.task == task) throw_injected_fault("at the start of a task");
}

int64_t injected_fault_epoch(int group_rank) {
  const Fault f = parse_fault();
  return f.epoch >= 0 && f.rank == group_rank ? f.epoch : -1;
}

int64_t injected_epoch_delay_ms() { return parse_fault().slow_ms; }

void throw_injected_fault(const char* where) {
  throw Error(std::string("injected fault ") + where + " (TRAINFLEET_FAULT_INJECT=" +
                  std::getenv("TRAINFLEET_FAULT_INJECT") + ")",
              __FILE__, __LINE__);
}

}  // namespace tf::jobs
