// A finished study whose journal is damaged in many ways (bytes flipped in
// every line, cut at many offsets, lines reordered or repeated, emptied):
// every damaged journal is replayed (fast, pure), and a representative set
// goes through the real `tune`, which must end within a time bound, exit 0 or
// 2, and never rewrite a finished trial's summary.json.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>

#include "core/fs.h"
#include "shell.h"
#include "test_util.h"
#include "tune/replay.h"

namespace tf {

namespace {

constexpr int kTrials = 4;
constexpr int kTimeLimitS = 60;

const char* kConfig = R"(
experiment: {name: tune, seed: 3, run_id: study}
data: {path: data.h5, validation_split: 0.25, test_split: 0.0}
model: {name: mlp, mlp: {hidden_units: [16], dropout: 0.0}}
training: {epochs: 2, batch_size: 32, optimizer: sgd, callbacks: {early_stopping: false, model_checkpoint: false}}
tuning:
  sampler: random
  n_trials: 4
  space:
    training.learning_rate: {type: float, low: 1.0e-3, high: 1.0e-1, log: true}
)";

// The real binary under `timeout`, so that a loop fails the test instead of hanging it.
test::CliResult run_bounded(const std::string& args, const fs::path& cwd) {
  test::ShellResult r = test::sh("timeout -s KILL " + std::to_string(kTimeLimitS) + " " + test::bin() + " " + args, cwd);
  return {r.exit_code, std::move(r.output)};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  for (size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1)
    out.push_back(text.substr(pos, nl - pos + 1));
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x;
  return s;
}

// Named damaged versions of `text`.
std::vector<std::pair<std::string, std::string>> damage(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto lines = lines_of(text);
  size_t offset = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t len = lines[i].size();
    for (size_t at : {size_t{0}, len / 3, len / 2, len - 5, len - 1}) {  // len - 1: the newline
      std::string t = text;
      t[offset + at] = static_cast<char>(t[offset + at] ^ (at == len - 1 ? 0x01 : 0x04));
      out.push_back({"flip line " + std::to_string(i + 1) + " byte " + std::to_string(at), t});
    }
    auto dup = lines;
    dup.insert(dup.begin() + static_cast<std::ptrdiff_t>(i), lines[i]);
    out.push_back({"duplicate line " + std::to_string(i + 1), join(dup)});
    if (i + 1 < lines.size()) {
      auto swapped = lines;
      std::swap(swapped[i], swapped[i + 1]);
      out.push_back({"swap lines " + std::to_string(i + 1) + "-" + std::to_string(i + 2), join(swapped)});
    }
    offset += len;
  }
  for (size_t at = 0; at < text.size(); at += 29) out.push_back({"truncate at " + std::to_string(at), text.substr(0, at)});
  auto reversed = lines;
  std::reverse(reversed.begin(), reversed.end());
  out.push_back({"reversed", join(reversed)});
  out.push_back({"every line twice", text + text});
  out.push_back({"empty", ""});
  out.push_back({"wrong field type, valid checksum",
                 text + tune::journal_line({{"op", "finish"}, {"trial", "1"}, {"state", 2}}) + "\n"});
  out.push_back({"finish without start", text + tune::journal_line({{"op", "finish"}, {"trial", 9}, {"state", "complete"},
                                                                      {"value", 1.0}}) + "\n"});
  return out;
}

struct FileStamp {
  std::string bytes;
  int64_t mtime_ns;
  bool operator==(const FileStamp& o) const { return bytes == o.bytes && mtime_ns == o.mtime_ns; }
};

std::map<int, FileStamp> summaries(const fs::path& study) {
  std::map<int, FileStamp> out;
  for (int n = 0; n < kTrials; ++n) {
    char name[32];
    std::snprintf(name, sizeof name, "trials/trial_%04d/summary.json", n);
    struct stat st {};
    if (::stat((study / name).c_str(), &st) != 0) continue;
    out[n] = {read_file(study / name), int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
  }
  return out;
}

}  // namespace

TEST(JournalDamage, TuneNeverLoopsNorRewritesAFinishedTrial) {
  test::TempDir tmp;
  ASSERT_EQ(test::run_cli("make-data --out data.h5 --samples 200 --steps 128", tmp.path()).exit_code, 0);
  test::write_text(tmp / "tune.yaml", kConfig);
  auto first = run_bounded("tune tune.yaml --threads 1", tmp.path());
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const fs::path study = tmp / "runs/tune/study";
  const std::string pristine = read_file(study / "study.jsonl");
  ASSERT_EQ(summaries(study).size(), static_cast<size_t>(kTrials)) << "every trial leaves its summary.json";
  fs::copy(study, tmp / "pristine", fs::copy_options::recursive);
  const tune::StudyState reference = tune::replay(pristine).state;

  // Every damaged journal, replayed: either the tuner refuses it (it lost a
  // finished trial), or every trial is finished as before and nothing runs.
  const auto cases = damage(pristine);
  std::map<std::string, bool> refused;
  const std::vector<int64_t> all = {0, 1, 2, 3};
  for (const auto& [name, text] : cases) {
    const tune::Replayed r = tune::replay(text);
    const auto lost = tune::lost_results(r.state, all, {}, [](const std::string&) { return false; });
    refused[name] = !lost.empty();
    if (!lost.empty()) continue;
    ASSERT_EQ(r.state.trials.size(), static_cast<size_t>(kTrials)) << name;
    for (int n = 0; n < kTrials; ++n) {
      EXPECT_EQ(r.state.trials[n].state, reference.trials[n].state) << name;
      EXPECT_EQ(r.state.trials[n].value, reference.trials[n].value) << name;
    }
  }
  int n_refused = 0;
  for (const auto& [name, r] : refused) n_refused += r;
  EXPECT_GT(n_refused, 0);
  EXPECT_LT(n_refused, static_cast<int>(cases.size()));
  std::printf("%zu damaged journals replayed, %d refused as having lost finished trials\n", cases.size(), n_refused);

  // The real tuner on a representative set.
  const auto lines = lines_of(pristine);
  auto line_with = [&](const std::string& what) {
    for (size_t i = 0; i < lines.size(); ++i)
      if (lines[i].find(what) != std::string::npos) return std::to_string(i + 1);
    return std::string("?");
  };
  const std::vector<std::string> subset = {
      "flip line " + line_with("\"op\":\"start\",") + " byte 0",  // a start record
      "flip line " + line_with("\"op\":\"finish\",") + " byte 0",  // a finish record
      "flip line " + line_with("\"op\":\"report\",") + " byte 0",  // a report: skipped, nothing lost
      "truncate at " + std::to_string(pristine.size() / 2 / 29 * 29),
      "empty",
      "reversed",
      "every line twice",
      "wrong field type, valid checksum",
      "finish without start",
  };
  for (const auto& name : subset) {
    SCOPED_TRACE(name);
    auto it = std::find_if(cases.begin(), cases.end(), [&](const auto& c) { return c.first == name; });
    ASSERT_NE(it, cases.end());
    fs::remove_all(study);
    fs::copy(tmp / "pristine", study, fs::copy_options::recursive);
    test::write_text(study / "study.jsonl", it->second);
    const auto before = summaries(study);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run_bounded("tune tune.yaml --threads 1", tmp.path());
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(took, kTimeLimitS);
    EXPECT_EQ(r.exit_code, refused[name] ? 2 : 0) << r.output;
    if (refused[name]) {
      EXPECT_NE(r.output.find("does not match the trial folders"), std::string::npos) << r.output;
    }
    EXPECT_TRUE(summaries(study) == before) << "a finished trial's summary.json was rewritten";
    for (const auto& s : tune::replay(it->second).skipped) {  // one warning per skipped line
      const std::string w = "study.jsonl line " + std::to_string(s.line) + ":";
      size_t count = 0;
      for (size_t p = r.output.find(w); p != std::string::npos; p = r.output.find(w, p + 1)) ++count;
      EXPECT_EQ(count, 1u) << w << "\n" << r.output;
    }
  }
}

}  // namespace tf
