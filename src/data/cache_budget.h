// How many bytes of rows one rank may keep in memory (data.cache_mb): rows
// that fit are read once and kept; rows that do not are streamed from the file.
#pragma once

#include <cstdint>

namespace tf {

// `cache_mb` >= 0: that many MiB (0: always stream). Negative (the default,
// "auto"): half of the node's available memory (core/resources.h) shared by
// the ranks of this job on the node (OMPI_COMM_WORLD_LOCAL_SIZE, else the
// largest count of SLURM_STEP_TASKS_PER_NODE or SLURM_NTASKS_PER_NODE, else 1).
int64_t cache_budget_bytes(int64_t cache_mb);

}  // namespace tf
