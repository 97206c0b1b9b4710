#include "rgflow/io/generation.hpp"

#include <algorithm>
#include <stdexcept>

#include "rgflow/coarse/block_map.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/petsc.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/field/generator.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/io/checksum.hpp"

namespace rgflow::io {
namespace {

// A failed write (full disk, quota, permissions): what happened and how to recover.
std::string write_failure(const std::string& output, const std::string& reason) {
  return "writing '" + partial_path(output) + "' failed (" + reason +
         "); nothing was written under '" + output +
         "'; free space and rerun with -resume to continue (or -force to start over)";
}

// The first difference between the checksums of copied samples [first, first + count), as
// computed from the bytes read (`computed`: (levels + 1) x run_count, level-major) and as the
// source stores them, or "". Local (serial HDF5 on the source's reader).
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

}  // namespace

Extension open_extension(const Comm& world, const DatasetSpec& spec, const std::string& output,
                         std::optional<int64_t> samples_option, bool resume,
                         const std::string& extend_option) {
  Extension extension;
  world.local_phase("generate: check the dataset to extend", [&] {
    auto reader = std::make_unique<DatasetReader>(output);
    const std::string cannot = "cannot extend '" + output + "': ";
    const std::vector<uint8_t> done = reader->completed_samples();
    if (!reader->complete() || std::find(done.begin(), done.end(), 0) != done.end()) {
      throw UsageError(cannot + "it is not complete (finish it first with -resume)");
    }
    DatasetSpec expected = spec;
    expected.samples = samples_option.value_or(reader->spec().samples);
    const std::string difference = expected.difference(reader->spec());
    if (!difference.empty()) {
      throw UsageError(cannot + "it was made with " + difference +
                       "; an extension must repeat every option of the file");
    }
    const int64_t current = reader->spec().samples;
    if (spec.samples == current && resume) return;  // a retried job whose extension had finished
    if (spec.samples <= current) {
      throw UsageError("option " + extend_option + ": " + std::to_string(spec.samples) +
                       " is not larger than the " + std::to_string(current) + " samples of '" +
                       output + "'");
    }
    extension.source = CopySource{reader.get(), current};
    extension.reader = std::move(reader);
  });
  return extension;
}

std::string complete_output_problem(const std::string& output, const DatasetSpec& spec) {
  std::string difference;
  try {
    difference = spec.difference(DatasetReader(output).spec());
  } catch (const std::exception&) {
    return "the existing output '" + output + "' is not a dataset rgflow can read";
  }
  return difference.empty() ? difference
                            : "the existing output '" + output + "' was made with " + difference;
}

DatasetGeneration::DatasetGeneration(const Comm& world, const GenerationSettings& settings,
                                     const lattice::Decomposition& decomposition, bool resume,
                                     const CopySource& source)
    : world_(world),
      settings_(settings),
      source_(source),
      group_(world.split(world.rank() / decomposition.lattice_ranks, world.rank())),
      grid_(decomposition.grid) {
  if (settings.spec.field == "ising" && decomposition.groups != 1) {
    throw std::logic_error("an Ising dataset is one chain on every rank");
  }
  const DatasetSpec& spec = settings.spec;
  const double open_start = wall_seconds();
  // Ranks that own whole samples, or slabs of whole rows, write one contiguous piece of the file
  // per sample and tile: independent I/O then avoids the collective layer's shuffling (measured
  // in docs/performance.md). Boxes split along a faster axis write many short rows, which
  // collective buffering merges.
  collective_ = settings.io_mode == "collective" ||
                (settings.io_mode == "auto" && !lattice::boxes_are_slabs(decomposition.grid));
  // Creating (rank 0 alone) reserves every block of the file, and resuming reserves the blocks
  // still missing: a disk too small fails here, on every rank alike, and the writes below cannot
  // fail for lack of space on some ranks only (which would hang them inside HDF5; see
  // DatasetWriter::create).
  const std::string partial = partial_path(settings.output);
  std::vector<uint8_t> done;
  {
    std::string error;
    try {
      writer_.emplace(resume ? DatasetWriter::reopen(world, partial, spec, collective_)
                             : DatasetWriter::create(world, partial, spec, collective_));
      done = writer_->completed_samples();
      fail_if_injected("generate: open", world.rank());
    } catch (const UsageError& problem) {
      error = problem.what();
    } catch (const std::exception& failure) {
      error = write_failure(settings.output, failure.what());
    }
    world.raise_if_any(error);
  }
  times_.open = wall_seconds() - open_start;
  const std::vector<int64_t> pending = lattice::pending_samples(done);
  pending_ = static_cast<int64_t>(pending.size());
  first_pending_ = pending.empty() ? spec.samples : pending.front();
  // Which samples each group writes, in which tiles each rank walks its box.
  std::optional<lattice::GenerationPlan> plan = lattice::plan_generation(
      spec.geometry, decomposition, pending, dtype_bytes(spec.dtype), settings.memory_budget_bytes);
  if (!plan) throw std::logic_error("the memory budget was checked to hold a top-level block");
  plan_ = std::move(*plan);
}

void DatasetGeneration::write_pending() {
  if (settings_.spec.field == "ising") {
    // The chain continues after the last sample before the first pending one (samples are
    // marked complete in order, so the pending ones are the chain's tail).
    const IsingRunStart start{first_pending_, source_.reader, source_.samples};
    ising_summary_ = generate_ising(world_, grid_, settings_.spec, *writer_, start,
                                    {!settings_.quiet, settings_.stop_after_steps});
    const IsingRunSummary& summary = *ising_summary_;
    times_.random = summary.update_seconds;
    times_.coarse = summary.map_seconds;
    times_.write = summary.write_seconds;
    writer_->write_autocorrelation(summary.tau_abs_magnetisation, summary.tau_energy,
                                   summary.series_length);
    return;
  }
  if (settings_.spec.dtype == "float64") {
    write_pending_as<double>();
  } else {
    write_pending_as<float>();
  }
}

template <typename T>
void DatasetGeneration::write_pending_as() {
  const Comm& world = world_;
  const Comm& group = group_;
  const lattice::GenerationPlan& plan = plan_;
  const CopySource& source = source_;
  const auto& spec = settings_.spec;
  const auto& geometry = spec.geometry;
  const int levels = geometry.levels;
  const int group_index = world.rank() / group.size();
  const int lattice_rank = group.rank();
  const bool marks_completion = lattice_rank == 0;
  // Buffers for the largest tile (tile 0) of samples_per_chunk samples, every level.
  std::vector<std::vector<T>> buffers;
  for (const lattice::Box& box : lattice::boxes_at_levels(
           geometry, plan.tilings[static_cast<size_t>(lattice_rank)].tile(0))) {
    buffers.emplace_back(static_cast<size_t>(plan.samples_per_chunk * box.size()));
  }
  const double scale = coarse::block_map_scale(geometry.block_side, spec.scaling_dimension);
  const PetscLogStage stage_random = log_stage("Gen: random");
  const PetscLogStage stage_coarse = log_stage("Gen: coarse");
  const PetscLogStage stage_write = log_stage("Gen: write");
  Progress progress("generate", static_cast<double>(spec.samples), "samples",
                    world.rank() == 0 && !settings_.quiet);
  const int64_t already_done = spec.samples - pending_;
  double done_by_all = 0;  // samples of every group, counting a run's tiles as fractions
  const std::vector<lattice::Box> empty(static_cast<size_t>(levels + 1),
                                        lattice::Box{geometry.dim, {0, 0, 0}, {0, 0, 0}});
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
    const std::vector<lattice::Box> boxes =
        step.has_tile ? lattice::boxes_at_levels(geometry, step.tile) : empty;
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
      times_.random += wall_seconds() - start;
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
          run_checksums[static_cast<size_t>(level * step.run.count + i)] +=
              box_checksum(buffers[static_cast<size_t>(level)].data() + i * box.size(), box,
                           geometry.level_side(level), checksum_key(level, step.run.first + i));
        }
      }
    });
    times_.coarse += wall_seconds() - start;
    start = wall_seconds();
    {
      LogStageGuard guard(stage_write);
      // Every rank makes every write call (collective in collective mode) even after one of its
      // own failed (a full disk): a rank that stopped early would leave the others waiting. The
      // failures are then agreed on, and samples are marked complete only where every rank of
      // the group wrote every tile of them (a failure ends the run before its last tile).
      FirstFailure writes;
      const auto attempt = [&writes](auto&& work) { writes.attempt(work); };
      for (int level = 0; level <= levels; ++level) {
        attempt([&] {
          writer_->write(level, step.run.first, count, boxes[static_cast<size_t>(level)],
                         buffers[static_cast<size_t>(level)].data());
        });
      }
      attempt([&] { fail_if_injected("generate: write", world.rank()); });
      const bool group_failed = group.any(writes.failed());
      // The run's checksums: every rank of the group holds its boxes' share.
      std::string source_problem;
      if (step.ends_run) {
        group.sum(run_checksums);
        if (marks_completion && !group_failed) {
          try {
            source_problem = source_checksum_problem(source, settings_.output, step.run.first,
                                                     copied, step.run.count, run_checksums);
          } catch (const std::exception& failure) {
            source_problem = failure.what();
          }
        }
      }
      const bool marks =
          marks_completion && step.ends_run && !group_failed && source_problem.empty();
      attempt([&] {
        writer_->mark_complete(group, step.run.first, marks ? step.run.count : 0, run_checksums);
      });
      world.raise_if_any(writes.failed() ? write_failure(settings_.output, writes.message())
                                         : source_problem);
    }
    times_.write += wall_seconds() - start;
    done_by_all += plan.samples_in_step(index);
    progress.update(static_cast<double>(already_done) + done_by_all);
    if (settings_.stop_after_steps > 0 && index + 1 >= settings_.stop_after_steps) {
      end_as_if_killed(world);  // testing hook
    }
  }
  progress.finish();
}

void DatasetGeneration::finish() {
  const double close_start = wall_seconds();
  // Closing flushes (collectively): a full disk may show only here, on some ranks.
  std::string error;
  try {
    writer_->finish();
    fail_if_injected("generate: finish", world_.rank());
  } catch (const std::exception& failure) {
    error = write_failure(settings_.output, failure.what());
  }
  world_.raise_if_any(error);
  times_.close = wall_seconds() - close_start;
}

}  // namespace rgflow::io
