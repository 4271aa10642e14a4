#include "core/log.h"

#include <unistd.h>

namespace tf {

void setup_logging(int rank, bool quiet, const std::string& level) {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::string pattern = std::string("[%H:%M:%S] [") + host + ":" + std::to_string(rank) + "] %^%l%$ %v";
  spdlog::set_pattern(pattern);
  spdlog::set_level(quiet ? spdlog::level::warn : spdlog::level::from_str(level));
}

}  // namespace tf
