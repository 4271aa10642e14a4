#include "core/alloc.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace tf {

AllocatorTuning tune_allocator() {
  AllocatorTuning t;
  const char* off = std::getenv("TRAINFLEET_NO_MALLOC_TUNING");
  if (off && std::strcmp(off, "1") == 0) return t;
  // 32 MiB is glibc's upper bound for M_MMAP_THRESHOLD on 64-bit; setting it
  // also switches off the dynamic threshold adjustment.
  t.mmap_threshold = 32L * 1024 * 1024;
  t.trim_threshold = 1024L * 1024 * 1024;
  bool ok = mallopt(M_MMAP_THRESHOLD, static_cast<int>(t.mmap_threshold)) == 1;
  ok = mallopt(M_TRIM_THRESHOLD, static_cast<int>(t.trim_threshold)) == 1 && ok;
  mallopt(M_TOP_PAD, 64 * 1024 * 1024);
  t.applied = ok;
  return t;
}

}  // namespace tf
