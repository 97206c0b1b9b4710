// rgflow generate: i.i.d. lattice fields and every coarse-grained level, written collectively to
// one HDF5 dataset.
//
// Ranks form sample groups of `lattice_ranks` consecutive ranks. Groups share out the samples;
// inside a group a DMDA over top-level blocks splits the lattice, so each rank generates its own
// sites of each sample (the values depend only on seed, sample and global site) and coarse-grains
// them without communication. Samples stream through in chunks sized by a memory budget.
#include <petscsys.h>
#include <sys/resource.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

#include "commands.hpp"
#include "rgflow/coarse/block_map.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/core/petsc.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/field/generator.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/lattice/dmda.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::app {
namespace {

struct GenerateConfig {
  io::DatasetSpec spec;
  std::string output;
  bool force = false;
  bool resume = false;
  bool quiet = false;
  std::string io_mode = "auto";  // auto, collective, independent
  int lattice_ranks = 0;         // 0: chosen from the sizes
  int64_t chunk_budget_bytes = 0;
  int64_t stop_after_chunks = 0;  // test hook: simulate a crash after this many chunks
};

GenerateConfig read_config(OptionReader& options, const std::string& command_line) {
  GenerateConfig config;
  auto& spec = config.spec;
  config.output = options.get_string("o", "dataset.h5", "output HDF5 file");
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
  spec.dtype = options.get_choice("dtype", "float32", {"float32", "float64"}, "stored value type");
  const double default_dimension = spec.geometry.dim / 2.0;
  spec.scaling_dimension =
      options.get_real("scaling_dimension", default_dimension,
                       "Delta in y = b^(-Delta) sum_block x (default d/2, the CLT map)");
  config.lattice_ranks = static_cast<int>(
      options.get_int("lattice_ranks", 0,
                      "ranks per sample group splitting the lattice (0: automatic)", 0, INT32_MAX));
  config.chunk_budget_bytes =
      options.get_int("chunk_mb", 64, "memory budget per rank for a chunk of samples, MiB", 1,
                      1 << 20)
      << 20;
  config.io_mode = options.get_choice(
      "io", "auto", {"auto", "collective", "independent"},
      "MPI-IO mode for field data (auto: independent when every rank owns whole samples)");
  config.force = options.get_flag("force", "overwrite an existing output");
  config.resume = options.get_flag("resume", "continue the partial output of an interrupted run");
  config.quiet = options.get_flag("quiet", "no progress line and no summary");
  config.stop_after_chunks =
      options.get_int("test_stop_after_chunks", 0,
                      "testing only: end abruptly after this many chunks", 0, INT64_MAX);
  spec.command_line = command_line;
  if (options.help()) return config;

  // Values that are fine alone but not together.
  if (spec.distribution.kind == field::DistributionKind::kGamma) {
    if (!options.given("gamma_shape") || !(gamma_shape > 0)) {
      throw UsageError("option " + options.full_name("gamma_shape") +
                       ": -distribution gamma needs a positive shape (got " +
                       (options.given("gamma_shape") ? std::to_string(gamma_shape) : "none") + ")");
    }
    spec.distribution.gamma_shape = gamma_shape;
  } else if (options.given("gamma_shape")) {
    throw UsageError("option " + options.full_name("gamma_shape") +
                     " applies only to -distribution gamma");
  }
  const auto& g = spec.geometry;
  int64_t top = 1;
  for (int k = 0; k < g.levels; ++k) {
    if (top > g.side / g.block_side) {
      throw UsageError("option " + options.full_name("levels") + ": " + std::to_string(g.levels) +
                       " levels of b = " + std::to_string(g.block_side) +
                       " need L >= b^K, but L = " + std::to_string(g.side));
    }
    top *= g.block_side;
  }
  if (g.side % top != 0) {
    throw UsageError("option " + options.full_name("L") + ": " + std::to_string(g.side) +
                     " is not divisible by b^K = " + std::to_string(g.block_side) + "^" +
                     std::to_string(g.levels) + " = " + std::to_string(top));
  }
  if (!(spec.scaling_dimension > 0)) {
    throw UsageError("option " + options.full_name("scaling_dimension") + ": must be positive");
  }
  return config;
}

// The samples one group writes, as runs of consecutive sample indices of at most `chunk`.
struct SampleRun {
  int64_t first = 0;
  int64_t count = 0;
};

std::vector<SampleRun> plan_runs(const std::vector<int64_t>& pending, int groups, int group,
                                 int64_t chunk) {
  const auto range = lattice::piece_range(static_cast<int64_t>(pending.size()), groups, group);
  std::vector<SampleRun> runs;
  for (int64_t i = range[0]; i < range[1]; ++i) {
    const int64_t sample = pending[static_cast<size_t>(i)];
    if (!runs.empty() && runs.back().first + runs.back().count == sample &&
        runs.back().count < chunk) {
      ++runs.back().count;
    } else {
      runs.push_back({sample, 1});
    }
  }
  return runs;
}

struct PhaseTimes {
  double random = 0, coarse = 0, write = 0;
};

// A failed write (full disk, quota, permissions): what happened and how to recover.
std::string write_failure(const std::string& output, const std::string& reason) {
  return "writing '" + io::partial_path(output) + "' failed (" + reason +
         "); nothing was written under '" + output +
         "'; free space and rerun with -resume to continue (or -force to start over)";
}

template <typename T>
PhaseTimes generate_samples(const Comm& world, const Comm& group, const GenerateConfig& config,
                            io::DatasetWriter& writer, const lattice::Box& owned,
                            bool marks_completion, const std::vector<std::vector<SampleRun>>& plan,
                            int64_t chunk) {
  const auto& spec = config.spec;
  const auto& geometry = spec.geometry;
  const int levels = geometry.levels;
  std::vector<lattice::Box> boxes;
  std::vector<std::vector<T>> buffers;
  int64_t factor = 1;
  for (int level = 0; level <= levels; ++level) {
    boxes.push_back(owned.coarsened(factor));
    buffers.emplace_back(static_cast<size_t>(chunk * boxes.back().size()));
    factor *= geometry.block_side;
  }
  const double scale = coarse::block_map_scale(geometry.block_side, spec.scaling_dimension);
  size_t steps = 0;
  int64_t pending_total = 0;
  for (const auto& runs : plan) {
    steps = std::max(steps, runs.size());
    for (const auto& run : runs) pending_total += run.count;
  }
  const auto& my_runs = plan[static_cast<size_t>(world.rank() / group.size())];
  const PetscLogStage stage_random = log_stage("Gen: random");
  const PetscLogStage stage_coarse = log_stage("Gen: coarse");
  const PetscLogStage stage_write = log_stage("Gen: write");
  Progress progress("generate", static_cast<double>(spec.samples), "samples",
                    world.rank() == 0 && !config.quiet);
  const int64_t already_done = spec.samples - pending_total;
  PhaseTimes times;
  int64_t done_by_all = 0;
  for (size_t step = 0; step < steps; ++step) {
    const SampleRun run = step < my_runs.size() ? my_runs[step] : SampleRun{};
    double start = wall_seconds();
    world.local_phase("generate: compute", [&] {
      {
        LogStageGuard guard(stage_random);
        for (int64_t i = 0; i < run.count; ++i) {
          field::fill_box(spec.distribution, spec.seed, static_cast<uint32_t>(run.first + i),
                          geometry.side, boxes[0], buffers[0].data() + i * boxes[0].size());
        }
      }
      times.random += wall_seconds() - start;
      start = wall_seconds();
      LogStageGuard guard(stage_coarse);
      for (int level = 1; level <= levels; ++level) {
        const auto& fine = boxes[static_cast<size_t>(level - 1)];
        const auto& coarse_box = boxes[static_cast<size_t>(level)];
        for (int64_t i = 0; i < run.count; ++i) {
          coarse::block_sum_map(buffers[static_cast<size_t>(level - 1)].data() + i * fine.size(),
                                geometry.dim, fine.extent, geometry.block_side, scale,
                                buffers[static_cast<size_t>(level)].data() + i * coarse_box.size());
        }
      }
    });
    times.coarse += wall_seconds() - start;
    start = wall_seconds();
    {
      LogStageGuard guard(stage_write);
      // Every rank makes every write call (collective in collective mode) even after one of its
      // own failed (a full disk): a rank that stopped early would leave the others waiting. The
      // failures are then agreed on, and samples are marked complete only where every rank of
      // the group wrote its part.
      std::string error;
      const auto attempt = [&error](auto&& step) {
        try {
          step();
        } catch (const std::exception& failure) {
          if (error.empty()) error = failure.what();
        }
      };
      for (int level = 0; level <= levels; ++level) {
        attempt([&] {
          writer.write(level, run.first, run.count, boxes[static_cast<size_t>(level)],
                       buffers[static_cast<size_t>(level)].data());
        });
      }
      attempt([&] { fail_if_injected("generate: write", world.rank()); });
      const bool group_failed = group.any(!error.empty());
      attempt([&] {
        writer.mark_complete(group, run.first, marks_completion && !group_failed ? run.count : 0);
      });
      world.raise_if_any(error.empty() ? "" : write_failure(config.output, error));
    }
    times.write += wall_seconds() - start;
    for (const auto& runs : plan) {
      if (step < runs.size()) done_by_all += runs[step].count;
    }
    progress.update(static_cast<double>(already_done + done_by_all));
    if (config.stop_after_chunks > 0 &&
        static_cast<int64_t>(step) + 1 >= config.stop_after_chunks) {
      // Testing hook: end every rank abruptly, leaving the partial file as a crash would.
      world.barrier();
      std::fflush(stdout);
      std::_Exit(3);
    }
  }
  progress.finish();
  return times;
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
  const auto& spec = config.spec;
  const auto& geometry = spec.geometry;

  // Decomposition, decided from sizes alone (identical on every rank, before any collective).
  const int world_size = world.size();
  const int64_t blocks_per_axis = geometry.top_blocks_per_axis();
  int64_t bytes_per_sample = 0;
  for (int level = 0; level <= geometry.levels; ++level) {
    bytes_per_sample += geometry.level_sites(level) * io::dtype_bytes(spec.dtype);
  }
  int lattice_ranks = config.lattice_ranks;
  if (lattice_ranks == 0) {
    lattice_ranks = lattice::default_lattice_ranks(geometry, world_size, spec.samples,
                                                   bytes_per_sample, config.chunk_budget_bytes);
  }
  const std::string ranks_option = options.full_name("lattice_ranks");
  if (world_size % lattice_ranks != 0) {
    throw UsageError("option " + ranks_option + ": " + std::to_string(lattice_ranks) +
                     " does not divide the number of ranks, " + std::to_string(world_size));
  }
  int64_t top_blocks = 1;
  for (int axis = 0; axis < geometry.dim; ++axis) top_blocks *= blocks_per_axis;
  if (lattice_ranks > top_blocks) {
    throw UsageError("option " + ranks_option + ": " + std::to_string(lattice_ranks) +
                     " exceeds the number of top-level blocks, " + std::to_string(top_blocks) +
                     " (each rank needs at least one block of side b^K)");
  }
  const auto grid = lattice::choose_process_grid(geometry.dim, blocks_per_axis, lattice_ranks);
  if (!grid) {
    throw UsageError("option " + ranks_option + ": " + std::to_string(lattice_ranks) +
                     " ranks cannot be arranged on a grid of " + std::to_string(blocks_per_axis) +
                     " top-level blocks per axis");
  }
  const int groups = world_size / lattice_ranks;

  const io::OutputState state =
      io::prepare_output(world, config.output, options.full_name("o"), config.force, config.resume,
                         io::Resumable::kYes);
  if (state == io::OutputState::kComplete) {
    // Rank 0 looks; whatever it finds (also a file that is no dataset) reaches every rank.
    world.local_phase("generate: check existing output", [&] {
      if (world.rank() != 0) return;
      const std::string replace = " (use -force to replace it)";
      std::string difference;
      try {
        difference = spec.difference(io::DatasetReader(config.output).spec());
      } catch (const std::exception&) {
        throw UsageError("the existing output '" + config.output +
                         "' is not a dataset rgflow can read" + replace);
      }
      if (!difference.empty()) {
        throw UsageError("the existing output '" + config.output + "' was made with " + difference +
                         replace);
      }
    });
    if (world.rank() == 0) io::release_output(config.output);
    if (world.rank() == 0 && !config.quiet) {
      std::printf("rgflow generate: '%s' is already complete; nothing to do\n",
                  config.output.c_str());
    }
    return 0;
  }

  const double start = wall_seconds();
  const int group = world.rank() / lattice_ranks;
  const Comm group_comm = world.split(group, world.rank());
  const lattice::BlockDecomposition decomposition(group_comm, geometry, *grid);
  const lattice::Box& owned = decomposition.owned();
  if (!(owned == lattice::owned_box(geometry, *grid, group_comm.rank()))) {
    throw LibraryError("the DMDA's ownership differs from the planned decomposition");
  }

  const std::string partial = io::partial_path(config.output);
  const double open_start = wall_seconds();
  // Ranks that own whole samples write large contiguous pieces: independent I/O then avoids the
  // collective layer's shuffling (measured in docs/performance.md). Ranks sharing a lattice
  // write many short rows, which collective buffering merges.
  const bool collective =
      config.io_mode == "collective" || (config.io_mode == "auto" && lattice_ranks > 1);
  // Creating (rank 0 alone) reserves every block of the file, and resuming reserves the blocks
  // still missing: a disk too small fails here, on every rank alike, and the writes below cannot
  // fail for lack of space on some ranks only (which would hang them inside HDF5; see
  // DatasetWriter::create).
  std::optional<io::DatasetWriter> opened;
  std::vector<uint8_t> done;
  {
    std::string error;
    try {
      opened.emplace(state == io::OutputState::kResume
                         ? io::DatasetWriter::reopen(world, partial, spec, collective)
                         : io::DatasetWriter::create(world, partial, spec, collective));
      done = opened->completed_samples();
      fail_if_injected("generate: open", world.rank());
    } catch (const UsageError& problem) {
      error = problem.what();
    } catch (const std::exception& failure) {
      error = write_failure(config.output, failure.what());
    }
    world.raise_if_any(error);
  }
  io::DatasetWriter& writer = *opened;
  const double open_seconds = wall_seconds() - open_start;
  std::vector<int64_t> pending;
  for (int64_t sample = 0; sample < spec.samples; ++sample) {
    if (!done[static_cast<size_t>(sample)]) pending.push_back(sample);
  }

  int64_t local_bytes_per_sample = 0;
  {
    int64_t factor = 1;
    for (int level = 0; level <= geometry.levels; ++level) {
      local_bytes_per_sample += owned.coarsened(factor).size() * io::dtype_bytes(spec.dtype);
      factor *= geometry.block_side;
    }
  }
  // Samples per chunk: as many as the budget allows, but no more than a group has to do.
  const int64_t largest_share = (static_cast<int64_t>(pending.size()) + groups - 1) / groups;
  const int64_t chunk = std::max<int64_t>(
      1, std::min(largest_share, config.chunk_budget_bytes / local_bytes_per_sample));
  std::vector<std::vector<SampleRun>> plan;
  for (int g = 0; g < groups; ++g) plan.push_back(plan_runs(pending, groups, g, chunk));

  if (world.rank() == 0 && !config.quiet) {
    std::printf(
        "rgflow generate: %d rank(s) = %d sample group(s) x %d lattice rank(s) (grid %dx%dx%d), "
        "%" PRId64 " samples per chunk%s\n",
        world_size, groups, lattice_ranks, (*grid)[0], (*grid)[1], (*grid)[2], chunk,
        state == io::OutputState::kResume
            ? (", resuming: " + std::to_string(pending.size()) + " samples left").c_str()
            : "");
    std::fflush(stdout);
  }

  const bool marks_completion = group_comm.rank() == 0;
  const PhaseTimes times = spec.dtype == "float64"
                               ? generate_samples<double>(world, group_comm, config, writer, owned,
                                                          marks_completion, plan, chunk)
                               : generate_samples<float>(world, group_comm, config, writer, owned,
                                                         marks_completion, plan, chunk);
  const double close_start = wall_seconds();
  {
    // Closing flushes (collectively): a full disk may show only here, on some ranks.
    std::string error;
    try {
      writer.finish();
      fail_if_injected("generate: finish", world.rank());
    } catch (const std::exception& failure) {
      error = write_failure(config.output, failure.what());
    }
    world.raise_if_any(error);
  }
  io::commit_output(world, config.output);
  const double close_seconds = wall_seconds() - close_start;
  const double seconds = wall_seconds() - start;
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  const double peak_rss_mib = world.max(static_cast<double>(usage.ru_maxrss) / 1024.0);

  if (world.rank() == 0 && !config.quiet) {
    const double sites =
        static_cast<double>(pending.size()) * static_cast<double>(geometry.level_sites(0));
    const double bytes =
        static_cast<double>(pending.size()) * static_cast<double>(bytes_per_sample);
    std::printf(
        "rgflow generate: %.4g sites (%zu samples, levels 0-%d), %.3g GB in %.2f s: %.3g sites/s, "
        "%.0f MB/s, peak RSS %.0f MiB/rank [rank 0: open %.2f s, random %.2f s, coarse %.2f s, "
        "write %.2f s, close %.2f s] -> %s\n",
        sites, pending.size(), geometry.levels, bytes / 1e9, seconds, sites / seconds,
        bytes / seconds / 1e6, peak_rss_mib, open_seconds, times.random, times.coarse, times.write,
        close_seconds, config.output.c_str());
  }
  return 0;
}

}  // namespace rgflow::app
