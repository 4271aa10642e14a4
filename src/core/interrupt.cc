#include "core/interrupt.h"

#include <signal.h>
#include <string.h>

#include <atomic>

namespace tf {

namespace {

std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int sig) {
  int expected = 0;
  if (!g_signal.compare_exchange_strong(expected, sig)) {
    // Asked twice: give up on the graceful path.
    ::signal(sig, SIG_DFL);
    ::raise(sig);
  }
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa;
  ::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGUSR1, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

int stop_requested() { return g_signal.load(std::memory_order_relaxed); }

void set_stop_requested(int sig) { g_signal.store(sig); }

std::string signal_name(int sig) {
  switch (sig) {
    case SIGUSR1: return "SIGUSR1";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case 0: return "a signal on another rank";
    default: return "signal " + std::to_string(sig);
  }
}

}  // namespace tf
