// libFuzzer target: journal replay (tune/replay.h) on arbitrary bytes.
// Replay must never crash, throw or hang, whatever the journal holds, and
// keep its promises: a line either applies or is skipped with a reason, a
// finished trial stays finished, and the tuner's own records for a running or
// a new trial always apply afterwards (so no journal can make it loop).
// Needs only tune/replay.cc (and nlohmann/json). By hand:
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
//     tests/fuzz/fuzz_journal.cc src/tune/replay.cc -o fuzz_journal
//   cp -r tests/fuzz/corpus/fuzz_journal work && ./fuzz_journal -max_len=4096 -runs=100000 work
// (libFuzzer adds new inputs to its first folder: give it a copy of the seeds).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "tune/replay.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using nlohmann::json;
  const std::string text(reinterpret_cast<const char*>(data), size);
  tf::tune::Replayed r = tf::tune::replay(text);
  check(r.consumed <= text.size());
  std::set<int64_t> finished;
  for (const auto& t : r.state.trials) {
    check(t.number >= 0 && t.number < tf::tune::kMaxTrialNumber);
    check(r.state.session.count(t.number) == 1);
    if (t.state != "running") finished.insert(t.number);
  }
  for (const auto& s : r.skipped) check(s.line >= 1 && !s.why.empty());

  // Line by line gives the same state as the whole text.
  tf::tune::Replay by_line;
  for (size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1)
    by_line.apply(text.substr(pos, nl - pos));
  check(by_line.state().trials.size() == r.state.trials.size());

  // The tuner's next records always apply; finished trials stay finished.
  auto applies = [&](const json& record) { return by_line.apply(tf::tune::journal_line(record)).empty(); };
  const int64_t next = r.state.trials.empty() ? 0 : r.state.trials.back().number + 1;
  for (const auto& t : r.state.trials)
    if (t.state == "running") {
      check(applies({{"op", "start"}, {"trial", t.number}, {"params", t.params}, {"session", "me"}}));
      check(applies({{"op", "finish"}, {"trial", t.number}, {"state", "failed"}}));
    }
  if (next < tf::tune::kMaxTrialNumber) check(applies({{"op", "start"}, {"trial", next}, {"params", json::object()}}));
  for (const auto& t : by_line.state().trials)
    if (finished.count(t.number)) check(t.state != "running");
  return 0;
}
