// generate's planning as pure functions: geometry checks, tilings of a rank's box, and the whole
// plan (which samples, which tiles, how many steps), checked by covering every (sample, site)
// exactly once and by counting bytes against the budget.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "rgflow/lattice/generation_plan.hpp"

namespace rgflow::lattice {
namespace {

TEST(GeometryCheck, EachProblemIsFoundWithoutOverflow) {
  EXPECT_EQ(check_geometry({2, 256, 2, 4}, 512).problem, GeometryProblem::kNone);
  EXPECT_EQ(check_geometry({2, 256, 2, 4}, 512).top_block_side, 16);
  EXPECT_EQ(check_geometry({2, 4, 2, 3}, 1).problem, GeometryProblem::kTooManyLevels);
  // b^K itself would overflow: found by division.
  EXPECT_EQ(check_geometry({1, 8, int64_t{1} << 62, 2}, 1).problem,
            GeometryProblem::kTooManyLevels);
  const GeometryCheck odd = check_geometry({2, 100, 2, 3}, 1);
  EXPECT_EQ(odd.problem, GeometryProblem::kSideNotDivisible);
  EXPECT_EQ(odd.top_block_side, 8);
  // n_samples x L^d against 2^58: 2^57 sites x 2 samples is the limit, 3 samples are beyond.
  const Geometry cube{3, int64_t{1} << 19, 2, 4};
  EXPECT_EQ(check_geometry(cube, 2).problem, GeometryProblem::kNone);
  EXPECT_EQ(check_geometry(cube, 3).problem, GeometryProblem::kBeyondIndexRange);
  EXPECT_EQ(check_geometry({3, int64_t{1} << 22, 2, 4}, 1).problem,
            GeometryProblem::kBeyondIndexRange);
  EXPECT_EQ(check_geometry({2, int64_t{1} << 40, 2, 0}, UINT32_MAX).problem,
            GeometryProblem::kBeyondIndexRange);
  // The lattice of the issue that overflowed PETSc's 32-bit indices is within range.
  EXPECT_EQ(check_geometry({3, 65536, 2, 4}, 4).problem, GeometryProblem::kNone);
}

TEST(GeometryCheck, BytesOfABoxCountEveryLevel) {
  const Geometry geometry{2, 64, 2, 2};  // top blocks 4 x 4
  const Box block{2, {4, 8, 0}, {4, 4, 1}};
  EXPECT_EQ(box_bytes_all_levels(geometry, block, 4), (16 + 4 + 1) * 4);
  EXPECT_EQ(top_block_bytes(geometry, 8), (16 + 4 + 1) * 8);
  const Geometry cube{3, 48, 3, 1};
  EXPECT_EQ(top_block_bytes(cube, 4), (27 + 1) * 4);
}

TEST(GeometryCheck, BoxesAtLevelsCoarsenByBPerLevel) {
  const Geometry geometry{2, 64, 2, 2};
  const Box box{2, {8, 4, 0}, {8, 16, 1}};
  const std::vector<Box> boxes = boxes_at_levels(geometry, box);
  ASSERT_EQ(boxes.size(), 3u);
  EXPECT_EQ(boxes[0], box);
  EXPECT_EQ(boxes[1], (Box{2, {4, 2, 0}, {4, 8, 1}}));
  EXPECT_EQ(boxes[2], (Box{2, {2, 1, 0}, {2, 4, 1}}));
}

// The problems in words name the option at fault and the numbers that make it wrong.
TEST(PlanProblem, GeometryBudgetAndDecompositionInWords) {
  EXPECT_TRUE(geometry_problem({2, 256, 2, 4}, 512).ok());
  const PlanProblem levels = geometry_problem({2, 4, 2, 3}, 1);
  EXPECT_EQ(levels.parameter, "levels");
  EXPECT_EQ(levels.reason, "3 levels of b = 2 need L >= b^K, but L = 4");
  const PlanProblem odd = geometry_problem({2, 100, 2, 3}, 1);
  EXPECT_EQ(odd.parameter, "L");
  EXPECT_EQ(odd.reason, "100 is not divisible by b^K = 2^3 = 8");
  const PlanProblem range = geometry_problem({3, int64_t{1} << 19, 2, 4}, 3);
  EXPECT_EQ(range.parameter, "L");
  EXPECT_EQ(range.reason,
            "3 samples of 524288^3 sites are beyond rgflow's index range (at most 2^58 values "
            "per level)");

  const Geometry geometry{2, 64, 2, 2};  // a top-level block: 16 + 4 + 1 values
  EXPECT_TRUE(budget_problem(geometry, 4, "float32", 84, "memory_mb").ok());
  const PlanProblem budget = budget_problem(geometry, 8, "float64", 84, "chunk_mb");
  EXPECT_EQ(budget.parameter, "chunk_mb");
  EXPECT_EQ(budget.reason,
            "8.011e-05 MiB cannot hold one top-level block (side b^K = 4, all levels, float64): "
            "it needs 0.0001602 MiB; raise it or lower -levels");

  const Geometry small{2, 16, 2, 2};  // 4 x 4 top-level blocks
  EXPECT_TRUE(decomposition_problem(choose_decomposition(small, 6, 8, 0), small, 6, 0).ok());
  const PlanProblem divide =
      decomposition_problem(choose_decomposition(small, 6, 8, 4), small, 6, 4);
  EXPECT_EQ(divide.parameter, "lattice_ranks");
  EXPECT_EQ(divide.reason, "4 does not divide the number of ranks, 6");
  EXPECT_EQ(decomposition_problem(choose_decomposition(small, 32, 8, 32), small, 32, 32).reason,
            "32 exceeds the number of top-level blocks, 16 (each rank needs at least one block "
            "of side b^K)");
  EXPECT_EQ(decomposition_problem(choose_decomposition(small, 5, 8, 5), small, 5, 5).reason,
            "5 ranks cannot be arranged on a grid of 4 top-level blocks per axis");
}

TEST(SampleRuns, PendingSamplesAreTheIncompleteOnesInOrder) {
  EXPECT_EQ(pending_samples({1, 0, 0, 1, 0}), (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(pending_samples({1, 1}), std::vector<int64_t>{});
  EXPECT_EQ(pending_samples({}), std::vector<int64_t>{});
}

// Every site of `box` in exactly one tile, tiles of whole blocks in file (row-major) order, each
// within the budget; returns the tiles.
std::vector<Box> check_tiling(const Geometry& geometry, const Tiling& tiling, int64_t budget) {
  const Box& box = tiling.box;
  const int64_t block = geometry.top_block_side();
  std::map<std::array<int64_t, 3>, int> covered;
  std::vector<Box> tiles;
  for (int64_t t = 0; t < tiling.count(); ++t) {
    const Box tile = tiling.tile(t);
    tiles.push_back(tile);
    EXPECT_LE(box_bytes_all_levels(geometry, tile, 4), budget) << "tile " << t;
    EXPECT_LE(tile.size(), tiling.tile(0).size()) << "tile 0 is a largest one";
    for (int axis = 0; axis < geometry.dim; ++axis) {
      EXPECT_EQ(tile.begin[axis] % block, 0);
      EXPECT_EQ(tile.extent[axis] % block, 0);
      EXPECT_GT(tile.extent[axis], 0);
    }
    if (t > 0) {
      EXPECT_LT(tiles[static_cast<size_t>(t - 1)].begin, tile.begin) << "file order";
    }
    for (int64_t x = 0; x < tile.extent[0]; ++x)
      for (int64_t y = 0; y < tile.extent[1]; ++y)
        for (int64_t z = 0; z < tile.extent[2]; ++z) {
          const std::array<int64_t, 3> site{tile.begin[0] + x, tile.begin[1] + y,
                                            tile.begin[2] + z};
          for (int axis = 0; axis < 3; ++axis) {
            EXPECT_GE(site[axis], box.begin[axis]);
            EXPECT_LT(site[axis], box.begin[axis] + box.extent[axis]);
          }
          EXPECT_EQ(++covered[site], 1) << "site in two tiles";
        }
  }
  EXPECT_EQ(static_cast<int64_t>(covered.size()), box.size());
  return tiles;
}

TEST(Tiling, WholeBoxWhenItFitsElseSlabsOfBlockRows) {
  const Geometry geometry{2, 32, 2, 2};      // top blocks 4 x 4, 8 per axis
  const Box box{2, {8, 0, 0}, {20, 32, 1}};  // 5 block rows of 8 blocks
  const int64_t row = box_bytes_all_levels(geometry, Box{2, {8, 0, 0}, {4, 32, 1}}, 4);
  const int64_t whole = box_bytes_all_levels(geometry, box, 4);
  EXPECT_EQ(whole, 5 * row);
  auto tiling = plan_tiling(geometry, box, 4, whole);
  ASSERT_TRUE(tiling);
  EXPECT_EQ(tiling->count(), 1);
  EXPECT_EQ(tiling->tile(0), box);
  // Two rows per tile: 5 rows in 3 tiles of 2, 2, 1 rows.
  tiling = plan_tiling(geometry, box, 4, 2 * row + 1);
  ASSERT_TRUE(tiling);
  EXPECT_EQ(tiling->count(), 3);
  const auto tiles = check_tiling(geometry, *tiling, 2 * row + 1);
  EXPECT_EQ(tiles[0], (Box{2, {8, 0, 0}, {8, 32, 1}}));
  EXPECT_EQ(tiles[2], (Box{2, {24, 0, 0}, {4, 32, 1}}));
  // One row per tile: the smallest budget that keeps tiles whole rows.
  tiling = plan_tiling(geometry, box, 4, row);
  ASSERT_TRUE(tiling);
  EXPECT_EQ(tiling->count(), 5);
  check_tiling(geometry, *tiling, row);
}

TEST(Tiling, BelowOneBlockRowTilesSplitTheNextAxis) {
  const Geometry geometry{3, 24, 2, 2};      // top blocks 4^3, 6 per axis
  const Box box{3, {0, 4, 8}, {8, 12, 16}};  // 2 x 3 x 4 blocks
  const int64_t block = top_block_bytes(geometry, 4);
  // Budget of 5 blocks: a block row (3 x 4 = 12 blocks) does not fit, a block column of 4 does
  // (split along axis 1 into runs of one column each), two columns do not.
  auto tiling = plan_tiling(geometry, box, 4, 5 * block);
  ASSERT_TRUE(tiling);
  EXPECT_EQ(tiling->split_axis, 1);
  EXPECT_EQ(tiling->count(), 2 * 3);
  check_tiling(geometry, *tiling, 5 * block);
  // Budget of 3 blocks: split along the last axis into runs of 2 + 2 blocks.
  tiling = plan_tiling(geometry, box, 4, 3 * block);
  ASSERT_TRUE(tiling);
  EXPECT_EQ(tiling->split_axis, 2);
  EXPECT_EQ(tiling->count(), 2 * 3 * 2);
  check_tiling(geometry, *tiling, 3 * block);
  // One block exactly; less is refused.
  tiling = plan_tiling(geometry, box, 4, block);
  ASSERT_TRUE(tiling);
  EXPECT_EQ(tiling->count(), 2 * 3 * 4);
  check_tiling(geometry, *tiling, block);
  EXPECT_FALSE(plan_tiling(geometry, box, 4, block - 1));
}

TEST(SampleRuns, ShareOutPendingSamplesInChunks) {
  const std::vector<int64_t> pending{0, 1, 2, 5, 6, 7, 8, 9, 11};
  // 2 groups: 5 and 4 samples; runs break at gaps and at the chunk size.
  auto runs = plan_runs(pending, 2, 0, 2);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].first, 0);
  EXPECT_EQ(runs[0].count, 2);
  EXPECT_EQ(runs[1].first, 2);
  EXPECT_EQ(runs[1].count, 1);
  EXPECT_EQ(runs[2].first, 5);
  EXPECT_EQ(runs[2].count, 2);
  runs = plan_runs(pending, 2, 1, 8);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].first, 7);
  EXPECT_EQ(runs[0].count, 3);
  EXPECT_EQ(runs[1].first, 11);
  EXPECT_EQ(runs[1].count, 1);
}

// Walks every step of every rank of `plan` as generate does: every (sample, site) written exactly
// once, never more than the budget held, every run marked complete on its last step only, after
// all of its tiles on every rank of its group.
void check_plan(const Geometry& geometry, const GenerationPlan& plan,
                const std::vector<int64_t>& pending, int64_t budget) {
  const auto& decomposition = plan.decomposition;
  std::map<std::pair<int64_t, int64_t>, int> written;  // (sample, site) -> times
  std::set<int64_t> completed;
  for (int group = 0; group < decomposition.groups; ++group) {
    std::map<int64_t, int64_t> tiles_done;  // first sample of a run -> tiles written so far
    int64_t tiles_total = 0;
    for (int rank = 0; rank < decomposition.lattice_ranks; ++rank) {
      tiles_total += plan.tilings[static_cast<size_t>(rank)].count();
    }
    for (int64_t index = 0; index < plan.steps; ++index) {
      for (int rank = 0; rank < decomposition.lattice_ranks; ++rank) {
        const auto step = plan.step(index, group, rank);
        if (!step.has_tile || step.run.count == 0) continue;
        EXPECT_LE(step.run.count * box_bytes_all_levels(geometry, step.tile, 4), budget);
        ++tiles_done[step.run.first];
        for (int64_t s = step.run.first; s < step.run.first + step.run.count; ++s) {
          for (int64_t x = 0; x < step.tile.extent[0]; ++x)
            for (int64_t y = 0; y < step.tile.extent[1]; ++y)
              for (int64_t z = 0; z < step.tile.extent[2]; ++z) {
                int64_t site = step.tile.begin[0] + x;
                if (geometry.dim >= 2) site = site * geometry.side + step.tile.begin[1] + y;
                if (geometry.dim >= 3) site = site * geometry.side + step.tile.begin[2] + z;
                ++written[{s, site}];
              }
        }
      }
      // The group's marks after this step (rank 0 marks; every rank agrees on ends_run).
      const auto step = plan.step(index, group, 0);
      for (int rank = 1; rank < decomposition.lattice_ranks; ++rank) {
        EXPECT_EQ(plan.step(index, group, rank).ends_run, step.ends_run);
        EXPECT_EQ(plan.step(index, group, rank).run.first, step.run.first);
      }
      if (step.ends_run && step.run.count > 0) {
        EXPECT_EQ(tiles_done[step.run.first], tiles_total) << "marked before its last tile";
        for (int64_t s = step.run.first; s < step.run.first + step.run.count; ++s) {
          EXPECT_TRUE(completed.insert(s).second);
        }
      }
    }
  }
  EXPECT_EQ(completed, std::set<int64_t>(pending.begin(), pending.end()));
  // The progress line's count reaches the pending samples exactly at the last step.
  double progress = 0;
  for (int64_t index = 0; index < plan.steps; ++index) progress += plan.samples_in_step(index);
  EXPECT_NEAR(progress, static_cast<double>(pending.size()), 1e-9);
  EXPECT_EQ(static_cast<int64_t>(written.size()),
            static_cast<int64_t>(pending.size()) * geometry.level_sites(0));
  for (const auto& entry : written) ASSERT_EQ(entry.second, 1) << "written twice";
}

TEST(GenerationPlan, CoversEverySampleAndSiteOnceWithinTheBudget) {
  const std::vector<int64_t> all{0, 1, 2, 3, 4};
  const std::vector<int64_t> resumed{1, 3, 4};
  for (int dim = 1; dim <= 3; ++dim) {
    const Geometry geometry{dim, dim == 3 ? 12 : 24, 2, 1};  // top blocks of side 2
    const int64_t block = top_block_bytes(geometry, 4);
    for (int world : {1, 2, 3, 4}) {
      for (int requested : {0, 1, 2, world}) {
        const auto choice = choose_decomposition(geometry, world, 5, requested);
        if (choice.problem != DecompositionProblem::kNone) continue;
        for (int64_t budget : {block, 3 * block + 5, int64_t{1} << 20}) {
          for (const auto* pending : {&all, &resumed}) {
            const auto plan = plan_generation(geometry, choice.decomposition, *pending, 4, budget);
            ASSERT_TRUE(plan);
            SCOPED_TRACE("d=" + std::to_string(dim) + " ranks " + std::to_string(world) + " x " +
                         std::to_string(choice.decomposition.lattice_ranks) + " budget " +
                         std::to_string(budget));
            check_plan(geometry, *plan, *pending, budget);
          }
        }
      }
    }
  }
}

TEST(GenerationPlan, SeveralSamplesPerChunkOnlyWhenEveryBoxFitsWhole) {
  const Geometry geometry{2, 64, 2, 2};
  const std::vector<int64_t> pending{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const auto choice = choose_decomposition(geometry, 3, 10, 3);  // boxes of 6, 5, 5 block rows
  const int64_t largest = box_bytes_all_levels(geometry, owned_box(geometry, {3, 1, 1}, 0), 4);
  auto plan = plan_generation(geometry, choice.decomposition, pending, 4, 3 * largest);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->samples_per_chunk, 3);
  EXPECT_EQ(plan->tiles_per_run, 1);
  EXPECT_EQ(plan->steps, 4);  // runs of 3, 3, 3, 1
  // Just below the largest box: one sample at a time, in tiles; the steps per run are those of
  // the rank with the most tiles.
  plan = plan_generation(geometry, choice.decomposition, pending, 4, largest - 1);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->samples_per_chunk, 1);
  EXPECT_EQ(plan->tiles_per_run, 2);
  EXPECT_EQ(plan->tilings[1].count(), 1);
  EXPECT_EQ(plan->steps, 10 * 2);
  EXPECT_FALSE(plan_generation(geometry, choice.decomposition, pending, 4,
                               top_block_bytes(geometry, 4) - 1));
}

TEST(GenerationPlan, StepsAimAtTheTargetWithinTheBudget) {
  const std::vector<int64_t> one{0};
  const Decomposition alone;
  // 8192^2, K = 6: a block row is 64 x 8192 sites, 2.67 MiB over all levels, so a 4 MiB target
  // holds one row per tile whatever the budget above it.
  const Geometry geometry{2, 8192, 2, 6};
  const int64_t row = box_bytes_all_levels(geometry, Box{2, {0, 0, 0}, {64, 8192, 1}}, 4);
  auto plan = plan_generation(geometry, alone, one, 4, int64_t{1} << 30);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->step_bytes, kTileTargetBytes);
  EXPECT_EQ(plan->tiles_per_run, 128);
  // A budget below the target bounds the step.
  plan = plan_generation(geometry, alone, one, 4, row + 1);
  EXPECT_EQ(plan->step_bytes, row + 1);
  EXPECT_EQ(plan->tiles_per_run, 128);
  // 16384^2: a block row (5.3 MiB) exceeds the target; tiles stay whole rows.
  const Geometry wider{2, 16384, 2, 6};
  plan = plan_generation(wider, alone, one, 4, int64_t{256} << 20);
  EXPECT_EQ(plan->step_bytes, 2 * row);
  EXPECT_EQ(plan->tiles_per_run, 256);
  // Small samples: as many whole samples per step as the target holds.
  const Geometry small{2, 256, 2, 4};
  const int64_t sample = box_bytes_all_levels(small, full_box(2, 256), 4);
  std::vector<int64_t> pending(100);
  for (int64_t s = 0; s < 100; ++s) pending[static_cast<size_t>(s)] = s;
  plan = plan_generation(small, alone, pending, 4, int64_t{64} << 20);
  EXPECT_EQ(plan->samples_per_chunk, kTileTargetBytes / sample);
  EXPECT_EQ(plan->tiles_per_run, 1);
}

TEST(GenerationPlan, ALatticeBeyondPetscIndicesIsPlannedIn64Bits) {
  // d = 3, L = 65536, K = 4: 4096^3 = 2^36 top-level blocks (PETSc's 32-bit DMDA overflowed),
  // 2^48 sites per sample. One block row (16 x 65536^2 sites) needs 2^36 x 4 bytes x 1.07.
  const Geometry geometry{3, 65536, 2, 4};
  const auto choice = choose_decomposition(geometry, 2, 1, 0);
  ASSERT_EQ(choice.problem, DecompositionProblem::kNone);
  EXPECT_EQ(choice.decomposition.lattice_ranks, 2);
  const int64_t row = box_bytes_all_levels(geometry, Box{3, {0, 0, 0}, {16, 65536, 65536}}, 4);
  const auto plan = plan_generation(geometry, choice.decomposition, {0}, 4, 3 * row, 3 * row);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->samples_per_chunk, 1);
  for (int rank = 0; rank < 2; ++rank) {
    const Tiling& tiling = plan->tilings[static_cast<size_t>(rank)];
    EXPECT_EQ(tiling.count(), 683);  // 2048 block rows in tiles of at most 3
    int64_t sites = 0;
    for (int64_t t = 0; t < tiling.count(); ++t) sites += tiling.tile(t).size();
    EXPECT_EQ(sites, int64_t{1} << 47);
  }
  EXPECT_EQ(plan->steps, 683);
  EXPECT_EQ(plan->tilings[1].tile(682).begin[0] + plan->tilings[1].tile(682).extent[0], 65536);
}

}  // namespace
}  // namespace rgflow::lattice
