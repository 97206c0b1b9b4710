// rgflow: the executable. Initialises MPI then PETSc, dispatches to a subcommand, and turns every
// error into one line on stderr (from rank 0) and a non-zero exit status on every rank.
#include <mpi.h>
#include <petscsys.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "commands.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/io/atomic_file.hpp"

namespace {

constexpr const char* kUsage =
    "usage: rgflow <command> [options]\n"
    "\n"
    "commands:\n"
    "  generate   lattice fields and every coarse-grained level -> dataset.h5\n"
    "  info       print a dataset's attributes and the cumulants of every level\n"
    "  train      fit a network to the RG map of a dataset -> model.h5\n"
    "  analyze    cumulants across scales, learned flows, generalisation, propagation and\n"
    "             symmetry of trained models -> results.h5 and CSV tables\n"
    "  run        every stage of a pipeline file in order: rgflow run PIPELINE.yaml [-outdir DIR]\n"
    "\n"
    "'rgflow <command> -help' lists a command's options with their defaults.\n"
    "Run under MPI as 'mpiexec -n P rgflow <command> ...'.\n";

// This process's rank in MPI_COMM_WORLD. Local.
int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

std::string join(int argc, char** argv) {
  std::string text = "rgflow";
  for (int i = 1; i < argc; ++i) text += std::string(" ") + argv[i];
  return text;
}

// Runs `command` on MPI_COMM_WORLD: collective over it, as every subcommand is.
int dispatch(const std::string& command, const rgflow::app::Invocation& invocation,
             const std::string& pipeline_path) {
  const rgflow::Comm world(MPI_COMM_WORLD);
  if (command == "generate") return rgflow::app::run_generate(world, invocation);
  if (command == "info") return rgflow::app::run_info(world, invocation);
  if (command == "train") return rgflow::app::run_train(world, invocation);
  if (command == "analyze") return rgflow::app::run_analyze(world, invocation);
  if (command == "run") return rgflow::app::run_pipeline(world, invocation, pipeline_path);
  throw rgflow::UsageError("unknown command '" + command + "' (see rgflow -help)");
}

}  // namespace

// Collective over MPI_COMM_WORLD: MPI and PETSc are initialised and finalised on every rank, and
// the subcommand runs on all of them.
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const bool root = world_rank() == 0;
  if (argc < 2 || std::strcmp(argv[1], "-help") == 0 || std::strcmp(argv[1], "--help") == 0 ||
      std::strcmp(argv[1], "-h") == 0) {
    if (root) std::fputs(kUsage, argc < 2 ? stderr : stdout);
    MPI_Finalize();
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "-version") == 0 || std::strcmp(argv[1], "--version") == 0) {
    if (root) std::printf("rgflow %s\n", RGFLOW_VERSION);
    MPI_Finalize();
    return 0;
  }

  const std::string command = argv[1];
  rgflow::app::Invocation invocation;
  invocation.command_line = join(argc, argv);
  // PETSc sees the options after the command name; `run` takes the pipeline file first.
  std::string pipeline_path;
  std::vector<char*> arguments(argv + 1, argv + argc);
  if (command == "run" && arguments.size() > 1 && arguments[1][0] != '-') {
    pipeline_path = arguments[1];
    arguments.erase(arguments.begin() + 1);
  }
  // Checked before PETSc sees them (identically on every rank: argv is the same everywhere): a
  // stray word would be ignored, and an unreadable options file gives PETSc's multi-line trace.
  const std::string argument_problem = rgflow::check_arguments(arguments);
  if (!argument_problem.empty()) {
    if (root) {
      std::fprintf(stderr, "rgflow %s: error: %s\n", command.c_str(), argument_problem.c_str());
    }
    MPI_Finalize();
    return 1;
  }
  arguments.push_back(nullptr);
  int petsc_argc = static_cast<int>(arguments.size()) - 1;
  char** petsc_argv = arguments.data();
  invocation.help = rgflow::take_help_flag(&petsc_argc, petsc_argv);

  int status = 1;
  if (PetscInitialize(&petsc_argc, &petsc_argv, nullptr, nullptr) != 0) {
    // PETSc has printed why (e.g. an unreadable -options_file_yaml).
    if (root) std::fprintf(stderr, "rgflow %s: error: cannot initialise PETSc\n", command.c_str());
    MPI_Finalize();
    return 1;
  }
  // rgflow reports errors itself, one line each: no library tracebacks.
  PetscPushErrorHandler(PetscReturnErrorHandler, nullptr);
  rgflow::h5::silence_error_printing();
  try {
    status = dispatch(command, invocation, pipeline_path);
  } catch (const rgflow::UsageError& error) {
    // Raised identically on every rank: report once, end cleanly everywhere.
    if (root)
      std::fprintf(stderr, "rgflow %s: error: %s\n", command.c_str(),
                   rgflow::one_line(error.what()).c_str());
    status = 1;
  } catch (const std::bad_alloc&) {
    // Sizes are checked against stated limits before allocation; this is the machine running out
    // on one rank regardless, which no other rank can know about.
    std::fprintf(stderr, "rgflow %s: error on rank %d: out of memory\n", command.c_str(),
                 world_rank());
    std::fflush(stderr);
    rgflow::io::release_all_outputs();
    MPI_Abort(MPI_COMM_WORLD, 3);
  } catch (const std::exception& error) {
    // A library or system failure, possibly on this rank alone while others wait in a
    // collective: nothing can be recovered, so end the whole job.
    std::fprintf(stderr, "rgflow %s: error on rank %d: %s\n", command.c_str(), world_rank(),
                 rgflow::one_line(error.what()).c_str());
    std::fflush(stderr);
    rgflow::io::release_all_outputs();
    MPI_Abort(MPI_COMM_WORLD, 3);
  }
  // Every exit path gives back the output locks (a clean error has unwound to here).
  rgflow::io::release_all_outputs();
  PetscFinalize();
  MPI_Finalize();
  return status;
}
