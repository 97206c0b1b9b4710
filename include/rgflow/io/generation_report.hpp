// generate's checks of option combinations and its report lines, as pure functions of what a run
// asked for and measured (no MPI, no files): app/generate.cpp reads the options, calls these and
// prints their lines on rank 0.
#pragma once

#include <functional>
#include <string>

#include "rgflow/io/generation.hpp"
#include "rgflow/lattice/generation_plan.hpp"

namespace rgflow::io {

/// The first option of `spec` that is fine alone but not with the others (an Ising option without
/// -field ising, an Ising lattice of d = 1 or of odd side, beta missing or not positive, a gamma
/// distribution without a positive shape, a scaling dimension not positive, ...), as (option name
/// without dash, reason); ok() when there is none. An option given where it has no meaning has
/// the reason "applies only to ...". `given(name)` says whether the option was given.
lattice::PlanProblem field_options_problem(const DatasetSpec& spec,
                                           const std::function<bool(const char*)>& given);

/// The decomposition of a generate run on `world_size` ranks (lattice::choose_decomposition; an
/// Ising chain is one sample group, every rank on the one lattice), or the problem with
/// `requested_lattice_ranks` (0: automatic) or with the memory budget of an Ising box.
struct GenerationDecomposition {
  lattice::Decomposition decomposition;
  lattice::PlanProblem problem;
};
GenerationDecomposition generation_decomposition(const DatasetSpec& spec, int world_size,
                                                 int requested_lattice_ranks, int64_t budget_bytes,
                                                 const std::string& budget_option);

/// Why a rank's box of the Ising lattice (the box of rank 0 on `decomposition`, the largest)
/// with every level does not fit `budget_bytes`; ok() when it does or the field is not Ising.
lattice::PlanProblem ising_memory_problem(const DatasetSpec& spec,
                                          const lattice::Decomposition& decomposition,
                                          int64_t budget_bytes, const std::string& budget_option);

/// What a run is about to do, for generate's opening line: `extended_from` samples of an
/// extension's source (0 if none), `left` samples when resuming (-1 if not).
struct RunDescription {
  int world_size = 1;
  lattice::Decomposition decomposition;
  int64_t samples_per_chunk = 0, tiles_per_run = 0, memory_budget_bytes = 0;
  int64_t extended_from = 0;
  bool source_has_checksums = true;
  int64_t left = -1;
};
std::string start_line(const DatasetSpec& spec, const RunDescription& run);

/// The closing line: sizes, rates, peak memory and the time split of rank 0 (`written` samples).
std::string summary_line(const DatasetSpec& spec, int64_t written, double seconds,
                         double peak_rss_mib, const GenerationTimes& times,
                         const std::string& output);

/// The chain's tau_int of |m| and of the energy, and the warning (one line, or "" when
/// sweeps_between >= 2 tau_int of both) that samples are closer than 2 tau_int.
std::string ising_tau_line(const IsingRunSummary& summary);
std::string ising_tau_warning(const IsingRunSummary& summary, const IsingChainSpec& chain);

}  // namespace rgflow::io
