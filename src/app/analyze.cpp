// rgflow analyze: reads its options, calls the layers and reports. The analysis lives in
// analysis/ (the data passes over (sample, tile) pieces, grouped moments, generalisation, learned
// flows, propagation and symmetry metrics: kernels without MPI or files, and shared_work for the
// steps that communicate), the files in io/ (analysis_inputs: the datasets and model.h5 files
// opened, checked and planned; results_file: results.h5, its CSV tables and the printed summary,
// atomic_file: no partial output on failure). Work is shared out by chunk of a jackknife slot,
// piece or model; each chunk's numbers are made by one rank and summed over ranks with zeros
// elsewhere, so results are bit-identical for any rank count and memory budget. Every rank-local
// phase runs inside Comm::local_phase (PhaseTimes), so a failure on any rank ends every rank with
// one line; each step is a PETSc log stage for -log_view.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "rgflow/analysis/cumulant_flow.hpp"
#include "rgflow/analysis/data_pass.hpp"
#include "rgflow/analysis/generalisation.hpp"
#include "rgflow/analysis/shared_work.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/core/petsc.hpp"
#include "rgflow/core/phase_times.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/core/text.hpp"
#include "rgflow/io/analysis_inputs.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/io/results_file.hpp"

namespace rgflow::app {
namespace {

struct AnalyzeConfig {
  std::string data, output;
  std::vector<std::string> models, eval_data;
  int order = 8;
  int64_t groups = 16;
  std::string jackknife = "auto";
  io::ReadBudget budget;  // per rank: pieces read at once and the models' work space
  bool force = false, quiet = false;
  analysis::PropagationOptions propagation;
  // The options as the user types them, for messages.
  analysis::JackknifeNames jackknife_names{"-groups", "-jackknife", ""};
  std::string output_option = "-o";
};

// Reads and checks every option; the one place analyze's options are read. Local: it reads the
// options database only, and every rank reaches the same verdict.
AnalyzeConfig read_config(OptionReader& o) {
  AnalyzeConfig c;
  c.data = o.get_string("data", "", "dataset to analyse (required)");
  const std::string models = o.get_string("models", "", "trained models, comma separated");
  const std::string eval_data =
      o.get_string("eval_data", "", "datasets of other distributions for the generalisation table");
  c.order = static_cast<int>(o.get_int("order", 8, "highest cumulant order P", 2, 12));
  c.groups = o.get_int("groups", 16, "jackknife groups", 2, 1 << 20);
  c.jackknife = o.get_choice(
      "jackknife", "auto", {"auto", "samples", "space"},
      "jackknife groups: consecutive samples, or slabs of whole top-level block rows of every "
      "sample (for few large samples); auto: samples when there are at least -groups of them");
  c.output = o.get_string("o", "results.h5", "output results file");
  c.budget.bytes =
      o.get_int("memory_mb", 64,
                "memory budget per rank, MiB: the pieces of samples read at once (whole tiles of "
                "top-level block rows, all levels) and the models' work space",
                1, int64_t{1} << 30)
      << 20;
  const int64_t test_budget =
      o.get_int("test_memory_bytes", 0,
                "testing only: the memory budget in bytes (overrides -memory_mb)", 0, INT64_MAX);
  c.force = o.get_flag("force", "overwrite an existing output");
  c.quiet = o.get_flag("quiet", "no table on stdout");
  auto& p = c.propagation;
  p.modes = o.get_choice(
      "propagation", "auto", {"auto", "none", "exact", "taylor", "gauss", "all"},
      "cumulant propagation through the models (auto: exact for identity, quadratic and cubic "
      "activations, taylor and gauss otherwise)");
  p.settings.taylor_order = static_cast<int>(
      o.get_int("taylor_order", 3, "Taylor closure: order of the expansion", 1, 3));
  p.settings.quadrature_points = static_cast<int>(o.get_int(
      "quadrature_points", 6, "Gaussian closure: Gauss-Hermite points per dimension", 2, 20));
  p.max_width = static_cast<int>(
      o.get_int("propagation_max_width", 32,
                "propagation: widest layer (units, graph layers: nodes x features)", 1, 128));
  p.blocks =
      o.get_int("propagation_blocks", 32768,
                "propagation: blocks of the data for the Monte Carlo estimates", 16, INT32_MAX);
  if (o.help()) return c;
  c.jackknife_names = {o.full_name("groups"), o.full_name("jackknife"), c.data};
  c.output_option = o.full_name("o");
  c.budget.option = o.full_name(test_budget > 0 ? "test_memory_bytes" : "memory_mb");
  if (test_budget > 0) c.budget.bytes = test_budget;
  c.models = non_empty_items(models);
  c.eval_data = non_empty_items(eval_data);
  if (c.data.empty()) throw UsageError("option " + o.full_name("data") + " is required");
  if (c.models.empty() && !c.eval_data.empty()) {
    throw UsageError("option " + o.full_name("eval_data") + " needs -models");
  }
  // Results are stored per model and test set name (the file stem): names must not collide.
  const std::string model_clash = io::model_names_problem(c.models);
  if (!model_clash.empty())
    throw UsageError("option " + o.full_name("models") + ": " + model_clash);
  const std::string test_clash = io::test_set_names_problem(c.eval_data);
  if (!test_clash.empty())
    throw UsageError("option " + o.full_name("eval_data") + ": " + test_clash);
  return c;
}

// Collective over `world`: the analysis of `config`, results.h5 and its tables written
// atomically by rank 0 with serial HDF5 (nothing left behind on failure), the summary printed on
// rank 0. Every rank opens the inputs itself (serial HDF5).
int analyze(const Comm& world, const AnalyzeConfig& config, const std::string& command_line) {
  PhaseTimes times;  // each -log_view stage holds its phases and the sums over ranks after them
  // Inputs: every rank opens every file itself, so a missing or malformed one fails everywhere.
  io::AnalysisInputs inputs;
  {
    LogStageGuard stage(log_stage("Analyze: inputs"));
    times.run(world, "analyze: inputs", [&] {
      inputs =
          io::open_analysis_inputs(config.data, config.models, config.eval_data, config.jackknife,
                                   config.groups, config.jackknife_names, config.budget);
    });
  }
  const auto& reader = inputs.data;
  const analysis::JackknifeGroups groups_kind = inputs.groups_kind;
  const int64_t read_rows = inputs.read_rows;
  const auto& spec = reader->spec();
  const auto& g = spec.geometry;
  const analysis::PassSource data = io::pass_source(*reader);
  const analysis::PassChunks chunks(g, spec.samples, groups_kind, config.groups);
  io::prepare_output(world, config.output, config.output_option, config.force, false);
  {
    // No partial output: the results file is written last, whole, or not at all.
    const io::PartialOutputDiscard discard(world, config.output);
    io::AnalysisResults results;
    results.models = inputs.model_names();
    const std::vector<analysis::PassModels::Source> sources = inputs.pass_models();
    // One table of (level, group) moments, grouped as decided above, a slot per chunk.
    auto grouped = [&](int levels) { return chunks.table(levels, config.order); };
    // Spin sums of the data's levels and of every learned flow (fields of spins only).
    const auto spin_table = inputs.spin_tables();
    std::unique_ptr<analysis::SpinSumTable> data_spins;
    if (spin_table) data_spins = std::make_unique<analysis::SpinSumTable>(spin_table(0));
    const std::vector<double> exact_spins =
        analysis::ising_exact_observables(g.dim, spec.ising.beta);
    // Every model's kernels (float32 where model and data both are), learned-flow table and
    // learned levels' spin sums.
    const analysis::PassModels pass_models(sources, spec.dtype, g.levels, grouped, spin_table);
    // The generalisation table's cells (model x test set) and their slots.
    const std::vector<analysis::PassSource> test_sets = inputs.test_set_sources();
    results.plan = inputs.generalisation_plan();
    analysis::TileSums tile_sums(
        results.plan, analysis::tiles_per_source(data, groups_kind, config.groups, test_sets));
    const auto exact = analysis::known_exact_cumulants(spec.distribution);
    {
      // One pass over the data, piece by piece: its cumulants, every model's learned flow and
      // its generalisation cells on the data.
      LogStageGuard stage(log_stage("Analyze: data pass"));
      analysis::GroupedMoments data_moments = grouped(g.levels + 1);
      times.run(world, "analyze: cumulants", [&] {
        analysis::data_pass(data, chunks, data_moments, pass_models, results.plan, tile_sums,
                            read_rows, world.rank(), world.size(), data_spins.get());
      });
      world.sum(data_moments.buffer());
      if (data_spins) {
        world.sum(data_spins->buffer());
        results.spins = data_spins->flow(config.groups, exact_spins);
        results.beta = spec.ising.beta;
      }
      results.flow =
          analysis::cumulant_flow(data_moments.by_level(), static_cast<double>(g.sites_per_block()),
                                  static_cast<double>(g.block_side), spec.scaling_dimension, exact);
    }
    {
      // One pass over each test set for every model's cell on it.
      LogStageGuard stage(log_stage("Analyze: generalisation"));
      auto table = analysis::generalisation_over_ranks(world, times, pass_models, results.plan,
                                                       tile_sums, results.models, data, test_sets);
      results.mse = std::move(table.mse);
      results.notes = std::move(table.notes);
    }
    {
      LogStageGuard stage(log_stage("Analyze: flows"));
      results.learned_flows =
          analysis::learned_flows(world, times, pass_models, sources, g, spec.scaling_dimension,
                                  exact, config.groups, exact_spins);
    }
    if (config.propagation.modes != "none") {
      LogStageGuard stage(log_stage("Analyze: propagation"));
      results.propagation =
          analysis::propagate_models(world, times, sources,
                                     {g, spec.distribution, spec.scaling_dimension, spec.samples,
                                      groups_kind == analysis::JackknifeGroups::kSpace},
                                     config.propagation, config.groups, data.read_double);
    }
    {
      LogStageGuard stage(log_stage("Analyze: symmetry"));
      results.symmetry = analysis::measure_symmetry(world, times, sources, data, spec.seed);
      inputs.add_histories(results.symmetry);
    }
    {
      LogStageGuard stage(log_stage("Analyze: write"));
      times.run_on_root(world, "analyze: write", [&] {
        io::write_analysis_results(
            io::partial_path(config.output), config.output,
            {config.data, command_line, utc_timestamp(), config.groups,
             analysis::jackknife_groups_name(groups_kind), pass_models.precision(results.models)},
            spec, results);
      });
      io::commit_output(world, config.output);
    }
    const double peak_rss = peak_rss_mib(world);
    if (world.rank() == 0 && !config.quiet) {
      io::print_analysis_summary(stdout, config.output, config.order, results);
      times.print(stdout, "rgflow analyze");
      std::printf(
          "rgflow analyze: peak RSS %.0f MiB/rank (largest), budget %s/rank, %lld "
          "top-level block row(s) of the data per read\n",
          peak_rss, mib_text(config.budget.bytes).c_str(), static_cast<long long>(read_rows));
    }
  }
  return 0;
}

}  // namespace

// Collective over `world` (commands.hpp).
int run_analyze(const Comm& world, const Invocation& invocation) {
  OptionReader options(invocation.prefix, invocation.help);
  const AnalyzeConfig config = read_config(options);
  if (invocation.help) {
    if (world.rank() == 0) options.print_help("rgflow analyze -data FILE [options]");
    return 0;
  }
  if (invocation.prefix.empty()) require_all_options_used();
  if (invocation.validate_only) return 0;
  return analyze(world, config, invocation.command_line);
}

}  // namespace rgflow::app
