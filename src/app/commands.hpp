// The subcommands of the rgflow executable. Each reads its options through an OptionReader with
// the given prefix ("" on the command line, "<stage>_" inside a pipeline file), validates them
// all before any work, and returns the process exit status. Collective on `world`.
#pragma once

#include <string>

#include "rgflow/core/mpi.hpp"

namespace rgflow::app {

struct Invocation {
  std::string prefix;        // option prefix
  bool help = false;         // print the options and return
  std::string command_line;  // for provenance
  // Inside `rgflow run`: read and check the options, then return before any file is touched.
  bool validate_only = false;
  // Inside `rgflow run`: a complete output is kept (reported, not redone) and a partial one is
  // continued where the stage supports it.
  bool in_pipeline = false;
};

/// `rgflow generate`. Collective over `world`: every rank reads the options; rank 0 creates the
/// file (serial HDF5), then every rank opens it with the MPI-IO driver on `world` (metadata
/// collective there) and writes its samples.
int run_generate(const Comm& world, const Invocation& invocation);
/// `rgflow info`. Collective over `world` (the cumulants are merged over it); every rank opens
/// the dataset with serial HDF5 itself.
int run_info(const Comm& world, const Invocation& invocation);
/// `rgflow train`. Collective over `world`: the dataset is opened with the MPI-IO driver on
/// `world` (metadata collective there), every step reduces over it, and rank 0 alone writes
/// model.h5 (serial HDF5, built in memory).
int run_train(const Comm& world, const Invocation& invocation);
/// `rgflow analyze`. Collective over `world`: the datasets are read over it, the statistics merged
/// over it, and rank 0 writes results.h5 (serial HDF5).
int run_analyze(const Comm& world, const Invocation& invocation);
/// `rgflow run PIPELINE.yaml`: `pipeline_path` is the positional argument (may be empty).
/// Collective over `world`: each stage runs on all of it, in order.
int run_pipeline(const Comm& world, const Invocation& invocation, const std::string& pipeline_path);

}  // namespace rgflow::app
