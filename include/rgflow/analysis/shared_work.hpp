// The steps of rgflow analyze whose work is shared out over the ranks of a communicator by model
// or prediction rather than by piece of the data: cumulant propagation and the symmetry metrics;
// and the steps that reduce what the passes over the data and test sets filled: the
// generalisation table and the learned flows.
// Each number is made by one rank and handed to the others bit for bit (a broadcast) or summed
// over ranks with zeros elsewhere (exact), so results are the same for any rank count. The
// rank-local work runs in PhaseTimes phases (Comm::local_phase: a failure on one rank ends every
// rank with one line). Unlike the kernels of analysis/, these functions communicate.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rgflow/analysis/data_pass.hpp"
#include "rgflow/analysis/generalisation.hpp"
#include "rgflow/analysis/model_propagation.hpp"
#include "rgflow/analysis/symmetry_metrics.hpp"
#include "rgflow/core/mpi.hpp"
#include "rgflow/core/phase_times.hpp"

namespace rgflow::analysis {

/// Collective over `world`: the generalisation table (generalisation_table). One pass over each
/// of `test_sets` (test_set_pass, pieces shared out over the ranks) adds every model's cells on
/// it to `sums`, which the data pass filled with the cells on `data`; then `sums` is summed over
/// ranks. `model_names` label the notes. Phase "analyze: generalisation".
GeneralisationTable generalisation_over_ranks(const Comm& world, PhaseTimes& times,
                                              const PassModels& pass_models,
                                              const GeneralisationPlan& plan, TileSums& sums,
                                              const std::vector<std::string>& model_names,
                                              const PassSource& data,
                                              const std::vector<PassSource>& test_sets);

/// Collective over `world`: every model's learned flow (learned_flow, in the order of `models`),
/// from its tables in `pass_models`, filled by the data pass and summed over ranks here first;
/// with spin tables also its spin observables over `groups` jackknife groups (`exact_spins`,
/// ising_exact_observables, apply to a flow from the data's level 0). `data`: the data's
/// geometry, `level0_exact` its distribution's cumulants. Phase "analyze: flows".
std::vector<LearnedFlow> learned_flows(const Comm& world, PhaseTimes& times,
                                       const PassModels& pass_models,
                                       const std::vector<PassModels::Source>& models,
                                       const lattice::Geometry& data, double scaling_dimension,
                                       const std::function<double(int)>& level0_exact,
                                       int64_t groups, const std::vector<double>& exact_spins);

/// Collective over `world`: the propagation report of every model (ModelPropagation, in model
/// order), its predictions shared out over the ranks (share_predictions) and broadcast, its
/// Monte Carlo groups filled by their owners from `read` (the data's slabs as double; the
/// (model, group) units of all models dealt out over the ranks in turn) and summed over ranks.
/// Phases "analyze: propagation", "analyze: monte carlo", "analyze: mc estimates".
std::vector<PropagationReport> propagate_models(const Comm& world, PhaseTimes& times,
                                                const std::vector<PassModels::Source>& models,
                                                const PropagationData& data,
                                                const PropagationOptions& options, int64_t groups,
                                                const SlabReader<double>& read);

/// Collective over `world`: the symmetry metrics of every network (network k measured by rank k
/// mod P on the first kSymmetryBlocks level-0 blocks of `data`, output errors drawn from
/// `seed`), summed over ranks (SymmetrySums). Phase "analyze: symmetry". History fields empty.
std::vector<SymmetryReport> measure_symmetry(const Comm& world, PhaseTimes& times,
                                             const std::vector<PassModels::Source>& models,
                                             const PassSource& data, uint64_t seed);

}  // namespace rgflow::analysis
