// trainfleet: trains and tunes neural classifiers for multichannel sensor
// time series. Entry point: parses the command line, sets the process up
// (allocator, MPI when started by an MPI launcher), runs one subcommand, and
// maps every error to an exit code (0 ok, 1 internal failure, 2 bad input)
// with a message naming host and rank.
//
// Only this file calls MPI_Init / MPI_Finalize / MPI_Abort. A failure on any
// rank of a multi-rank job aborts the whole job (MPI_Abort), so the other
// ranks never hang in a collective waiting for it; MPI_Finalize is never
// called while an exception is in flight.
#include <CLI/CLI.hpp>
#include <mpi.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "app/commands.h"
#include "comm/mpi_comm.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"

#ifndef TRAINFLEET_VERSION
#define TRAINFLEET_VERSION "0.0.0"
#endif

namespace {

int local_rank_count() {
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int n = 1;
  MPI_Comm_size(node, &n);
  MPI_Comm_free(&node);
  return n;
}

int run_guarded(tf::Commands& cmds, tf::World& world, bool distributed) {
  int rc = tf::kExitInternal;
  try {
    rc = cmds.run(world);
  } catch (const tf::Preempted& e) {
    spdlog::warn("{}", e.what());
    rc = e.exit_code();
  } catch (const tf::Error& e) {
    spdlog::error("{}", e.what());
    spdlog::debug("raised at {}:{}", e.file(), e.line());
    rc = e.exit_code();
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    rc = tf::kExitInternal;
  }
  if (rc == tf::kExitPreempted && distributed) {
    // Stopped by a signal with checkpoints written: meet the other ranks
    // (finish_together() in the job, or here) and exit normally, so no rank
    // is killed while it still writes.
    try {
      if (world.set_timeout) world.set_timeout(world.comm, 30.0 * 24 * 3600);
      tf::stop_agreed(world.comm);
    } catch (const std::exception& e) {
      spdlog::error("while stopping: {}", e.what());
      rc = tf::kExitInternal;
    }
  }
  if (rc == tf::kExitPreempted && world.comm.rank() == 0)
    spdlog::warn("exiting with code {} (preempted: checkpoints written; rerun the same command to resume)", rc);
  if (rc != tf::kExitOk && rc != tf::kExitPreempted && distributed) {
    spdlog::error("rank {} failed (exit code {}); aborting the whole job", world.comm.rank(), rc);
    spdlog::default_logger()->flush();
    MPI_Abort(MPI_COMM_WORLD, rc);
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  tf::tune_allocator();
  tf::install_stop_handlers();
  CLI::App app{"trainfleet " TRAINFLEET_VERSION
               ": train and tune neural classifiers for multichannel sensor time series"};
  app.set_version_flag("--version", std::string("trainfleet ") + TRAINFLEET_VERSION);
  app.require_subcommand(1, 1);
  tf::Commands cmds;
  cmds.add_to(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const bool no_command = dynamic_cast<const CLI::RequiredError*>(&e) || dynamic_cast<const CLI::ExtrasError*>(&e);
    if (no_command && app.get_subcommands().empty()) {  // none, or an unknown one
      std::string names;
      for (const auto* s : app.get_subcommands([](CLI::App*) { return true; })) names += " " + s->get_name();
      const bool named = argc > 1 && argv[1][0] != '-';
      std::cerr << "trainfleet: " << (named ? "unknown subcommand \"" + std::string(argv[1]) + "\"" : "no subcommand")
                << "; expected one of:" << names << " (trainfleet --help describes them)\n";
      return tf::kExitBadInput;
    }
    int rc = app.exit(e);
    return rc == 0 ? 0 : tf::kExitBadInput;
  }
  if (!tf::launched_by_mpi()) {
    tf::LocalComm comm;
    tf::World world{comm, 1, nullptr};
    return run_guarded(cmds, world, false);
  }
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rc;
  {
    tf::MpiComm comm(MPI_COMM_WORLD, false, 600.0);
    tf::World world{comm, local_rank_count(), [](tf::Communicator& c, double s) {
                      if (auto* m = dynamic_cast<tf::MpiComm*>(&c)) m->set_timeout(s);
                    }};
    rc = run_guarded(cmds, world, comm.size() > 1);
  }
  MPI_Finalize();
  return rc;
}
