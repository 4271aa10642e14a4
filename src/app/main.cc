// trainfleet: trains and tunes neural classifiers for multichannel sensor
// time series. Entry point: parses the command line, sets the process up,
// runs one subcommand, and maps every error to an exit code (0 ok, 1
// internal failure, 2 bad input) with a message naming host and rank.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

#include "app/commands.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"

#ifndef TRAINFLEET_VERSION
#define TRAINFLEET_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  tf::tune_allocator();
  CLI::App app{"trainfleet " TRAINFLEET_VERSION
               ": train and tune neural classifiers for multichannel sensor time series"};
  app.set_version_flag("--version", std::string("trainfleet ") + TRAINFLEET_VERSION);
  app.require_subcommand(1, 1);
  tf::Commands cmds;
  cmds.add_to(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : tf::kExitBadInput;
  }
  try {
    return cmds.run();
  } catch (const tf::Error& e) {
    spdlog::error("{}", e.what());
    spdlog::debug("raised at {}:{}", e.file(), e.line());
    return e.exit_code();
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return tf::kExitInternal;
  }
}
