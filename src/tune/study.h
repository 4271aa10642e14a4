// Hyperparameter studies over rank groups (`trainfleet tune`).
//
// The study lives in its run folder as an append-only journal (study.jsonl,
// see journal.h): no server. A group's first rank, holding the journal's lock,
// reads it, decides the group's next trial — an interrupted trial of an
// earlier session first (same number, same values), else a new one from the
// sampler, which sees every trial including those still running — appends a
// "start" record and broadcasts the values to its group, which trains them
// data-parallel. Results, per-epoch reports (for pruning) and failures are
// appended the same way. Rerunning the same command resumes: finished trials
// are kept, trials of a session that died are continued from their resume
// checkpoint (or run again when they had none). Several sessions (Slurm jobs)
// may work on one study at once: a session holds a lock file while it lives,
// so only the trials of dead sessions are taken over. If the first rank of
// the world dies, the MPI job ends (MPI_Abort) and nothing written is lost.
//
// Rank contract: every rank of the world calls run_study with the same config.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "config/config.h"
#include "jobs/queue.h"
#include "tune/journal.h"
#include "tune/sampler.h"
#include "tune/space.h"

namespace tf::tune {

// Whether the objective is maximised (tuning.direction, or auto from its name).
bool objective_maximizes(const config::Config& cfg);

// The study folder: experiment.run_id, or "study-" + a hash of the resolved config.
std::filesystem::path study_dir(const config::Config& cfg);

// Trials as the journal tells them (the last record of each trial wins).
std::vector<TrialState> load_trials(const std::filesystem::path& dir);

// Checks what a study of `cfg` would reject (space, sampler, trial count):
// BadInput before anything is written.
void check_study(const config::Config& cfg);

// A new session id: "<pid>-<milliseconds>" (see SessionLock in journal.h).
std::string new_session_id();

// One study: its folder (study.jsonl, trials/), the sampler and this session's
// id. `tune` drives one; nested CV drives one per outer fold. pick() and
// record() run on a group's first rank, under the journal's lock; run() on
// every rank of the group.
class Study {
 public:
  struct Plan {
    Space space;
    bool maximize = true;
    std::unique_ptr<Sampler> sampler;
    int64_t n_trials = 0;
  };
  // `rows`: the rows of data.path the trials' CV folds split (nested CV: the
  // outer training rows); empty: all rows.
  Study(const config::Config& cfg, std::filesystem::path dir, std::string session, std::vector<int64_t> rows = {});
  ~Study();
  Study(const Study&) = delete;
  Study& operator=(const Study&) = delete;

  // The next trial's start record, appended to the journal: an interrupted
  // trial of a session that is gone first, else a new one from the sampler;
  // "" when the study needs no more trials.
  std::string pick(int group_id);
  // Whether every trial the study will run has finished (none running, none left to start).
  bool finished() const;
  // Trains the trial of `start` on `work` (every rank of the group); returns
  // the fields of its finish record. An exception fails the trial.
  nlohmann::json run(Communicator& work, const nlohmann::json& start) const;
  // Appends the finish record and logs it.
  void record(const nlohmann::json& start, nlohmann::json fields, int group_id, double seconds) const;
  void log_start(int group_id, const nlohmann::json& start, const std::string& where = "") const;
  std::vector<TrialState> trials() const;

  const std::filesystem::path& dir() const { return dir_; }
  const std::string& session() const { return session_; }
  const Journal& journal() const { return journal_; }
  bool maximize() const { return plan_.maximize; }
  int64_t n_trials() const { return plan_.n_trials; }

 private:
  bool stopped_by_failures(int consecutive) const;
  config::Config cfg_;
  Plan plan_;
  std::filesystem::path dir_;
  std::string session_;
  std::vector<int64_t> rows_;
  Journal journal_;
};

// Runs (or resumes) the study as a job over rank groups (jobs/queue.h): an
// error on any rank of a group fails that trial on every rank of the group,
// with its reason. On world rank 0 returns the summary (best trial, counts).
nlohmann::json run_study(const config::Config& cfg, const jobs::Job& job);

// trials.csv and best_trial.json from the journal; returns the summary.
nlohmann::json write_outputs(const std::filesystem::path& dir, const config::Config& cfg);

// The trials table, the best trial and parameter importances, as text
// (show() first rewrites the outputs from the journal; show_text() uses a
// summary that write_outputs() just returned).
std::string show(const std::filesystem::path& dir);
std::string show_text(const std::filesystem::path& dir, const nlohmann::json& summary);

// Importance of each parameter: the share of the objective's variance that
// its values explain (eta squared over the values, or over quartile bins of a
// numeric parameter), normalised to sum to 1 over the parameters.
std::map<std::string, double> importances(const std::vector<TrialState>& trials);

}  // namespace tf::tune
