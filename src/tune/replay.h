// Study replay: the state of a study (its trials, the session that started
// each, the failure streak) as a pure function of the journal's text.
//
// A journal line is "<json>\t<crc32 hex>". Replay applies the lines in order
// and skips, with one reason per line, every line that is damaged (bad
// checksum, not a JSON object) or that does not fit the state so far: a
// finish or report without a start, a second finish, a start of a finished
// trial, a number out of range, a field of the wrong type, an unknown op.
// The rules make replay safe to act on: a trial once finished never becomes
// "running" again, and a record the tuner appends for a running or a new trial
// always applies, so no journal can make the tuner restart a trial forever.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tune/sampler.h"

namespace tf::tune {

// Trial numbers and report steps a journal may hold ([0, max)).
constexpr int64_t kMaxTrialNumber = 100000000;
constexpr int64_t kMaxReportStep = int64_t{1} << 50;

uint32_t crc32(const std::string& s);

// One journal line for `record`, without its newline: "<json>\t<crc32 hex>".
std::string journal_line(const nlohmann::json& record);

struct StudyState {
  std::vector<TrialState> trials;             // by number
  std::map<int64_t, std::string> session;     // session of each trial's latest start
  std::map<int64_t, nlohmann::json> finish;   // the finish record of each finished trial
  int consecutive_failures = 0;               // finished trials failed in a row, latest last
};

// The study's best trial: the best value among complete trials, the first
// in trial order among ties (GridSearchCV's rule); nullptr when none is complete.
const TrialState* best_trial(const std::vector<TrialState>& trials, bool maximize);

// Replays lines one at a time (the journal feeds the lines appended since).
class Replay {
 public:
  // Applies the next line (without its newline); returns "" when it applied,
  // else why it was skipped.
  std::string apply(const std::string& line);
  const StudyState& state() const;
  int64_t lines() const { return lines_; }  // lines applied or skipped so far

 private:
  std::string apply_record(const nlohmann::json& r);

  std::map<int64_t, TrialState> by_number_;
  mutable StudyState state_;
  mutable bool stale_ = false;  // state_.trials lags by_number_
  int64_t lines_ = 0;
};

struct SkippedLine {
  int64_t line;  // 1-based
  std::string why;
};

struct Replayed {
  StudyState state;
  std::vector<SkippedLine> skipped;
  uint64_t consumed = 0;  // bytes of complete lines (a last line without newline may still be written)
};

// The state `text` (a whole journal) describes.
Replayed replay(const std::string& text);

// Trials whose folder holds results the journal does not account for, one
// description per trial (none when the journal and the folders agree):
// `finished` trials hold a finished result (summary.json) that the journal
// does not show finished; `with_folds` trials hold finished folds (a
// cross-validated trial) that the journal has no record of. Trials that a
// live session still runs (`alive(session)`) are left out.
std::vector<std::string> lost_results(const StudyState& s, const std::vector<int64_t>& finished,
                                      const std::vector<int64_t>& with_folds,
                                      const std::function<bool(const std::string&)>& alive);

}  // namespace tf::tune
