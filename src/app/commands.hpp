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
};

int run_generate(const Comm& world, const Invocation& invocation);
int run_info(const Comm& world, const Invocation& invocation);
int run_train(const Comm& world, const Invocation& invocation);
int run_analyze(const Comm& world, const Invocation& invocation);

}  // namespace rgflow::app
