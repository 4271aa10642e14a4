#include "jobs/fault.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace tf::jobs {

void maybe_inject_fault(int world_rank, int64_t task) {
  const char* spec = std::getenv("TRAINFLEET_FAULT_INJECT");
  if (!spec || !*spec) return;
  long long rank = -1, at = -1;
  if (std::sscanf(spec, "rank:%lld,task:%lld", &rank, &at) != 2)
    throw BadInput(std::string("TRAINFLEET_FAULT_INJECT: \"") + spec + "\" is not rank:R,task:T", __FILE__, __LINE__);
  if (rank == world_rank && at == task)
    throw Error("injected fault (TRAINFLEET_FAULT_INJECT=" + std::string(spec) + ")", __FILE__, __LINE__);
}

}  // namespace tf::jobs
