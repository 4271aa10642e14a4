// Memory and disk budgets: sizes are checked before a large allocation or
// write, so a hostile or mistaken size (a huge declared HDF5 shape,
// `make-data --samples 100000000`) is a BadInput naming the numbers instead
// of std::bad_alloc, a swap storm or a half-written file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>

namespace tf {

// Product of the factors, or UINT64_MAX when it overflows.
uint64_t checked_product(std::initializer_list<uint64_t> factors);

// Memory the kernel reports as available (MemAvailable), or physical memory
// when /proc/meminfo is unreadable.
uint64_t available_memory_bytes();

// "3.5 GiB", "120 MiB", "512 B".
std::string format_bytes(uint64_t bytes);

// BadInput "`what` needs <bytes> of memory but only <available> is available".
void check_memory(uint64_t bytes, const std::string& what);

// BadInput when the file system holding `dir` (or its nearest existing
// parent) has less than `bytes` free.
void check_disk(uint64_t bytes, const std::filesystem::path& dir, const std::string& what);

}  // namespace tf
