#include "rgflow/lattice/generation_plan.hpp"

#include <algorithm>

#include "rgflow/core/text.hpp"

namespace rgflow::lattice {

PlanProblem geometry_problem(const Geometry& geometry, int64_t samples) {
  const GeometryCheck check = check_geometry(geometry, samples);
  const std::string side = std::to_string(geometry.side);
  switch (check.problem) {
    case GeometryProblem::kNone:
      break;
    case GeometryProblem::kTooManyLevels:
      return {"levels", std::to_string(geometry.levels) +
                            " levels of b = " + std::to_string(geometry.block_side) +
                            " need L >= b^K, but L = " + side};
    case GeometryProblem::kSideNotDivisible:
      return {"L", side + " is not divisible by b^K = " + std::to_string(geometry.block_side) +
                       "^" + std::to_string(geometry.levels) + " = " +
                       std::to_string(check.top_block_side)};
    case GeometryProblem::kBeyondIndexRange:
      return {"L", std::to_string(samples) + " samples of " + side + "^" +
                       std::to_string(geometry.dim) +
                       " sites are beyond rgflow's index range (at most 2^58 values per level)"};
  }
  return {};
}

PlanProblem budget_problem(const Geometry& geometry, int64_t value_bytes,
                           const std::string& value_type, int64_t budget_bytes,
                           const std::string& budget_parameter) {
  const int64_t block_bytes = top_block_bytes(geometry, value_bytes);
  if (block_bytes <= budget_bytes) return {};
  return {budget_parameter,
          mib_text(budget_bytes) + " cannot hold one top-level block (side b^K = " +
              std::to_string(geometry.top_block_side()) + ", all levels, " + value_type +
              "): it needs " + mib_text(block_bytes) + "; raise it or lower -levels"};
}

PlanProblem decomposition_problem(const DecompositionChoice& choice, const Geometry& geometry,
                                  int world_size, int requested_lattice_ranks) {
  const std::string ranks = std::to_string(requested_lattice_ranks);
  switch (choice.problem) {
    case DecompositionProblem::kNone:
      break;
    case DecompositionProblem::kRanksDoNotDivide:
      return {"lattice_ranks",
              ranks + " does not divide the number of ranks, " + std::to_string(world_size)};
    case DecompositionProblem::kMoreRanksThanBlocks:
      return {"lattice_ranks", ranks + " exceeds the number of top-level blocks, " +
                                   std::to_string(choice.top_blocks) +
                                   " (each rank needs at least one block of side b^K)"};
    case DecompositionProblem::kNoGrid:
      return {"lattice_ranks", ranks + " ranks cannot be arranged on a grid of " +
                                   std::to_string(geometry.top_blocks_per_axis()) +
                                   " top-level blocks per axis"};
  }
  return {};
}

std::vector<int64_t> pending_samples(const std::vector<uint8_t>& completed) {
  std::vector<int64_t> pending;
  for (size_t sample = 0; sample < completed.size(); ++sample) {
    if (!completed[sample]) pending.push_back(static_cast<int64_t>(sample));
  }
  return pending;
}

std::vector<SampleRun> plan_runs(const std::vector<int64_t>& pending, int groups, int group,
                                 int64_t chunk) {
  const auto range = piece_range(static_cast<int64_t>(pending.size()), groups, group);
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

int64_t top_block_bytes(const Geometry& geometry, int64_t value_bytes) {
  Box block;
  block.dim = geometry.dim;
  for (int axis = 0; axis < geometry.dim; ++axis) block.extent[axis] = geometry.top_block_side();
  return box_bytes_all_levels(geometry, block, value_bytes);
}

GenerationPlan::Step GenerationPlan::step(int64_t index, int group, int lattice_rank) const {
  Step result;
  const int64_t run_index = index / tiles_per_run, tile_index = index % tiles_per_run;
  const auto& group_runs = runs[static_cast<size_t>(group)];
  if (run_index >= static_cast<int64_t>(group_runs.size())) return result;
  result.run = group_runs[static_cast<size_t>(run_index)];
  result.ends_run = tile_index + 1 == tiles_per_run;
  const Tiling& tiling = tilings[static_cast<size_t>(lattice_rank)];
  if (tile_index < tiling.count()) {
    result.has_tile = true;
    result.tile = tiling.tile(tile_index);
  }
  return result;
}

double GenerationPlan::samples_in_step(int64_t index) const {
  double samples = 0;
  for (int group = 0; group < decomposition.groups; ++group) {
    samples +=
        static_cast<double>(step(index, group, 0).run.count) / static_cast<double>(tiles_per_run);
  }
  return samples;
}

std::optional<GenerationPlan> plan_generation(const Geometry& geometry,
                                              const Decomposition& decomposition,
                                              const std::vector<int64_t>& pending,
                                              int64_t value_bytes, int64_t budget_bytes,
                                              int64_t target_bytes) {
  if (top_block_bytes(geometry, value_bytes) > budget_bytes) return std::nullopt;
  GenerationPlan plan;
  plan.decomposition = decomposition;
  const int lattice_ranks = decomposition.lattice_ranks;
  std::vector<Box> boxes;
  int64_t largest_box_bytes = 0;
  for (int rank = 0; rank < lattice_ranks; ++rank) {
    boxes.push_back(owned_box(geometry, decomposition.grid, rank));
    largest_box_bytes =
        std::max(largest_box_bytes, box_bytes_all_levels(geometry, boxes.back(), value_bytes));
  }
  // The step's size: the target, raised to one block row of the largest box (tiles of whole
  // rows stay contiguous in the file), never above the budget.
  Box block_row = boxes.front();
  block_row.extent[0] = geometry.top_block_side();
  plan.step_bytes = std::min(
      budget_bytes, std::max(target_bytes, box_bytes_all_levels(geometry, block_row, value_bytes)));
  // Several samples at once only when every box of the group fits whole; then every rank of the
  // group holds the same samples, and no more than a group has to do.
  const int64_t groups = decomposition.groups;
  const int64_t largest_share = (static_cast<int64_t>(pending.size()) + groups - 1) / groups;
  if (largest_box_bytes <= plan.step_bytes) {
    plan.samples_per_chunk =
        std::max<int64_t>(1, std::min(largest_share, plan.step_bytes / largest_box_bytes));
  }
  for (int rank = 0; rank < lattice_ranks; ++rank) {
    // plan_tiling succeeds: one top-level block fits the budget, and so the step.
    plan.tilings.push_back(*plan_tiling(geometry, boxes[static_cast<size_t>(rank)], value_bytes,
                                        plan.step_bytes / plan.samples_per_chunk));
    plan.tiles_per_run = std::max(plan.tiles_per_run, plan.tilings.back().count());
  }
  int64_t most_runs = 0;
  for (int group = 0; group < decomposition.groups; ++group) {
    plan.runs.push_back(plan_runs(pending, decomposition.groups, group, plan.samples_per_chunk));
    most_runs = std::max(most_runs, static_cast<int64_t>(plan.runs.back().size()));
  }
  plan.steps = most_runs * plan.tiles_per_run;
  return plan;
}

}  // namespace rgflow::lattice
