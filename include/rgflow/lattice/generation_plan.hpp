// generate's plan as a pure function of sizes: which samples each sample group writes and in
// which runs, and in which tiles each rank walks its box. Every rank computes the same plan, so
// every rank makes the same number of (collective) write steps without asking the others.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rgflow/lattice/geometry.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::lattice {

/// Why a generate request cannot be carried out, in words: `parameter` is the option at fault
/// (its name without prefix or dash: "L", "levels", "lattice_ranks", ...), `reason` what is
/// wrong with it; both empty when the request is fine. The caller prefixes the option's full name.
struct PlanProblem {
  std::string parameter;
  std::string reason;
  bool ok() const { return parameter.empty(); }
};

/// check_geometry of `samples` configurations in words (parameter "levels" or "L").
PlanProblem geometry_problem(const Geometry& geometry, int64_t samples);

/// Whether a memory budget of `budget_bytes` per rank holds one top-level block at every level
/// (top_block_bytes) of values of `value_bytes` named `value_type` ("float32"): the smallest tile,
/// whatever the rank count, so a pipeline is checked before it runs. `budget_parameter` names
/// the option that set the budget.
PlanProblem budget_problem(const Geometry& geometry, int64_t value_bytes,
                           const std::string& value_type, int64_t budget_bytes,
                           const std::string& budget_parameter);

/// choose_decomposition's verdict on `requested_lattice_ranks` of `world_size` ranks in words
/// (parameter "lattice_ranks").
PlanProblem decomposition_problem(const DecompositionChoice& choice, const Geometry& geometry,
                                  int world_size, int requested_lattice_ranks);

/// The samples still to write, in increasing order: those whose `completed` flag is 0.
std::vector<int64_t> pending_samples(const std::vector<uint8_t>& completed);

/// Consecutive samples [first, first + count).
struct SampleRun {
  int64_t first = 0;
  int64_t count = 0;
};

/// The samples group `group` of `groups` writes: its near-equal consecutive share of `pending`
/// (increasing sample indices), as runs of consecutive indices of at most `chunk` samples.
std::vector<SampleRun> plan_runs(const std::vector<int64_t>& pending, int groups, int group,
                                 int64_t chunk);

/// The field values one step aims to hold (all levels, all its samples), when the budget allows:
/// writes of a few MiB, from data still in the CPU's caches, ran several times faster here than
/// writes of 64 MiB or more (docs/performance.md), so a larger budget only bounds memory and
/// does not make tiles larger. A tile still holds at least one block row of the box when the
/// budget allows, so that it stays one contiguous piece of the file.
constexpr int64_t kTileTargetBytes = int64_t{4} << 20;

/// Bytes of one top-level block of one sample at every level: the smallest budget that works.
int64_t top_block_bytes(const Geometry& geometry, int64_t value_bytes);

struct GenerationPlan {
  Decomposition decomposition;
  /// Field values held at once per rank, at most: min(budget, max(target, one block row of the
  /// group's largest box)).
  int64_t step_bytes = 0;
  /// Samples held at once: several only when the largest box of the group fits the budget whole.
  int64_t samples_per_chunk = 1;
  /// Per sample group: its runs, each of at most samples_per_chunk samples.
  std::vector<std::vector<SampleRun>> runs;
  /// Per lattice rank: its box (owned_box) in tiles; a single tile when samples_per_chunk > 1.
  std::vector<Tiling> tilings;
  /// Steps per run: the most tiles of any lattice rank. A rank with fewer tiles takes empty steps,
  /// so that a run ends on the same step on every rank of its group (its completion is then
  /// marked only once every tile of it is written).
  int64_t tiles_per_run = 1;
  /// Steps every rank takes, (run, tile) = (step / tiles_per_run, step % tiles_per_run): the
  /// most runs of any group times tiles_per_run.
  int64_t steps = 0;

  /// The run and tile of `step` for a rank of `group` with lattice rank `lattice_rank`; a run of
  /// count 0 where that rank has nothing to write at that step (it still takes part).
  struct Step {
    SampleRun run;          // the group's run (count 0 past the group's last run)
    bool has_tile = false;  // false past the rank's last tile of the run
    Box tile;               // level-0 sites, when has_tile
    bool ends_run = false;  // the run's last step: its completion is marked after it
  };
  Step step(int64_t index, int group, int lattice_rank) const;

  /// Samples step `index` writes over every group, counting a run's tiles as fractions of it
  /// (the progress line adds them up).
  double samples_in_step(int64_t index) const;
};

/// The plan for `pending` samples (increasing indices) of `geometry` on `decomposition`, with
/// values of `value_bytes` and at most `budget_bytes` of field values per rank (all levels), each
/// step aiming at `target_bytes`: nullopt if one top-level block (top_block_bytes) exceeds the
/// budget.
std::optional<GenerationPlan> plan_generation(const Geometry& geometry,
                                              const Decomposition& decomposition,
                                              const std::vector<int64_t>& pending,
                                              int64_t value_bytes, int64_t budget_bytes,
                                              int64_t target_bytes = kTileTargetBytes);

}  // namespace rgflow::lattice
