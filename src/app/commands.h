// The subcommands (train, evaluate, predict, make-data, config): their
// options and what each runs.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace tf {

class Commands {
 public:
  void add_to(CLI::App& app);
  int run();  // runs the parsed subcommand; returns the exit code

 private:
  int train();
  int evaluate();
  int predict();
  int make_data();
  int config();

  CLI::App* train_ = nullptr;
  CLI::App* evaluate_ = nullptr;
  CLI::App* predict_ = nullptr;
  CLI::App* make_data_ = nullptr;
  CLI::App* config_ = nullptr;

  std::string config_path_, run_dir_, data_path_, out_path_;
  std::vector<std::string> overrides_;
  int threads_ = 0;
  // make-data
  long long samples_ = 3000, steps_ = 1024, sites_ = 12;
  unsigned long long seed_ = 7;
  bool if_missing_ = false;
  // config
  bool print_defaults_ = false, print_reference_ = false;
  std::string check_path_;
};

}  // namespace tf
