// The training data of `rgflow train`: the pairs (block of level k, its value at level k+1) read
// from a dataset, split into training and validation samples, held in memory or, when a split
// does not fit the memory budget, read in windows of whole samples, or, when one sample does not
// fit, in windows of one tile of whole top-level blocks of one sample.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rgflow/core/mpi.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/lattice/partition.hpp"
#include "rgflow/train/trainer.hpp"

namespace rgflow::train {

/// The split and the windowing of one training run: a pure function of the dataset's shape and
/// the options, never of the rank count (so neither are the batches).
struct DataPlan {
  int64_t training_samples = 0;    // samples [0, training_samples) train
  int64_t validation_samples = 0;  // the rest validate
  int64_t pairs_per_sample = 0;
  int64_t window_samples = 0;  // whole samples a window of the memory budget holds (0: tiled)
  bool streamed = false;       // a split does not fit in one window: read in windows
  /// One sample's pairs exceed the budget: every window is one tile of `tiling` (level-0 sites,
  /// whole top-level blocks, the whole lattice cut as generate cuts a box) of one sample.
  bool tiled = false;
  lattice::Tiling tiling;
  /// Pairs of each tile of one sample, in tile order (tiled only).
  std::vector<int64_t> tile_pairs;
  /// Pairs of the first (a largest) window of the training split: the windows' identity, recorded
  /// in a checkpoint so that a resume with another budget is refused rather than run on other
  /// batches. All the training pairs when they are held in memory.
  int64_t window_pairs = 0;

  /// Plans training on `level` of `data` with `val_fraction` of the samples held out, batches of
  /// `batch` pairs and `memory_budget` bytes (over all ranks) for the pairs of `scalar_bytes`
  /// per value and the epoch order of a training window (4 bytes a pair, held whole by every
  /// rank); in memory, both splits are held at once, streamed, one window's pairs at a time. The
  /// budget counts over all ranks, each holding its share of a window, so the
  /// windows, and with them the batches, do not depend on the rank count. UsageError naming the
  /// option (`option_prefix` + name; the budget as `budget_option`) when the split leaves no
  /// training sample, a batch exceeds the training split or a window, or the training pairs of
  /// one top-level block do not fit the budget.
  static DataPlan make(const io::DatasetSpec& data, int level, double val_fraction, int64_t batch,
                       int64_t memory_budget, int64_t scalar_bytes,
                       const std::string& option_prefix,
                       const std::string& budget_option = "memory_mb");
  /// How the pairs are read, as rgflow train's first line says it: "" when they are held in
  /// memory, else " (streamed from the file in windows of <n> samples)" or, tiled, " (streamed
  /// from the file in tiles of whole top-level blocks, <count> per sample, of up to <n> pairs)".
  std::string streaming() const;
};

/// The tiling of the lattice of `geometry` (level-0 sites, whole top-level blocks, in the order of
/// lattice::Tiling) with the fewest tiles whose training pairs of `level` (one block of level
/// `level` and its value at `level` + 1, `pair_bytes` each) fit `budget_bytes`: the whole lattice
/// if it fits; nullopt if one top-level block's pairs do not. Pure.
std::optional<lattice::Tiling> plan_pair_tiling(const lattice::Geometry& geometry, int level,
                                                int64_t pair_bytes, int64_t budget_bytes);

/// The training pairs of a box of level `level`: `fine` holds the box's level-`level` sites
/// (extent `fine_extent`, whole blocks of side `block_side`, row-major), `coarse` its blocks'
/// values at level + 1 (row-major over the blocks); writes `inputs` (N x pairs, column p the
/// sites of block p in block order, blocks row-major over the box) and `targets` (pairs), as
/// coarse::extract_pairs does for a whole sample. Pure.
template <typename Scalar>
void extract_box_pairs(int dim, const std::array<int64_t, lattice::kMaxDim>& fine_extent,
                       int64_t block_side, const double* fine, const double* coarse, Scalar* inputs,
                       Scalar* targets);

/// This rank's share (lattice::piece_range) of samples [sample_offset, sample_offset + samples)
/// of the level pair (`level`, `level` + 1), as pairs with global ids counted from
/// `sample_offset`. A NaN or Inf in the data is a UsageError naming the sample. Local to this
/// rank (independent reads of a reader every rank opened); callers wrap it in
/// Comm::local_phase so a failure reaches every rank.
template <typename Scalar>
PairSet<Scalar> load_pairs(const Comm& world, const io::DatasetReader& reader, int level,
                           int64_t sample_offset, int64_t samples);

/// This rank's share of the pairs of `tile` (level-0 sites, whole top-level blocks) of `sample`:
/// the tile's rows of level-(`level` + 1) blocks (its first axis) split over the ranks by
/// lattice::piece_range, read by hyperslab a few MiB at a time; pair ids from `first_id` on, in
/// the tile's row-major block order. Local, as load_pairs.
template <typename Scalar>
PairSet<Scalar> load_tile_pairs(const Comm& world, const io::DatasetReader& reader, int level,
                                int64_t sample, const lattice::Box& tile, uint64_t first_id);

/// While one lives (`rgflow run` holds one over all its stages), the in-memory training and
/// validation pairs last loaded in this process are kept for the next training run: models on the
/// same dataset, level and split share the data instead of reading it again (one entry: the
/// previous data is freed before the next load). Without one, each run's pairs are freed when the
/// run ends. Local; one at a time.
class PairSharing {
 public:
  PairSharing();
  ~PairSharing();
  PairSharing(const PairSharing&) = delete;
  PairSharing& operator=(const PairSharing&) = delete;
};

/// The training and validation pairs of a run as the trainer visits them.
template <typename Scalar>
struct TrainingPairs {
  PairSource<Scalar> train, validation;
  double load_seconds = 0;  // reading the in-memory pairs, slowest rank
};

/// The pairs of `plan`: in memory (shared with the previous run while a PairSharing lives), else
/// windows read from `reader` when visited. Collective over `world` (the ranks that opened
/// `reader`: every rank loads its share, and a failure on one, a read error or a non-finite
/// value, is raised on all; every window read later likewise). `reader` and `world` must outlive
/// the result.
template <typename Scalar>
TrainingPairs<Scalar> open_training_pairs(const Comm& world, const io::DatasetReader& reader,
                                          int level, const DataPlan& plan);

}  // namespace rgflow::train
