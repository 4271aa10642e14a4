// The study journal and its replay: checksummed appends, skipped lines with
// their reasons, the rules that keep the tuner from looping, and the check
// that refuses a journal which lost records of finished trials.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <set>

#include "core/error.h"
#include "core/fs.h"
#include "test_util.h"
#include "tune/journal.h"
#include "tune/replay.h"

namespace tf::tune {

namespace {
using nlohmann::json;

std::string line_of(const json& r) { return journal_line(r) + "\n"; }
json start(int64_t n, const std::string& session = "s1") {
  return {{"op", "start"}, {"trial", n}, {"params", {{"lr", 0.1}}}, {"session", session}};
}
json finish(int64_t n, const std::string& state = "complete", double value = 0.5) {
  return {{"op", "finish"}, {"trial", n}, {"state", state}, {"value", value}};
}
json report(int64_t n, int64_t step, double value) {
  return {{"op", "report"}, {"trial", n}, {"step", step}, {"value", value}};
}

// What the tuner acts on, as text: trial number, state, value, params, session, steps.
std::string summary(const StudyState& s) {
  std::string out;
  for (const auto& t : s.trials) {
    out += std::to_string(t.number) + " " + t.state + " " + std::to_string(t.value) + " " + t.params.dump() + " " +
           s.session.at(t.number);
    for (const auto& [k, v] : t.intermediate) out += " " + std::to_string(k) + ":" + std::to_string(v);
    out += "\n";
  }
  return out + "failures " + std::to_string(s.consecutive_failures);
}
}  // namespace

TEST(Journal, AppendsChecksummedLinesAndSkipsATornRecordOnce) {
  test::TempDir dir;
  Journal j(dir / "study.jsonl");
  {
    Journal::Lock lock(j);
    j.append(start(0));
    j.append(finish(0));
  }
  {  // a writer killed mid-append leaves half a line without newline: it waits
    std::ofstream out(dir / "study.jsonl", std::ios::app);
    out << R"({"op":"start","trial":1,"par)";
  }
  EXPECT_EQ(j.read().trials.size(), 1u);
  EXPECT_TRUE(j.skipped_lines().empty());
  j.append(start(2));  // starts on a fresh line: the torn one is now line 3, skipped
  ASSERT_EQ(j.read().trials.size(), 2u);
  EXPECT_EQ(j.read().trials[1].number, 2);
  EXPECT_EQ(j.skipped_lines(), std::vector<int64_t>{3});
  // A record altered by hand fails its checksum and is not trusted.
  std::string text = read_file(dir / "study.jsonl");
  text.replace(text.find("0.5"), 3, "0.9");
  test::write_text(dir / "study.jsonl", text);
  Journal fresh(dir / "study.jsonl");
  EXPECT_EQ(fresh.read().trials.at(0).state, "running");
  EXPECT_EQ(fresh.skipped_lines(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);  // the standard check value
}

TEST(Replay, AppliesStartsReportsAndFinishes) {
  std::string text = line_of(start(0)) + line_of(report(0, 1, 0.3)) + line_of(finish(0, "complete", 0.4)) +
                     line_of({{"op", "session"}, {"session", "s2"}}) + line_of(start(1, "s2")) +
                     line_of({{"op", "finish"}, {"trial", 1}, {"state", "failed"}, {"reason", "diverged"}}) +
                     line_of(start(2, "s2")) + line_of(start(2, "s3"));
  Replayed r = replay(text + R"({"op":"finish","trial":2,"sta)");  // a last line being written waits
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_EQ(r.consumed, text.size());
  EXPECT_EQ(summary(r.state), "0 complete 0.400000 {\"lr\":0.1} s1 1:0.300000\n"
                              "1 failed 0.000000 {\"lr\":0.1} s2\n"
                              "2 running 0.000000 {\"lr\":0.1} s3\n"  // a restart by session s3
                              "failures 1");
  EXPECT_EQ(r.state.finish.at(0)["value"], 0.4);
  // A report of a value that was not finite (written as null) is no value.
  r = replay(text + line_of({{"op", "report"}, {"trial", 2}, {"step", 1}, {"value", nullptr}}));
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_TRUE(r.state.trials[2].intermediate.empty());
}

// Every record that does not fit is skipped with one reason naming its line,
// and leaves the state as it was.
TEST(Replay, SkipsEveryLineThatDoesNotFit) {
  const std::string base = line_of(start(0)) + line_of(finish(0)) + line_of(start(1));  // 3 lines
  const std::string body = journal_line(start(5));
  std::string flipped = body;
  flipped[10] ^= 0x20;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {flipped, "checksum does not match"},
      {body.substr(0, body.size() - 9), "no checksum"},
      {"not json\t" + journal_line(json("x")).substr(4), "checksum"},
      {journal_line(json::array({1, 2})), "not a JSON object"},
      {journal_line({{"trial", 1}}), "no \"op\""},
      {journal_line({{"op", "restart"}, {"trial", 1}}), "unknown op \"restart\""},
      {journal_line(finish(3)), "finish of trial 3, which has no start"},
      {journal_line(finish(0)), "finish of trial 0, which finished already"},
      {journal_line(start(0)), "start of trial 0, which finished already"},
      {journal_line(report(7, 1, 0.5)), "report of trial 7, which has no start"},
      {journal_line(report(0, 1, 0.5)), "report of trial 0, which finished already"},
      {journal_line(start(-1)), "\"trial\" is not an integer"},
      {journal_line(start(kMaxTrialNumber)), "\"trial\" is not an integer"},
      {journal_line({{"op", "start"}, {"trial", "1"}, {"params", json::object()}}), "\"trial\" is not an integer"},
      {journal_line({{"op", "start"}, {"trial", 1.5}, {"params", json::object()}}), "\"trial\" is not an integer"},
      {journal_line({{"op", "start"}, {"trial", 2}, {"params", 3}}), "\"params\" is not an object"},
      {journal_line({{"op", "start"}, {"trial", 2}, {"params", {{"a", {{"b", 1}}}}}}), "\"params\" is not an object"},
      {journal_line({{"op", "start"}, {"trial", 2}, {"params", json::object()}, {"session", 4}}), "\"session\""},
      {journal_line({{"op", "finish"}, {"trial", 1}, {"state", "done"}, {"value", 1}}), "\"state\" is not"},
      {journal_line({{"op", "finish"}, {"trial", 1}, {"state", 3}, {"value", 1}}), "\"state\" is not"},
      {journal_line({{"op", "finish"}, {"trial", 1}, {"state", "complete"}, {"value", "1"}}), "\"value\" is not a number"},
      {journal_line({{"op", "finish"}, {"trial", 1}, {"state", "complete"}}), "without a value"},
      {journal_line({{"op", "report"}, {"trial", 1}, {"step", -2}, {"value", 1}}), "\"step\""},
      {journal_line({{"op", "report"}, {"trial", 1}, {"step", 2}, {"value", true}}), "\"value\" is not a number"},
      {journal_line({{"op", "session"}, {"session", 1}}), "session record"},
  };
  const std::string expected = summary(replay(base).state);
  for (const auto& [line, why] : bad) {
    Replayed r = replay(base + line + "\n" + line_of(report(1, 1, 0.25)));
    ASSERT_EQ(r.skipped.size(), 1u) << line;
    EXPECT_EQ(r.skipped[0].line, 4) << line;
    EXPECT_NE(r.skipped[0].why.find(why), std::string::npos) << line << " -> " << r.skipped[0].why;
    EXPECT_EQ(summary(replay(base + line + "\n").state), expected) << line;
  }
}

// The tuner's loop as in run_study: requeue a running trial of a dead session,
// else start the next number; each trial it starts then finishes. Whatever
// the journal held before, the tuner's own records always apply, a finished
// trial never runs again, and the loop ends within a bound.
TEST(Replay, NoJournalMakesTheTunerLoop) {
  std::mt19937_64 rng(7);
  const int64_t n_trials = 6;
  auto pick = [&](std::uniform_int_distribution<int> d) { return d(rng); };
  for (int c = 0; c < 600; ++c) {
    std::string text;
    const int n = pick(std::uniform_int_distribution<int>(0, 14));
    for (int i = 0; i < n; ++i) {
      const int64_t t = pick(std::uniform_int_distribution<int>(-1, 7));
      const int kind = pick(std::uniform_int_distribution<int>(0, 5));
      json r = kind == 0 ? start(t, "dead") : kind == 1 ? finish(t, pick(std::uniform_int_distribution<int>(0, 1)) ? "failed" : "complete")
               : kind == 2 ? report(t, 1, 0.5) : kind == 3 ? json{{"op", "start"}, {"trial", t}, {"params", "x"}}
               : kind == 4 ? json{{"op", "finish"}, {"trial", t}, {"state", "complete"}} : finish(t, "pruned", 0.1);
      std::string line = journal_line(r);
      if (pick(std::uniform_int_distribution<int>(0, 9)) == 0) line[line.size() / 2] ^= 1;
      text += line + "\n";
    }
    Replay replay_state;
    std::set<int64_t> finished_before;  // once finished, a trial stays finished
    for (size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      replay_state.apply(text.substr(pos, nl - pos));
      for (const auto& t : replay_state.state().trials) {
        if (t.state != "running") finished_before.insert(t.number);
        ASSERT_FALSE(t.state == "running" && finished_before.count(t.number)) << text;
      }
    }
    int64_t running = 0;
    for (const auto& t : replay_state.state().trials) running += t.state == "running";
    int iterations = 0;
    while (true) {
      const StudyState& s = replay_state.state();
      int64_t next = -1;
      for (const auto& t : s.trials)
        if (t.state == "running" && s.session.at(t.number) != "me") {
          next = t.number;
          break;
        }
      if (next < 0 && (s.trials.empty() || s.trials.back().number + 1 < n_trials))
        next = s.trials.empty() ? 0 : s.trials.back().number + 1;
      if (next < 0) break;
      ASSERT_LE(++iterations, n_trials + running) << text;
      ASSERT_EQ(finished_before.count(next), 0u) << text;
      ASSERT_EQ(replay_state.apply(journal_line(start(next, "me"))), "") << text;
      ASSERT_EQ(replay_state.apply(journal_line(finish(next, iterations % 2 ? "failed" : "complete"))), "") << text;
    }
  }
}

TEST(Replay, NamesTrialsWhoseFinishedResultsTheJournalLost) {
  const StudyState s = replay(line_of(start(0, "live")) + line_of(start(1, "dead")) + line_of(start(2, "dead")) +
                              line_of(finish(2)))
                           .state;
  auto alive = [](const std::string& session) { return session == "live"; };
  EXPECT_TRUE(lost_results(s, {0, 2}, {0, 1, 2}, alive).empty());  // 0: its session still runs it; 2: finished
  EXPECT_EQ(lost_results(s, {0, 1, 2, 3}, {4}, alive),
            (std::vector<std::string>{"trial 1: the journal shows it running (its finish record is missing)",
                                      "trial 3: the journal has no record of it",
                                      "trial 4: the journal has no record of it, but its folder holds finished folds"}));
}

TEST(Journal, RefusesAJournalThatLostFinishedTrials) {
  test::TempDir dir;
  Journal j(dir / "study.jsonl");
  j.append(start(0));
  j.append(finish(0));
  fs::create_directories(dir / "trials" / "trial_0000");
  fs::create_directories(dir / "trials" / "trial_0001");
  test::write_text(dir / "trials" / "trial_0000" / "summary.json", "{}");
  EXPECT_NO_THROW(check_results_kept(j, j.read(), dir.path()));
  test::write_text(dir / "trials" / "trial_0001" / "summary.json", "{}");
  fs::create_directories(dir / "trials" / "trial_0005" / "fold_00");  // a cross-validated trial's finished fold
  test::write_text(dir / "trials" / "trial_0005" / "fold_00" / "summary.json", "{}");
  std::string text = read_file(dir / "study.jsonl");
  test::write_text(dir / "study.jsonl", "x" + text + line_of(start(1)) + "y" + line_of(finish(1)));
  Journal damaged(dir / "study.jsonl");
  try {
    check_results_kept(damaged, damaged.read(), dir.path());
    FAIL() << "a journal that lost trial 0's start and trial 1's finish was accepted";
  } catch (const BadInput& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("trial 0: the journal has no record of it"), std::string::npos) << m;
    EXPECT_NE(m.find("trial 1: the journal shows it running"), std::string::npos) << m;
    EXPECT_NE(m.find("trial 5: the journal has no record of it, but its folder holds finished folds"),
              std::string::npos) << m;
    EXPECT_NE(m.find("line(s) 1 2 4 were skipped"), std::string::npos) << m;
    EXPECT_NE(m.find("move those trial folders"), std::string::npos) << m;
  }
}

}  // namespace tf::tune
