// rgflow generate: i.i.d. lattice fields or Ising configurations and every coarse-grained level,
// written collectively to one HDF5 dataset. This file reads the options, calls the layers and
// reports: the decomposition and the plan are lattice/ (pure functions of sizes, the same on every
// rank), the writing io/generation.hpp (an Ising chain over every rank: io/ising_generation.hpp),
// the checks of option combinations and the report lines io/generation_report.hpp.
#include <cstdio>
#include <optional>

#include "commands.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/io/generation_report.hpp"

namespace rgflow::app {
namespace {

// The options of one `rgflow generate`: what the layer writes, and how this run goes about it.
struct GenerateConfig {
  io::GenerationSettings settings;
  bool force = false;
  bool resume = false;
  int lattice_ranks = 0;                  // 0: chosen from the sizes
  int64_t extend_to = 0;                  // -extend: grow the complete output to this many samples
  std::optional<int64_t> samples_option;  // -samples, when given (with -extend: the file's count)
  std::string budget_option;              // the option that set the memory budget
};

// `problem` as one UsageError naming its option ("option -x: reason", or "option -x applies
// only to ..." for an option given where it has no meaning).
void throw_if(const lattice::PlanProblem& problem, const OptionReader& options) {
  if (problem.ok()) return;
  const bool misplaced = problem.reason.rfind("applies only to ", 0) == 0;
  throw UsageError("option " + options.full_name(problem.parameter) + (misplaced ? " " : ": ") +
                   problem.reason);
}

// Reads and checks every option of `rgflow generate` (UsageError naming the first bad one),
// except those that depend on the rank count. Local: every rank reaches the same verdict.
GenerateConfig read_config(OptionReader& options, const std::string& command_line) {
  GenerateConfig config;
  io::GenerationSettings& settings = config.settings;
  auto& spec = settings.spec;
  settings.output = options.get_string("o", "dataset.h5", "output HDF5 file");
  spec.geometry.dim = static_cast<int>(options.get_int("d", 2, "lattice dimension", 1, 3));
  spec.geometry.side = options.get_int("L", 256, "lattice side (sites per axis)", 1, INT64_MAX);
  spec.geometry.block_side = options.get_int("b", 2, "block side", 2, INT64_MAX);
  spec.geometry.levels = static_cast<int>(
      options.get_int("levels", 4, "coarse-grained levels K (L divisible by b^K)", 0, 62));
  spec.samples = options.get_int("samples", 512, "number of configurations", 1, UINT32_MAX);
  spec.seed = static_cast<uint64_t>(
      options.get_int("seed", 7, "random seed (same seed, same bits)", 0, INT64_MAX));
  const std::string distribution =
      options.get_choice("distribution", "uniform", field::distribution_names(),
                         "site distribution, standardised to mean 0 and variance 1");
  spec.distribution.kind = *field::parse_distribution(distribution);
  const double gamma_shape =
      options.get_real("gamma_shape", 0, "shape a > 0 of -distribution gamma");
  spec.field = options.get_choice("field", "iid", {"iid", "ising"},
                                  "the fine field: iid (values of -distribution) or ising (spins "
                                  "of a Markov chain at -beta, -update)");
  spec.ising.beta = options.get_real(
      "beta", 0,
      "-field ising: coupling beta > 0 (J = 1; beta_c 0.4406868 in 2D, 0.2216546 in 3D)");
  spec.ising.thermalize =
      options.get_int("thermalize", 1000,
                      "-field ising: sweeps from the cold start before sample 0", 0, UINT32_MAX);
  spec.ising.sweeps_between = options.get_int(
      "sweeps_between", 10,
      "-field ising: sweeps between consecutive samples (a warning when below 2 tau_int)", 1,
      UINT32_MAX);
  spec.ising.update = options.get_choice(
      "update", "swendsen_wang", io::ising_update_names(),
      "-field ising: the chain's sweep: swendsen_wang (cluster update, the default: near beta_c "
      "its tau_int is about 1000x shorter in sweeps), heat_bath (checkerboard) or "
      "swendsen_wang_heat_bath (one of each per sweep)");
  spec.rg_map = options.get_choice(
      "rg_map", "block_sum", io::rg_map_names(),
      "block-spin map: block_sum (b^(-Delta) times the block sum), majority (sign of the block "
      "sum, keyed ties) or decimation (the block's first site); the last two with -field ising");
  spec.dtype = options.get_choice("dtype", "float32", {"float32", "float64"},
                                  "stored value type (of the levels that do not hold spins)");
  const double default_dimension = spec.geometry.dim / 2.0;
  spec.scaling_dimension =
      options.get_real("scaling_dimension", default_dimension,
                       "Delta in y = b^(-Delta) sum_block x (default d/2, the CLT map)");
  config.lattice_ranks = static_cast<int>(
      options.get_int("lattice_ranks", 0,
                      "ranks per sample group splitting the lattice (0: automatic)", 0, INT32_MAX));
  const int64_t max_mib = int64_t{1} << 30;
  const bool old_budget_name = options.given("chunk_mb");
  int64_t memory_mib = options.get_int(
      "memory_mb", 64,
      "memory budget per rank, MiB: the most field values held at once (all levels; a step "
      "aims at 4 MiB, at least one row of top-level blocks)",
      1, max_mib);
  const int64_t chunk_mib =
      options.get_int("chunk_mb", 64, "older name of -memory_mb (same meaning)", 1, max_mib);
  if (old_budget_name) {
    if (options.given("memory_mb")) {
      throw UsageError("options " + options.full_name("memory_mb") + " and " +
                       options.full_name("chunk_mb") +
                       " are the same budget (-chunk_mb is its older name): give one");
    }
    memory_mib = chunk_mib;
  }
  settings.memory_budget_bytes = memory_mib << 20;
  const int64_t test_budget = options.get_int(
      "test_memory_bytes", 0, "testing only: the memory budget in bytes (overrides -memory_mb)", 0,
      INT64_MAX);
  if (test_budget > 0) settings.memory_budget_bytes = test_budget;
  settings.io_mode = options.get_choice(
      "io", "auto", {"auto", "collective", "independent"},
      "MPI-IO mode for field data (auto: independent when every rank's box is whole rows)");
  config.force = options.get_flag("force", "overwrite an existing output");
  config.resume = options.get_flag("resume", "continue the partial output of an interrupted run");
  settings.quiet = options.get_flag("quiet", "no progress line and no summary");
  config.extend_to = options.get_int(
      "extend", 0,
      "grow the complete dataset -o to this many samples (the same options as the file; the "
      "same bits as generating them at once)",
      0, UINT32_MAX);
  settings.stop_after_steps =
      options.get_int("test_stop_after_chunks", 0,
                      "testing only: end abruptly after this many write steps", 0, INT64_MAX);
  spec.command_line = command_line;
  if (options.help()) return config;
  // An extension is checked at its final size; -samples, if given, must be the file's count.
  if (options.given("samples")) config.samples_option = spec.samples;
  if (config.extend_to > 0) spec.samples = config.extend_to;

  // Values that are fine alone but not together.
  spec.distribution.gamma_shape = gamma_shape;
  throw_if(io::field_options_problem(spec, [&](const char* name) { return options.given(name); }),
           options);
  throw_if(lattice::geometry_problem(spec.geometry, spec.samples), options);
  config.budget_option = test_budget > 0   ? "test_memory_bytes"
                         : old_budget_name ? "chunk_mb"
                                           : "memory_mb";
  throw_if(lattice::budget_problem(spec.geometry, io::dtype_bytes(spec.dtype), spec.dtype,
                                   settings.memory_budget_bytes, config.budget_option),
           options);
  return config;
}

}  // namespace

int run_generate(const Comm& world, const Invocation& invocation) {
  OptionReader options(invocation.prefix, invocation.help);
  GenerateConfig config = read_config(options, invocation.command_line);
  if (invocation.help) {
    if (world.rank() == 0) options.print_help("rgflow generate [options]");
    return 0;
  }
  if (invocation.prefix.empty()) require_all_options_used();
  // Checks that depend on the rank count come below: a pipeline is validated on any count (e.g.
  // on a login node before submission).
  if (invocation.validate_only) return 0;
  const io::GenerationSettings& settings = config.settings;
  const auto& spec = settings.spec;
  const std::string& output = settings.output;

  // Decomposition, decided from sizes alone (identical on every rank, before any collective).
  const bool ising = spec.field == "ising";
  const io::GenerationDecomposition chosen = io::generation_decomposition(
      spec, world.size(), config.lattice_ranks, settings.memory_budget_bytes, config.budget_option);
  throw_if(chosen.problem, options);
  const lattice::Decomposition& decomposition = chosen.decomposition;

  const bool extending = config.extend_to > 0;
  const io::OutputState state =
      extending ? io::prepare_extension(world, output, options.full_name("o"), config.force,
                                        config.resume)
                : io::prepare_output(world, output, options.full_name("o"), config.force,
                                     config.resume, io::Resumable::kYes);
  // An extension reads the existing output and copies its samples into the grown partial file.
  io::Extension extension;
  if (extending) {
    extension = io::open_extension(world, spec, output, config.samples_option, config.resume,
                                   options.full_name("extend"));
    if (!extension.reader) {
      if (world.rank() == 0) io::release_output(output);
      if (world.rank() == 0 && !settings.quiet) {
        std::printf("rgflow generate: '%s' already has %lld samples; nothing to do\n",
                    output.c_str(), static_cast<long long>(config.extend_to));
      }
      return 0;
    }
  }
  if (state == io::OutputState::kComplete) {
    // Kept when it holds this very dataset; rank 0 looks (also at a file that is no dataset).
    io::keep_complete_output(world, "generate", output, settings.quiet,
                             [&] { return io::complete_output_problem(output, spec); });
    return 0;
  }

  const double start = wall_seconds();
  io::DatasetGeneration generation(world, settings, decomposition,
                                   state == io::OutputState::kResume, extension.source);
  if (world.rank() == 0 && !settings.quiet) {
    const lattice::GenerationPlan& plan = generation.plan();
    io::RunDescription run{world.size(), decomposition, plan.samples_per_chunk, plan.tiles_per_run,
                           settings.memory_budget_bytes};
    if (extending) {
      run.extended_from = extension.source.samples;
      run.source_has_checksums = extension.reader->has_checksums();
    }
    if (state == io::OutputState::kResume) run.left = generation.pending();
    std::printf("%s\n", io::start_line(spec, run).c_str());
    std::fflush(stdout);
  }

  generation.write_pending();
  generation.finish();
  // The extended file replaces the one it grew from: its readers close it first.
  const double commit_start = wall_seconds();
  extension.reader.reset();
  io::commit_output(world, output);
  io::GenerationTimes times = generation.times();
  times.close += wall_seconds() - commit_start;
  const double seconds = wall_seconds() - start;
  const double peak_rss = peak_rss_mib(world);
  if (world.rank() != 0) return 0;
  if (ising && !settings.quiet) {
    std::printf("%s\n", io::ising_tau_line(*generation.ising_summary()).c_str());
  }
  if (!settings.quiet) {
    std::printf(
        "%s\n",
        io::summary_line(spec, generation.pending(), seconds, peak_rss, times, output).c_str());
  }
  // Whatever -quiet says: correlated samples are worth a warning.
  const std::string warning =
      ising ? io::ising_tau_warning(*generation.ising_summary(), spec.ising) : "";
  if (!warning.empty()) std::fprintf(stderr, "%s\n", warning.c_str());
  return 0;
}

}  // namespace rgflow::app
