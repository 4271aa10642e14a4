// trainfleet: trains and tunes neural classifiers for multichannel sensor
// time series. Entry point: parses the command line, sets the process up
// (allocator, MPI when started by an MPI launcher), runs one subcommand, and
// maps every error to an exit code (0 ok, 1 internal failure, 2 bad input)
// with a message naming host and rank.
//
// Only this file calls MPI_Init / MPI_Finalize / MPI_Abort. A failure on any
// rank of a multi-rank job aborts the whole job (MPI_Abort), so the other
// ranks never hang in a collective waiting for it; MPI_Finalize is never
// called while an exception is in flight. A build without MPI
// (TRAINFLEET_WITH_MPI=OFF) runs one process and refuses an MPI launch.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "app/commands.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"

#if TRAINFLEET_HAVE_MPI
#include <mpi.h>

#include "comm/mpi_comm.h"
#endif

#ifndef TRAINFLEET_VERSION
#define TRAINFLEET_VERSION "0.0.0"
#endif

namespace {

// The MPI boundary: a build without MPI (TRAINFLEET_WITH_MPI=OFF) has the same
// three functions, for one process.
#if TRAINFLEET_HAVE_MPI
using tf::launched_by_mpi;

// The ranks on this node (the processes that share its memory) and this
// rank's place among them, in world rank order.
void set_local_ranks(tf::World& world) {
  MPI_Comm node;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &world.local_ranks);
  MPI_Comm_rank(node, &world.local_rank);
  MPI_Comm_free(&node);
}

void abort_job(int rc) { MPI_Abort(MPI_COMM_WORLD, rc); }
#else
// Without MPI a process is alone unless a launcher started several: refuse then.
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v)) return true;
  return false;
}
void abort_job(int rc) { std::exit(rc); }
#endif

int run_guarded(tf::Commands& cmds, tf::World& world, bool distributed);

// A launcher that kills the whole step when one rank exits non-zero (srun
// --kill-on-bad-exit) would kill the ranks still finishing while the first
// one exits with 75. With TRAINFLEET_PREEMPTED_FILE set, a stopped rank
// creates that file instead and exits 0; the batch script turns the file back
// into exit code 75 (launcher/trainfleet-slurm).
int report_preempted(int rc) {
  const char* path = std::getenv("TRAINFLEET_PREEMPTED_FILE");
  if (!path || !*path) return rc;
  if (std::FILE* f = std::fopen(path, "a")) {
    std::fclose(f);
    return tf::kExitOk;
  }
  spdlog::error("cannot create TRAINFLEET_PREEMPTED_FILE {}: {}", path, std::strerror(errno));
  return rc;
}

#if TRAINFLEET_HAVE_MPI
int run_under_mpi(int argc, char** argv, const std::vector<std::string>& args, tf::Commands& cmds) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int rc;
  {
    tf::MpiComm comm(MPI_COMM_WORLD, false, 600.0);
    tf::World world{comm, 1, 0, args};
    set_local_ranks(world);
    rc = run_guarded(cmds, world, comm.size() > 1);
  }
  MPI_Finalize();
  return rc;
}
#else
int run_under_mpi(int, char**, const std::vector<std::string>&, tf::Commands&) {
  spdlog::error("started by an MPI launcher, but this trainfleet was built without MPI "
                "(TRAINFLEET_WITH_MPI=OFF); run it as one process or rebuild with -DTRAINFLEET_WITH_MPI=ON");
  return tf::kExitBadInput;
}
#endif

int run_guarded(tf::Commands& cmds, tf::World& world, bool distributed) {
  int rc = tf::kExitInternal;
  bool stop_met = false;  // the world already agreed on the stop (WorkQueue::finish)
  try {
    rc = cmds.run(world);
  } catch (const tf::Preempted& e) {
    spdlog::warn("{}", e.what());
    rc = e.exit_code();
    stop_met = dynamic_cast<const tf::PreemptedTogether*>(&e) != nullptr;
  } catch (const tf::Error& e) {
    if (distributed && e.exit_code() == tf::kExitBadInput) tf::defer_to_first_rank(world.comm.rank());
    spdlog::error("{}", e.what());
    spdlog::debug("raised at {}:{}", e.file(), e.line());
    rc = e.exit_code();
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    rc = tf::kExitInternal;
  }
  if (rc == tf::kExitPreempted && distributed && !stop_met) {
    // Stopped by a signal with checkpoints written: meet the other ranks
    // (WorkQueue::finish() in the job, or here) and exit normally, so no rank
    // is killed while it still writes.
    try {
      world.comm.set_timeout(30.0 * 24 * 3600);
      tf::stop_agreed(world.comm);
    } catch (const std::exception& e) {
      spdlog::error("while stopping: {}", e.what());
      rc = tf::kExitInternal;
    }
  }
  if (rc == tf::kExitPreempted && world.comm.rank() == 0)
    spdlog::warn("exiting with code {} (preempted)", rc);
  if (rc == tf::kExitPreempted) rc = report_preempted(rc);
  if (rc != tf::kExitOk && rc != tf::kExitPreempted && distributed) {
    spdlog::error("rank {} failed (exit code {}); aborting the whole job", world.comm.rank(), rc);
    spdlog::default_logger()->flush();
    abort_job(rc);
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
  const std::vector<std::string> args(argv + 1, argv + argc);  // without the program's path
  if (!launched_by_mpi()) {
    tf::LocalComm comm;
    tf::World world{comm, 1, 0, args};
    return run_guarded(cmds, world, false);
  }
  return run_under_mpi(argc, argv, args, cmds);
}
