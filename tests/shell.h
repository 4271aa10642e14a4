// Shell commands for the tests that start the real binary, often under
// mpirun: one way to run them, time them and read their output.
#pragma once

#include <filesystem>
#include <string>

namespace tf::test {

struct ShellResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr
  double seconds = 0;  // wall time
};

// Runs a shell command line in `cwd`, with mpirun allowed to run as root.
ShellResult sh(const std::string& cmd, const std::filesystem::path& cwd = {});
// The trainfleet binary's path, shell-quoted.
std::string bin();
// "mpirun -np N --oversubscribe --bind-to none [-x ENV] ".
std::string mpirun(int np, const std::string& env = "");

}  // namespace tf::test
