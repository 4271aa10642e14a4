#include "core/resources.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"

namespace tf {

uint64_t checked_product(std::initializer_list<uint64_t> factors) {
  uint64_t p = 1;
  for (uint64_t f : factors) {
    if (f != 0 && p > std::numeric_limits<uint64_t>::max() / f) return std::numeric_limits<uint64_t>::max();
    p *= f;
  }
  return p;
}

uint64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    uint64_t kib = 0;
    if (std::sscanf(line.c_str(), "MemAvailable: %lu kB", &kib) == 1) return kib * 1024;
  }
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
                               : std::numeric_limits<uint64_t>::max();
}

std::string format_bytes(uint64_t bytes) {
  if (bytes == std::numeric_limits<uint64_t>::max()) return "more than 16 EiB";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

void check_memory(uint64_t bytes, const std::string& what) {
  uint64_t avail = available_memory_bytes();
  if (bytes > avail)
    throw BadInput(what + " needs " + format_bytes(bytes) + " of memory but only " + format_bytes(avail) +
                       " is available",
                   __FILE__, __LINE__);
}

void check_disk(uint64_t bytes, const std::filesystem::path& dir, const std::string& what) {
  std::filesystem::path p = std::filesystem::absolute(dir.empty() ? std::filesystem::path(".") : dir);
  while (!std::filesystem::exists(p) && p.has_parent_path() && p != p.parent_path()) p = p.parent_path();
  std::error_code ec;
  auto space = std::filesystem::space(p, ec);
  if (ec) return;  // unknown: let the write itself report
  if (bytes > space.available)
    throw BadInput(what + " needs " + format_bytes(bytes) + " of disk but " + p.string() + " has only " +
                       format_bytes(space.available) + " free",
                   __FILE__, __LINE__);
}

}  // namespace tf
