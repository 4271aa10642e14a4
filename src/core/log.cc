#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace tf {

void setup_logging(int rank, bool quiet, const std::string& level) {
  // Logs and errors go to stderr, so stdout carries only a command's output
  // (`config --check x.yaml > resolved.yaml` is a loadable file). The sink
  // colours the level only when stderr is a terminal.
  static const bool to_stderr = [] {
    spdlog::set_default_logger(spdlog::stderr_color_mt("trainfleet"));
    return true;
  }();
  (void)to_stderr;
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::string pattern = std::string("[%H:%M:%S] [") + host + ":" + std::to_string(rank) + "] %^%l%$ %v";
  spdlog::set_pattern(pattern);
  spdlog::set_level(quiet ? spdlog::level::warn : spdlog::level::from_str(level));
}

void defer_to_first_rank(int rank) {
  if (rank != 0) std::this_thread::sleep_for(std::chrono::seconds(3));
}

}  // namespace tf
