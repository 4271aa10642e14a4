#include "jobs/same_program.h"

#include "core/error.h"

namespace tf::jobs {

uint64_t text_hash(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  return h;
}

void check_same_program(Communicator& world, const std::vector<std::string>& args, const std::string& resolved) {
  if (!world.is_distributed()) return;
  // --threads may differ between ranks: the launcher gives each node's ranks
  // that node's cores / its ranks, and nodes may hold different numbers of ranks.
  std::string text;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--threads") {
      ++i;
      continue;
    }
    if (args[i].rfind("--threads=", 0) == 0) continue;
    text += args[i] + '\0';
  }
  text += '\n' + resolved;
  const uint64_t mine = text_hash(text);
  std::vector<uint64_t> all(static_cast<size_t>(world.size()));
  world.allgather(&mine, all.data(), sizeof mine);
  std::string differ;
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  TF_CHECK_INPUT(differ.empty(), "ranks " + differ + " run a different command line or config than rank 0 (every rank "
                                 "of a job must run the same command with the same config files; an MPMD launch "
                                 "with different configs is not supported)");
}

}  // namespace tf::jobs
