// Process-wide allocator tuning, applied once at start-up by the app layer.
//
// glibc's default malloc returns large blocks to the OS after every free
// (mmap threshold 128 KiB, dynamic) and LibTorch frees and re-allocates its
// activation buffers every step, so each step pays page faults: measured 4x
// slower CPU training at 2 threads. Raising the mmap and trim thresholds keeps
// those blocks in the heap for reuse.
#pragma once

namespace tf {

struct AllocatorTuning {
  bool applied = false;
  long mmap_threshold = 0;
  long trim_threshold = 0;
};

// Applies the tuning unless TRAINFLEET_NO_MALLOC_TUNING=1 is set (for measuring
// its effect). Returns what was set.
AllocatorTuning tune_allocator();

}  // namespace tf
