// rgflow generate: i.i.d. lattice fields and every coarse-grained level, written collectively to
// one HDF5 dataset.
//
// Ranks form sample groups of `lattice_ranks` consecutive ranks. Groups share out the samples;
// inside a group the lattice is split into boxes of whole top-level blocks, so each rank generates
// its own sites of each sample (the values depend only on seed, sample and global site) and
// coarse-grains them without communication. A rank walks its box in tiles of whole top-level
// blocks sized by the memory budget, so memory is bounded whatever the lattice's size; the plan
// (lattice/generation_plan.hpp) is a pure function of sizes, the same on every rank.
#include <petscsys.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "commands.hpp"
#include "rgflow/coarse/block_map.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/core/petsc.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/core/text.hpp"
#include "rgflow/field/generator.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/io/checksum.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/lattice/generation_plan.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::app {
namespace {

struct GenerateConfig {
  io::DatasetSpec spec;
  std::string output;
  bool force = false;
  bool resume = false;
  bool quiet = false;
  std::string io_mode = "auto";     // auto, collective, independent
  int lattice_ranks = 0;            // 0: chosen from the sizes
  int64_t memory_budget_bytes = 0;  // field values held at once per rank, all levels
  int64_t stop_after_steps = 0;     // test hook: simulate a crash after this many steps
  int64_t extend_to = 0;            // -extend: grow the complete output to this many samples
  bool samples_given = false;       // -samples was given (with -extend it must be the file's)
  int64_t samples_option = 0;       // its value
};

// In an extension, samples [0, samples) are copied from the existing output as stored (their
// checksums checked against its own, where it has them) instead of being generated again.
struct CopySource {
  const io::DatasetReader* reader = nullptr;
  int64_t samples = 0;
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
  config.memory_budget_bytes = memory_mib << 20;
  const int64_t test_budget = options.get_int(
      "test_memory_bytes", 0, "testing only: the memory budget in bytes (overrides -memory_mb)", 0,
      INT64_MAX);
  if (test_budget > 0) config.memory_budget_bytes = test_budget;
  config.io_mode = options.get_choice(
      "io", "auto", {"auto", "collective", "independent"},
      "MPI-IO mode for field data (auto: independent when every rank's box is whole rows)");
  config.force = options.get_flag("force", "overwrite an existing output");
  config.resume = options.get_flag("resume", "continue the partial output of an interrupted run");
  config.quiet = options.get_flag("quiet", "no progress line and no summary");
  config.extend_to = options.get_int(
      "extend", 0,
      "grow the complete dataset -o to this many samples (the same options as the file; the "
      "same bits as generating them at once)",
      0, UINT32_MAX);
  config.samples_given = options.given("samples");
  config.stop_after_steps =
      options.get_int("test_stop_after_chunks", 0,
                      "testing only: end abruptly after this many write steps", 0, INT64_MAX);
  spec.command_line = command_line;
  if (options.help()) return config;
  // An extension is checked at its final size; -samples, if given, must be the file's count.
  config.samples_option = spec.samples;
  if (config.extend_to > 0) spec.samples = config.extend_to;

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
  const lattice::GeometryCheck check = lattice::check_geometry(g, spec.samples);
  switch (check.problem) {
    case lattice::GeometryProblem::kNone:
      break;
    case lattice::GeometryProblem::kTooManyLevels:
      throw UsageError("option " + options.full_name("levels") + ": " + std::to_string(g.levels) +
                       " levels of b = " + std::to_string(g.block_side) +
                       " need L >= b^K, but L = " + std::to_string(g.side));
    case lattice::GeometryProblem::kSideNotDivisible:
      throw UsageError("option " + options.full_name("L") + ": " + std::to_string(g.side) +
                       " is not divisible by b^K = " + std::to_string(g.block_side) + "^" +
                       std::to_string(g.levels) + " = " + std::to_string(check.top_block_side));
    case lattice::GeometryProblem::kBeyondIndexRange:
      throw UsageError("option " + options.full_name("L") + ": " + std::to_string(spec.samples) +
                       " samples of " + std::to_string(g.side) + "^" + std::to_string(g.dim) +
                       " sites are beyond rgflow's index range (at most 2^58 values per level)");
  }
  if (!(spec.scaling_dimension > 0)) {
    throw UsageError("option " + options.full_name("scaling_dimension") + ": must be positive");
  }
  // The budget must hold one top-level block, all levels: the smallest tile (whatever the rank
  // count, so a pipeline is checked before it runs).
  const int64_t block_bytes = lattice::top_block_bytes(g, io::dtype_bytes(spec.dtype));
  if (block_bytes > config.memory_budget_bytes) {
    const std::string budget_option = test_budget > 0   ? "test_memory_bytes"
                                      : old_budget_name ? "chunk_mb"
                                                        : "memory_mb";
    throw UsageError(
        "option " + options.full_name(budget_option) + ": " + mib_text(config.memory_budget_bytes) +
        " cannot hold one top-level block (side b^K = " + std::to_string(g.top_block_side()) +
        ", all levels, " + spec.dtype + "): it needs " + mib_text(block_bytes) +
        "; raise it or lower -levels");
  }
  return config;
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

// The first difference between the checksums of copied samples [first, first + count), as
// computed from the bytes read (`computed`: (levels + 1) x run_count, level-major) and as the
// source stores them, or "".
std::string source_checksum_problem(const CopySource& source, const std::string& path,
                                    int64_t first, int64_t count, int64_t run_count,
                                    const std::vector<uint64_t>& computed) {
  if (count <= 0 || !source.reader->has_checksums()) return "";
  const std::vector<uint64_t> stored = source.reader->read_checksums(first, count);
  const int levels = source.reader->spec().geometry.levels;
  for (int64_t i = 0; i < count; ++i) {
    for (int level = 0; level <= levels; ++level) {
      if (computed[static_cast<size_t>(level * run_count + i)] !=
          stored[static_cast<size_t>(level * count + i)]) {
        return "the dataset to extend '" + path + "' is damaged: level " + std::to_string(level) +
               ", sample " + std::to_string(first + i) +
               " does not match its checksum (rgflow info -verify names every check)";
      }
    }
  }
  return "";
}

template <typename T>
PhaseTimes generate_samples(const Comm& world, const Comm& group, const GenerateConfig& config,
                            io::DatasetWriter& writer, const lattice::GenerationPlan& plan,
                            int64_t pending_total, const CopySource& source) {
  const auto& spec = config.spec;
  const auto& geometry = spec.geometry;
  const int levels = geometry.levels;
  const int group_index = world.rank() / group.size();
  const int lattice_rank = group.rank();
  const bool marks_completion = lattice_rank == 0;
  // Buffers for the largest tile (tile 0) of samples_per_chunk samples, every level.
  const lattice::Box largest = plan.tilings[static_cast<size_t>(lattice_rank)].tile(0);
  std::vector<std::vector<T>> buffers;
  {
    int64_t factor = 1;
    for (int level = 0; level <= levels; ++level) {
      buffers.emplace_back(
          static_cast<size_t>(plan.samples_per_chunk * largest.coarsened(factor).size()));
      factor *= geometry.block_side;
    }
  }
  const double scale = coarse::block_map_scale(geometry.block_side, spec.scaling_dimension);
  const PetscLogStage stage_random = log_stage("Gen: random");
  const PetscLogStage stage_coarse = log_stage("Gen: coarse");
  const PetscLogStage stage_write = log_stage("Gen: write");
  Progress progress("generate", static_cast<double>(spec.samples), "samples",
                    world.rank() == 0 && !config.quiet);
  const int64_t already_done = spec.samples - pending_total;
  PhaseTimes times;
  double done_by_all = 0;  // samples of every group, counting a run's tiles as fractions
  std::vector<lattice::Box> boxes(static_cast<size_t>(levels + 1));
  // This rank's share of the checksums of the current run: (levels + 1) x run count, summed over
  // its tiles, then over the group's ranks when the run ends.
  std::vector<uint64_t> run_checksums;
  for (int64_t index = 0; index < plan.steps; ++index) {
    const lattice::GenerationPlan::Step step = plan.step(index, group_index, lattice_rank);
    const int64_t count = step.has_tile ? step.run.count : 0;
    // Samples of this run below source.samples are copied, the rest generated.
    const int64_t copied = std::clamp<int64_t>(source.samples - step.run.first, 0, step.run.count);
    if (index % plan.tiles_per_run == 0) {
      run_checksums.assign(static_cast<size_t>((levels + 1) * step.run.count), 0);
    }
    if (step.has_tile) {
      int64_t factor = 1;
      for (int level = 0; level <= levels; ++level) {
        boxes[static_cast<size_t>(level)] = step.tile.coarsened(factor);
        factor *= geometry.block_side;
      }
    } else {
      for (auto& box : boxes) box = lattice::Box{geometry.dim, {0, 0, 0}, {0, 0, 0}};
    }
    double start = wall_seconds();
    world.local_phase("generate: compute", [&] {
      if (count > 0 && copied > 0) {
        for (int level = 0; level <= levels; ++level) {
          source.reader->read_stored_box(level, step.run.first, copied,
                                         boxes[static_cast<size_t>(level)],
                                         buffers[static_cast<size_t>(level)].data());
        }
      }
      {
        LogStageGuard guard(stage_random);
        for (int64_t i = copied; i < count; ++i) {
          field::fill_box(spec.distribution, spec.seed, static_cast<uint32_t>(step.run.first + i),
                          geometry.side, boxes[0], buffers[0].data() + i * boxes[0].size());
        }
      }
      times.random += wall_seconds() - start;
      start = wall_seconds();
      LogStageGuard guard(stage_coarse);
      for (int level = 1; level <= levels; ++level) {
        const auto& fine = boxes[static_cast<size_t>(level - 1)];
        const auto& coarse_box = boxes[static_cast<size_t>(level)];
        for (int64_t i = copied; i < count; ++i) {
          coarse::block_sum_map(buffers[static_cast<size_t>(level - 1)].data() + i * fine.size(),
                                geometry.dim, fine.extent, geometry.block_side, scale,
                                buffers[static_cast<size_t>(level)].data() + i * coarse_box.size());
        }
      }
      // The checksums of exactly the values written below (copied ones included).
      for (int level = 0; level <= levels; ++level) {
        const auto& box = boxes[static_cast<size_t>(level)];
        for (int64_t i = 0; i < count; ++i) {
          run_checksums[static_cast<size_t>(level * step.run.count + i)] += io::box_checksum(
              buffers[static_cast<size_t>(level)].data() + i * box.size(), box,
              geometry.level_side(level), io::checksum_key(level, step.run.first + i));
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
      // the group wrote every tile of them (a failure ends the run before its last tile).
      std::string error;
      const auto attempt = [&error](auto&& work) {
        try {
          work();
        } catch (const std::exception& failure) {
          if (error.empty()) error = failure.what();
        }
      };
      for (int level = 0; level <= levels; ++level) {
        attempt([&] {
          writer.write(level, step.run.first, count, boxes[static_cast<size_t>(level)],
                       buffers[static_cast<size_t>(level)].data());
        });
      }
      attempt([&] { fail_if_injected("generate: write", world.rank()); });
      const bool group_failed = group.any(!error.empty());
      // The run's checksums: every rank of the group holds its boxes' share.
      std::string source_problem;
      if (step.ends_run) {
        group.sum(run_checksums);
        if (marks_completion && !group_failed) {
          try {
            source_problem = source_checksum_problem(source, config.output, step.run.first, copied,
                                                     step.run.count, run_checksums);
          } catch (const std::exception& failure) {
            source_problem = failure.what();
          }
        }
      }
      const bool marks =
          marks_completion && step.ends_run && !group_failed && source_problem.empty();
      attempt([&] {
        writer.mark_complete(group, step.run.first, marks ? step.run.count : 0, run_checksums);
      });
      world.raise_if_any(error.empty() ? source_problem : write_failure(config.output, error));
    }
    times.write += wall_seconds() - start;
    for (int g = 0; g < plan.decomposition.groups; ++g) {
      done_by_all += static_cast<double>(plan.step(index, g, 0).run.count) /
                     static_cast<double>(plan.tiles_per_run);
    }
    progress.update(static_cast<double>(already_done) + done_by_all);
    if (config.stop_after_steps > 0 && index + 1 >= config.stop_after_steps) {
      end_as_if_killed(world);  // testing hook
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
  int64_t bytes_per_sample = 0;
  for (int level = 0; level <= geometry.levels; ++level) {
    bytes_per_sample += geometry.level_sites(level) * io::dtype_bytes(spec.dtype);
  }
  const lattice::DecompositionChoice choice =
      lattice::choose_decomposition(geometry, world_size, spec.samples, config.lattice_ranks);
  const std::string ranks_option =
      "option " + options.full_name("lattice_ranks") + ": " + std::to_string(config.lattice_ranks);
  switch (choice.problem) {
    case lattice::DecompositionProblem::kNone:
      break;
    case lattice::DecompositionProblem::kRanksDoNotDivide:
      throw UsageError(ranks_option + " does not divide the number of ranks, " +
                       std::to_string(world_size));
    case lattice::DecompositionProblem::kMoreRanksThanBlocks:
      throw UsageError(ranks_option + " exceeds the number of top-level blocks, " +
                       std::to_string(choice.top_blocks) +
                       " (each rank needs at least one block of side b^K)");
    case lattice::DecompositionProblem::kNoGrid:
      throw UsageError(ranks_option + " ranks cannot be arranged on a grid of " +
                       std::to_string(geometry.top_blocks_per_axis()) +
                       " top-level blocks per axis");
  }
  const lattice::Decomposition& decomposition = choice.decomposition;
  const int lattice_ranks = decomposition.lattice_ranks;
  const int groups = decomposition.groups;

  const bool extending = config.extend_to > 0;
  const io::OutputState state =
      extending ? io::prepare_extension(world, config.output, options.full_name("o"), config.force,
                                        config.resume)
                : io::prepare_output(world, config.output, options.full_name("o"), config.force,
                                     config.resume, io::Resumable::kYes);
  // An extension reads the existing output (every rank opens it: the checks below come out the
  // same everywhere) and copies its samples into the grown partial file.
  std::unique_ptr<io::DatasetReader> extended;
  CopySource source;
  if (extending) {
    bool nothing_to_do = false;
    world.local_phase("generate: check the dataset to extend", [&] {
      extended = std::make_unique<io::DatasetReader>(config.output);
      const io::DatasetReader& existing = *extended;
      const std::string cannot = "cannot extend '" + config.output + "': ";
      const std::vector<uint8_t> done = existing.completed_samples();
      if (!existing.complete() || std::find(done.begin(), done.end(), 0) != done.end()) {
        throw UsageError(cannot + "it is not complete (finish it first with -resume)");
      }
      io::DatasetSpec expected = spec;
      expected.samples = config.samples_given ? config.samples_option : existing.spec().samples;
      const std::string difference = expected.difference(existing.spec());
      if (!difference.empty()) {
        throw UsageError(cannot + "it was made with " + difference +
                         "; an extension must repeat every option of the file");
      }
      const int64_t current = existing.spec().samples;
      if (config.extend_to == current && config.resume) {
        nothing_to_do = true;  // a retried job whose extension had finished
      } else if (config.extend_to <= current) {
        throw UsageError("option " + options.full_name("extend") + ": " +
                         std::to_string(config.extend_to) + " is not larger than the " +
                         std::to_string(current) + " samples of '" + config.output + "'");
      }
      source = CopySource{extended.get(), current};
    });
    if (nothing_to_do) {
      if (world.rank() == 0) io::release_output(config.output);
      if (world.rank() == 0 && !config.quiet) {
        std::printf("rgflow generate: '%s' already has %lld samples; nothing to do\n",
                    config.output.c_str(), static_cast<long long>(config.extend_to));
      }
      return 0;
    }
  }
  if (state == io::OutputState::kComplete) {
    // Kept when it holds this very dataset; rank 0 looks (also at a file that is no dataset).
    io::keep_complete_output(world, "generate", config.output, config.quiet, [&] {
      std::string difference;
      try {
        difference = spec.difference(io::DatasetReader(config.output).spec());
      } catch (const std::exception&) {
        return "the existing output '" + config.output + "' is not a dataset rgflow can read";
      }
      return difference.empty()
                 ? difference
                 : "the existing output '" + config.output + "' was made with " + difference;
    });
    return 0;
  }

  const double start = wall_seconds();
  const int group = world.rank() / lattice_ranks;
  const Comm group_comm = world.split(group, world.rank());

  const std::string partial = io::partial_path(config.output);
  const double open_start = wall_seconds();
  // Ranks that own whole samples, or slabs of whole rows, write one contiguous piece of the file
  // per sample and tile: independent I/O then avoids the collective layer's shuffling (measured
  // in docs/performance.md). Boxes split along a faster axis write many short rows, which
  // collective buffering merges.
  const bool collective =
      config.io_mode == "collective" ||
      (config.io_mode == "auto" && !lattice::boxes_are_slabs(decomposition.grid));
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

  // The plan: which samples each group writes, in which tiles each rank walks its box.
  const std::optional<lattice::GenerationPlan> plan = lattice::plan_generation(
      geometry, decomposition, pending, io::dtype_bytes(spec.dtype), config.memory_budget_bytes);
  if (!plan) throw std::logic_error("the memory budget was checked to hold a top-level block");

  if (world.rank() == 0 && !config.quiet) {
    const auto& grid = decomposition.grid;
    std::string note;
    if (extending) {
      note = ", extending " + std::to_string(source.samples) + " -> " +
             std::to_string(spec.samples) + " samples (existing ones copied" +
             (source.reader->has_checksums() ? " and checked against their checksums)"
                                             : "; the file had no checksums)");
    }
    if (state == io::OutputState::kResume) {
      note += ", resuming: " + std::to_string(pending.size()) + " samples left";
    }
    std::printf(
        "rgflow generate: %d rank(s) = %d sample group(s) x %d lattice rank(s) (grid %dx%dx%d), "
        "%" PRId64 " sample(s) per chunk, %" PRId64
        " tile(s) per sample, memory budget %s/rank%s\n",
        world_size, groups, lattice_ranks, grid[0], grid[1], grid[2], plan->samples_per_chunk,
        plan->tiles_per_run, mib_text(config.memory_budget_bytes).c_str(), note.c_str());
    std::fflush(stdout);
  }

  const int64_t pending_total = static_cast<int64_t>(pending.size());
  const PhaseTimes times = spec.dtype == "float64"
                               ? generate_samples<double>(world, group_comm, config, writer, *plan,
                                                          pending_total, source)
                               : generate_samples<float>(world, group_comm, config, writer, *plan,
                                                         pending_total, source);
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
  // The extended file replaces the one it grew from: its readers close it first.
  extended.reset();
  io::commit_output(world, config.output);
  const double close_seconds = wall_seconds() - close_start;
  const double seconds = wall_seconds() - start;
  const double peak_rss = peak_rss_mib(world);

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
        bytes / seconds / 1e6, peak_rss, open_seconds, times.random, times.coarse, times.write,
        close_seconds, config.output.c_str());
  }
  return 0;
}

}  // namespace rgflow::app
