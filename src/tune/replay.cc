#include "tune/replay.h"

#include <cmath>
#include <cstdio>

namespace tf::tune {

using nlohmann::json;

uint32_t crc32(const std::string& s) {
  static const auto table = [] {
    std::vector<uint32_t> t(256);
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : s) c = table[(c ^ ch) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

namespace {

std::string crc_hex(const std::string& body) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", crc32(body));
  return buf;
}

// An integer field in [0, max), or -1 when missing, not an integer or out of range.
int64_t index_field(const json& r, const char* key, int64_t max) {
  auto it = r.find(key);
  if (it == r.end()) return -1;
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    return v < static_cast<uint64_t>(max) ? static_cast<int64_t>(v) : -1;
  }
  if (!it->is_number_integer()) return -1;
  const int64_t v = it->get<int64_t>();
  return v >= 0 && v < max ? v : -1;
}

// Parameter values are scalars or lists of scalars.
bool valid_params(const json& p) {
  if (!p.is_object()) return false;
  for (const auto& v : p) {
    if (v.is_array()) {
      for (const auto& x : v)
        if (x.is_structured()) return false;
    } else if (v.is_object()) {
      return false;
    }
  }
  return true;
}

std::string trial_name(int64_t n) { return "trial " + std::to_string(n); }

}  // namespace

std::string journal_line(const json& record) {
  std::string body = record.dump();
  return body + "\t" + crc_hex(body);
}

std::string Replay::apply(const std::string& line) {
  ++lines_;
  const size_t tab = line.rfind('\t');
  if (tab == std::string::npos || line.size() - tab - 1 != 8)
    return "damaged line (no checksum)";
  const std::string body = line.substr(0, tab);
  if (line.compare(tab + 1, 8, crc_hex(body)) != 0) return "damaged line (its checksum does not match)";
  const json r = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (r.is_discarded() || !r.is_object()) return "not a JSON object";
  return apply_record(r);
}

std::string Replay::apply_record(const json& r) {
  auto op_it = r.find("op");
  if (op_it == r.end() || !op_it->is_string()) return "no \"op\" string";
  const std::string op = op_it->get<std::string>();
  if (op == "session") {
    auto s = r.find("session");
    return s != r.end() && s->is_string() ? "" : "session record without a \"session\" string";
  }
  if (op != "start" && op != "report" && op != "finish") return "unknown op \"" + op + "\"";
  const int64_t n = index_field(r, "trial", kMaxTrialNumber);
  if (n < 0) return op + " record: \"trial\" is not an integer in [0, " + std::to_string(kMaxTrialNumber) + ")";
  auto known = by_number_.find(n);
  const bool finished = known != by_number_.end() && known->second.state != "running";
  if (op == "start") {
    if (finished) return "start of " + trial_name(n) + ", which finished already";
    auto params = r.find("params");
    if (params == r.end() || !valid_params(*params))
      return "start of " + trial_name(n) + ": \"params\" is not an object of values";
    auto session = r.find("session");
    if (session != r.end() && !session->is_string())
      return "start of " + trial_name(n) + ": \"session\" is not a string";
    TrialState t;  // a start of a running trial (a requeue) begins it again
    t.number = n;
    t.params = *params;
    by_number_[n] = t;
    state_.session[n] = session != r.end() ? session->get<std::string>() : "";
    stale_ = true;
    return "";
  }
  if (known == by_number_.end()) return op + " of " + trial_name(n) + ", which has no start";
  if (finished) return op + " of " + trial_name(n) + ", which finished already";
  TrialState& t = known->second;
  auto value = r.find("value");
  const bool has_value = value != r.end() && value->is_number();
  if (value != r.end() && !has_value && !value->is_null())  // null: a value that was not finite
    return op + " of " + trial_name(n) + ": \"value\" is not a number";
  if (op == "report") {
    const int64_t step = index_field(r, "step", kMaxReportStep);
    if (step < 0) return "report of " + trial_name(n) + ": \"step\" is not an integer in range";
    if (has_value) t.intermediate[step] = value->get<double>();
    stale_ = true;
    return "";
  }
  auto st = r.find("state");
  const std::string state = st != r.end() && st->is_string() ? st->get<std::string>() : "";
  if (state != "complete" && state != "pruned" && state != "failed")
    return "finish of " + trial_name(n) + ": \"state\" is not complete, pruned or failed";
  if (state != "failed" && !has_value) return "finish of " + trial_name(n) + " (" + state + ") without a value";
  t.state = state;
  t.value = has_value ? value->get<double>() : 0.0;
  state_.finish[n] = r;
  state_.consecutive_failures = state == "failed" ? state_.consecutive_failures + 1 : 0;
  stale_ = true;
  return "";
}

const StudyState& Replay::state() const {
  if (stale_) {
    state_.trials.clear();
    for (const auto& [n, t] : by_number_) state_.trials.push_back(t);
    stale_ = false;
  }
  return state_;
}

Replayed replay(const std::string& text) {
  Replay r;
  Replayed out;
  size_t pos = 0;
  for (size_t nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    std::string why = r.apply(text.substr(pos, nl - pos));
    if (!why.empty()) out.skipped.push_back({r.lines(), why});
  }
  out.consumed = pos;
  out.state = r.state();
  return out;
}

std::vector<std::string> lost_results(const StudyState& s, const std::vector<int64_t>& finished,
                                      const std::vector<int64_t>& with_folds,
                                      const std::function<bool(const std::string&)>& alive) {
  std::map<int64_t, const TrialState*> by;
  for (const auto& t : s.trials) by[t.number] = &t;
  std::map<int64_t, std::string> out;  // by trial number
  for (int64_t n : with_folds)
    if (!by.count(n)) out[n] = trial_name(n) + ": the journal has no record of it, but its folder holds finished folds";
  for (int64_t n : finished) {
    auto it = by.find(n);
    if (it == by.end()) {
      out[n] = trial_name(n) + ": the journal has no record of it";
    } else if (it->second->state == "running") {
      auto sess = s.session.find(n);
      if (sess == s.session.end() || !alive(sess->second))
        out[n] = trial_name(n) + ": the journal shows it running (its finish record is missing)";
    }
  }
  std::vector<std::string> v;
  for (auto& [n, text] : out) v.push_back(text);
  return v;
}

const TrialState* best_trial(const std::vector<TrialState>& trials, bool maximize) {
  const TrialState* best = nullptr;
  for (const auto& t : trials)
    if (t.state == "complete" && (!best || (maximize ? t.value > best->value : t.value < best->value))) best = &t;
  return best;
}

}  // namespace tf::tune
