// The subcommands (train, evaluate, predict, make-data, config): their
// options and what each runs on the world communicator.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include <memory>

#include "comm/communicator.h"
#include "config/config.h"
#include "jobs/queue.h"

namespace tf {

struct World {
  Communicator& comm;
  int local_ranks = 1;            // ranks of this job on this node
  int local_rank = 0;             // this rank's place among them
  std::vector<std::string> args;  // the command line (compared between ranks)
};

class Commands {
 public:
  void add_to(CLI::App& app);
  int run(World& world);  // runs the parsed subcommand; returns the exit code

 private:
  void add_run_commands(CLI::App& app);
  void add_job_commands(CLI::App& app);
  void add_inspect_commands(CLI::App& app);
  int train(World& world);
  int evaluate(World& world);
  int predict(World& world);
  int make_data(World& world);
  int config(World& world);
  int cv(World& world);
  int tune(World& world);
  int compare(World& world);
  int report(World& world);
  int study(World& world);

  // The start of every job over rank groups: checks that every rank runs the
  // same command and configs, and the run-folder names; splits the world into
  // groups of `per_run` ranks (0 = all); sets timeouts, logging and threads.
  struct Groups {
    std::unique_ptr<Communicator> group;
    int id = 0, count = 1, per_run = 1, threads = 1;
    jobs::Job job(World& world, const config::Config& cfg, const std::string& unit) const;
  };
  Groups make_groups(World& world, const std::vector<config::Config>& cfgs, const char* command);

  CLI::App* train_ = nullptr;
  CLI::App* evaluate_ = nullptr;
  CLI::App* predict_ = nullptr;
  CLI::App* make_data_ = nullptr;
  CLI::App* config_ = nullptr;
  CLI::App* cv_ = nullptr;
  CLI::App* tune_ = nullptr;
  CLI::App* compare_ = nullptr;
  CLI::App* report_ = nullptr;
  CLI::App* study_ = nullptr;
  CLI::App* study_show_ = nullptr;
  std::string suggest_model_;
  bool retrain_best_ = false;
  std::string cv_method_, scoring_;
  long long n_splits_ = 0;
  std::vector<int64_t> cv_tasks_;

  std::vector<std::string> config_paths_;
  std::string run_dir_, data_path_, out_path_;
  std::string data_out_;  // make-data --out (its own default must not leak into evaluate --out)
  std::vector<std::string> overrides_;
  int threads_ = 0;
  int ranks_per_run_ = -1;
  // make-data
  long long samples_ = 3000, steps_ = 1024, sites_ = 12;
  unsigned long long seed_ = 7;
  long long chunk_rows_ = 1;
  int gzip_ = 0;
  bool if_missing_ = false;
  // config
  bool print_defaults_ = false, print_reference_ = false;
  std::string check_path_;
  std::vector<std::string> run_dir_of_;
};

}  // namespace tf
