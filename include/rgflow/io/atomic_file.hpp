// Atomic outputs: a stage writes to "<output>.partial" in the output's folder and renames it to
// the final name only when complete, so a crash never leaves a half-written file under the final
// name; the partial file of an interrupted run is what -resume continues.
#pragma once

#include <string>

#include "rgflow/core/mpi.hpp"

namespace rgflow::io {

enum class OutputState {
  kFresh,     // write a new partial file from scratch
  kResume,    // a partial file exists and -resume asks to continue it
  kComplete,  // the final output exists and -resume was given: nothing left to do
};

std::string partial_path(const std::string& final_path);

/// Collective on `comm`: checks on rank 0 that the output's folder exists and is writable and
/// that existing files are allowed to be replaced or resumed; removes stale files when `force`.
/// Every rank returns the same state or throws the same UsageError. `option` names the output
/// option in messages (e.g. "-o").
OutputState prepare_output(const Comm& comm, const std::string& final_path,
                           const std::string& option, bool force, bool resume);

/// Collective: renames the partial file to the final name on rank 0 (after every rank has closed
/// it).
void commit_output(const Comm& comm, const std::string& final_path);

}  // namespace rgflow::io
