#include "jobs/fault.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace tf::jobs {

namespace {

struct Fault {
  long long rank = -1, task = -1, epoch = -1;
};

Fault parse_fault() {
  Fault f;
  const char* spec = std::getenv("TRAINFLEET_FAULT_INJECT");
  if (!spec || !*spec) return f;
  char kind[8] = {0};
  long long at = -1;
  int used = 0;
  if (std::sscanf(spec, "rank:%lld,%7[a-z]:%lld%n", &f.rank, kind, &at, &used) != 3 || spec[used] != '\0' ||
      (std::string(kind) != "task" && std::string(kind) != "epoch"))
    throw BadInput(std::string("TRAINFLEET_FAULT_INJECT: \"") + spec + "\" is neither rank:R,task:T nor rank:R,epoch:E",
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

void throw_injected_fault(const char* where) {
  throw Error(std::string("injected fault ") + where + " (TRAINFLEET_FAULT_INJECT=" +
                  std::getenv("TRAINFLEET_FAULT_INJECT") + ")",
              __FILE__, __LINE__);
}

}  // namespace tf::jobs
