#include "rgflow/train/data.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <typeinfo>

#include "rgflow/coarse/block_pairs.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::train {
namespace {

// A byte count as a budget option gives it: in MiB when whole, else in bytes.
std::string bytes_text(int64_t bytes) {
  if (bytes % (int64_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

DataPlan DataPlan::make(const io::DatasetSpec& data, int level, double val_fraction, int64_t batch,
                        int64_t memory_budget, int64_t scalar_bytes,
                        const std::string& option_prefix, const std::string& budget_option) {
  DataPlan plan;
  const int64_t samples = data.samples;
  plan.validation_samples =
      val_fraction > 0 ? std::max<int64_t>(1, std::llround(val_fraction * samples)) : 0;
  plan.training_samples = samples - plan.validation_samples;
  if (plan.training_samples < 1) {
    throw UsageError("option " + option_prefix +
                     "val_fraction: leaves no training samples (the dataset has " +
                     std::to_string(samples) + ")");
  }
  const auto& g = data.geometry;
  plan.pairs_per_sample = coarse::pairs_per_sample(g.dim, g.level_side(level), g.block_side);
  const int64_t training_pairs = plan.training_samples * plan.pairs_per_sample;
  if (batch > training_pairs) {
    throw UsageError("option " + option_prefix + "batch: " + std::to_string(batch) +
                     " exceeds the training split's " + std::to_string(training_pairs) + " pairs");
  }
  // A pair costs its values and, in a training window, its entry of the window's epoch order,
  // which every rank holds whole (Trainer): the budget bounds both. A validation window, counted
  // at the same cost, holds fewer bytes than that, so it fits beside the training window's order
  // (the training window's pairs are freed during the validation pass).
  const int64_t pair_bytes =
      (g.sites_per_block() + 1) * scalar_bytes + static_cast<int64_t>(sizeof(uint32_t));
  const int64_t sample_bytes = plan.pairs_per_sample * pair_bytes;
  plan.window_samples = memory_budget / sample_bytes;
  const std::string budget_name = option_prefix + budget_option;
  if (plan.window_samples < 1) {
    // One sample does not fit: windows of whole top-level blocks of one sample.
    const auto tiling = plan_pair_tiling(g, level, pair_bytes, memory_budget);
    if (!tiling) {
      const int64_t top = g.top_block_side();
      const int64_t block_pairs =
          coarse::pairs_per_sample(g.dim, top, g.side / g.level_side(level + 1));
      throw UsageError("option " + budget_name + ": " + bytes_text(memory_budget) +
                       " cannot hold the training pairs of one top-level block (side b^K = " +
                       std::to_string(top) + ", " + std::to_string(block_pairs) +
                       " pairs of level " + std::to_string(level) + "): they need " +
                       bytes_text(block_pairs * pair_bytes) + "; raise it");
    }
    plan.tiled = true;
    plan.tiling = *tiling;
    const int64_t tiles = tiling->count();
    const int64_t pair_factor = g.side / g.level_side(level + 1);
    // Every window is visited in an order drawn over all of them each epoch.
    constexpr int64_t kMaxWindows = int64_t{1} << 24;
    if (tiles > kMaxWindows / std::max(plan.training_samples, plan.validation_samples)) {
      throw UsageError(
          "option " + budget_name + ": " + bytes_text(memory_budget) + " makes windows of " +
          std::to_string(tiling->tile(0).coarsened(pair_factor).size()) + " pairs, more than " +
          std::to_string(kMaxWindows) + " windows per split; raise it");
    }
    for (int64_t t = 0; t < tiles; ++t) {
      plan.tile_pairs.push_back(tiling->tile(t).coarsened(pair_factor).size());
    }
    plan.streamed = true;
    plan.window_pairs = plan.tile_pairs[0];
    if (batch > plan.window_pairs) {
      throw UsageError("option " + option_prefix + "batch: " + std::to_string(batch) +
                       " exceeds the " + std::to_string(plan.window_pairs) + " pairs a tile of " +
                       budget_name + " holds");
    }
    return plan;
  }
  // In memory, both splits are held at once: they must fit the budget together.
  plan.streamed = samples > plan.window_samples;
  plan.window_pairs = std::min(plan.window_samples, plan.training_samples) * plan.pairs_per_sample;
  if (plan.streamed && batch > plan.window_samples * plan.pairs_per_sample) {
    throw UsageError("option " + option_prefix + "batch: " + std::to_string(batch) +
                     " exceeds the " + std::to_string(plan.window_samples * plan.pairs_per_sample) +
                     " pairs a window of " + budget_name + " holds");
  }
  return plan;
}

std::string DataPlan::streaming() const {
  if (tiled) {
    return " (streamed from the file in tiles of whole top-level blocks, " +
           std::to_string(tiling.count()) + " per sample, of up to " +
           std::to_string(window_pairs) + " pairs)";
  }
  if (streamed) {
    return " (streamed from the file in windows of " + std::to_string(window_samples) + " samples)";
  }
  return "";
}

std::optional<lattice::Tiling> plan_pair_tiling(const lattice::Geometry& geometry, int level,
                                                int64_t pair_bytes, int64_t budget_bytes) {
  lattice::Tiling tiling;
  tiling.box = lattice::full_box(geometry.dim, geometry.side);
  tiling.block_side = geometry.top_block_side();
  const int64_t pair_factor = geometry.side / geometry.level_side(level + 1);
  const int64_t budget_pairs = budget_bytes / pair_bytes;
  // As lattice::plan_tiling, with the pairs of a tile as its cost: the first axis whose unit (one
  // block on the axes up to it, whole after it) fits, then as many blocks of it per tile as fit.
  for (int axis = 0; axis < geometry.dim; ++axis) {
    lattice::Box unit = tiling.box;
    for (int before = 0; before <= axis; ++before) unit.extent[before] = tiling.block_side;
    const int64_t unit_pairs = unit.coarsened(pair_factor).size();
    if (unit_pairs > budget_pairs) continue;
    const int64_t blocks = tiling.box.extent[axis] / tiling.block_side;
    const int64_t per_tile = std::min(blocks, budget_pairs / unit_pairs);
    tiling.split_axis = axis;
    tiling.pieces = (blocks + per_tile - 1) / per_tile;
    return tiling;
  }
  return std::nullopt;
}

template <typename Scalar>
void extract_box_pairs(int dim, const std::array<int64_t, lattice::kMaxDim>& fine_extent,
                       int64_t block_side, const double* fine, const double* coarse, Scalar* inputs,
                       Scalar* targets) {
  // Row by row along the last axis, as coarse::extract_blocks walks a whole sample: the row at
  // fine coordinates (x_0 .. x_{d-2}) feeds one row of blocks, at the sites whose leading offsets
  // are x_a mod b.
  const int64_t b = block_side;
  std::array<int64_t, lattice::kMaxDim> blocks{1, 1, 1};
  int64_t sites = 1, pairs = 1, rows = 1;
  for (int axis = 0; axis < dim; ++axis) {
    blocks[axis] = fine_extent[axis] / b;
    sites *= b;
    pairs *= blocks[axis];
    if (axis + 1 < dim) rows *= fine_extent[axis];
  }
  const int64_t last = dim - 1, row_length = fine_extent[last];
  for (int64_t row = 0; row < rows; ++row) {
    int64_t pair_base = 0, site_base = 0, rest = row, pair_stride = blocks[last], site_stride = b;
    for (int axis = last - 1; axis >= 0; --axis) {
      const int64_t x = rest % fine_extent[axis];
      rest /= fine_extent[axis];
      pair_base += (x / b) * pair_stride;
      site_base += (x % b) * site_stride;
      pair_stride *= blocks[axis];
      site_stride *= b;
    }
    const double* source = fine + row * row_length;
    Scalar* target = inputs + pair_base * sites + site_base;
    for (int64_t k = 0; k < blocks[last]; ++k, target += sites, source += b) {
      for (int64_t r = 0; r < b; ++r) target[r] = static_cast<Scalar>(source[r]);
    }
  }
  for (int64_t pair = 0; pair < pairs; ++pair) targets[pair] = static_cast<Scalar>(coarse[pair]);
}

namespace {

// The pairs of rows [row_begin, row_end) of `coarse` (a box of level + 1; `fine` the same
// region of `level`) of one sample into inputs / targets from their first column, reading a few
// MiB (as double) at a time so the reading buffers stay small beside the pairs. A NaN or Inf is
// a UsageError (DatasetReader::read_box).
template <typename Scalar>
void read_row_pairs(const io::DatasetReader& reader, int level, int64_t sample,
                    const lattice::Box& fine, const lattice::Box& coarse, int64_t row_begin,
                    int64_t row_end, Scalar* inputs, Scalar* targets) {
  const auto& g = reader.spec().geometry;
  const int64_t b = g.block_side;
  const int n = static_cast<int>(g.sites_per_block());
  const int64_t row_pairs = coarse.size() / coarse.extent[0];
  constexpr int64_t kReadBytes = int64_t{4} << 20;
  const int64_t rows_per_read =
      std::max<int64_t>(1, kReadBytes / (row_pairs * (n + 1) * int64_t{sizeof(double)}));
  for (int64_t row = row_begin; row < row_end; row += rows_per_read) {
    const int64_t count = std::min(rows_per_read, row_end - row);
    lattice::Box fine_rows = fine, coarse_rows = coarse;
    coarse_rows.begin[0] += row;
    coarse_rows.extent[0] = count;
    fine_rows.begin[0] += row * b;
    fine_rows.extent[0] = count * b;
    const auto fine_values = reader.read_box(level, sample, fine_rows);
    const auto coarse_values = reader.read_box(level + 1, sample, coarse_rows);
    const int64_t column = (row - row_begin) * row_pairs;
    extract_box_pairs(g.dim, fine_rows.extent, b, fine_values.data(), coarse_values.data(),
                      inputs + column * n, targets + column);
  }
}

}  // namespace

template <typename Scalar>
PairSet<Scalar> load_pairs(const Comm& world, const io::DatasetReader& reader, int level,
                           int64_t sample_offset, int64_t samples) {
  const auto& g = reader.spec().geometry;
  const int64_t per_sample = coarse::pairs_per_sample(g.dim, g.level_side(level), g.block_side);
  const int n = static_cast<int>(g.sites_per_block());
  const auto range = lattice::piece_range(samples, world.size(), world.rank());
  PairSet<Scalar> set;
  set.total = static_cast<uint64_t>(samples * per_sample);
  set.first = static_cast<uint64_t>(range[0] * per_sample);
  const int64_t count = (range[1] - range[0]) * per_sample;
  set.x.resize(n, count);
  set.y.resize(1, count);
  // Read in rows of blocks, a few MiB at a time: a rank holds its samples' pairs, not also a
  // whole sample as double beside them (which tripled the peak memory of whole-sample windows).
  const lattice::Box fine = lattice::full_box(g.dim, g.level_side(level));
  const lattice::Box coarse = lattice::full_box(g.dim, g.level_side(level + 1));
  for (int64_t s = range[0]; s < range[1]; ++s) {
    const int64_t column = (s - range[0]) * per_sample;
    read_row_pairs(reader, level, sample_offset + s, fine, coarse, 0, coarse.extent[0],
                   set.x.data() + column * n, set.y.data() + column);
  }
  return set;
}

template <typename Scalar>
PairSet<Scalar> load_tile_pairs(const Comm& world, const io::DatasetReader& reader, int level,
                                int64_t sample, const lattice::Box& tile, uint64_t first_id) {
  const auto& g = reader.spec().geometry;
  const int n = static_cast<int>(g.sites_per_block());
  const lattice::Box fine = tile.coarsened(g.side / g.level_side(level));
  const lattice::Box coarse = tile.coarsened(g.side / g.level_side(level + 1));
  // Whole rows of blocks (the tile's first axis) per rank: consecutive pair ids, and the groups
  // of reproducible sums.
  const int64_t rows = coarse.extent[0], row_pairs = coarse.size() / rows;
  const auto range = lattice::piece_range(rows, world.size(), world.rank());
  PairSet<Scalar> set;
  set.total = static_cast<uint64_t>(coarse.size());
  set.first = first_id + static_cast<uint64_t>(range[0] * row_pairs);
  set.x.resize(n, (range[1] - range[0]) * row_pairs);
  set.y.resize(1, (range[1] - range[0]) * row_pairs);
  read_row_pairs(reader, level, sample, fine, coarse, range[0], range[1], set.x.data(),
                 set.y.data());
  return set;
}

namespace {

// The in-memory pairs last loaded (one entry), kept while a PairSharing lives.
class PairCache {
 public:
  template <typename Scalar>
  using Split =
      std::pair<std::shared_ptr<const PairSet<Scalar>>, std::shared_ptr<const PairSet<Scalar>>>;

  // This rank's training and validation pairs of `plan` (not streamed), from the cache when the
  // same split of the same dataset and level was loaded last. Collective over `world`.
  template <typename Scalar>
  Split<Scalar> pairs(const Comm& world, const io::DatasetReader& reader, int level,
                      const DataPlan& plan) {
    const std::string key = reader.path() + "|" + std::to_string(level) + "|" +
                            std::to_string(plan.training_samples) + "|" +
                            std::to_string(plan.validation_samples) + "|" + typeid(Scalar).name();
    Split<Scalar>* split = nullptr;
    if constexpr (std::is_same_v<Scalar, float>) {
      split = &single_;
    } else {
      split = &double_;
    }
    if (key_ == key) return *split;
    clear();  // free the previous data before loading the next
    // Each rank reads its own samples (independent reads): a failure on one reaches all.
    world.local_phase("train: load", [&] {
      split->first = std::make_shared<const PairSet<Scalar>>(
          load_pairs<Scalar>(world, reader, level, 0, plan.training_samples));
      split->second = std::make_shared<const PairSet<Scalar>>(
          load_pairs<Scalar>(world, reader, level, plan.training_samples, plan.validation_samples));
    });
    key_ = key;
    return *split;
  }

  void clear() {
    key_.clear();
    single_ = {};
    double_ = {};
  }

 private:
  std::string key_;
  Split<float> single_;
  Split<double> double_;
};

PairCache process_cache;
bool sharing = false;

}  // namespace

PairSharing::PairSharing() {
  sharing = true;
}

PairSharing::~PairSharing() {
  sharing = false;
  process_cache.clear();
}

namespace {

// The windows of `samples` samples of a split starting at sample `split_offset`, read when
// visited: runs of plan.window_samples whole samples, or, when tiled, the tiles of each sample in
// turn. `world` and `reader` must outlive the result.
template <typename Scalar>
PairSource<Scalar> streamed_split(const Comm& world, const io::DatasetReader& reader, int level,
                                  const DataPlan& plan, int64_t split_offset, int64_t samples) {
  const int64_t per_sample = plan.pairs_per_sample;
  std::vector<uint64_t> begins(1, 0), groups;
  if (!plan.tiled) {
    const int64_t window_samples = plan.window_samples;
    for (int64_t first = 0; first < samples; first += window_samples) {
      begins.push_back(
          static_cast<uint64_t>(std::min(first + window_samples, samples) * per_sample));
      groups.push_back(static_cast<uint64_t>(per_sample));
    }
    auto loader = [&world, &reader, level, per_sample, window_samples, split_offset,
                   samples](int64_t w) {
      const int64_t first = w * window_samples;
      PairSet<Scalar> set;
      world.local_phase("train: load", [&] {
        set = load_pairs<Scalar>(world, reader, level, split_offset + first,
                                 std::min(first + window_samples, samples) - first);
      });
      set.first += static_cast<uint64_t>(first * per_sample);  // ids from the split's start
      return set;
    };
    return PairSource<Scalar>(std::move(begins), std::move(groups), loader);
  }
  const auto& g = reader.spec().geometry;
  const lattice::Tiling tiling = plan.tiling;
  const int64_t tiles = tiling.count();
  const int64_t pair_factor = g.side / g.level_side(level + 1);
  std::vector<uint64_t> tile_offsets(1, 0);  // first pair of each tile inside its sample
  std::vector<uint64_t> tile_groups;         // pairs per row of blocks of each tile
  for (int64_t t = 0; t < tiles; ++t) {
    const lattice::Box blocks = tiling.tile(t).coarsened(pair_factor);
    tile_offsets.push_back(tile_offsets.back() + static_cast<uint64_t>(blocks.size()));
    tile_groups.push_back(static_cast<uint64_t>(blocks.size() / blocks.extent[0]));
  }
  for (int64_t s = 0; s < samples; ++s) {
    for (int64_t t = 0; t < tiles; ++t) {
      begins.push_back(static_cast<uint64_t>(s * per_sample) + tile_offsets[size_t(t) + 1]);
      groups.push_back(tile_groups[static_cast<size_t>(t)]);
    }
  }
  auto loader = [&world, &reader, level, per_sample, split_offset, tiling, tiles,
                 tile_offsets](int64_t w) {
    const int64_t sample = w / tiles, t = w % tiles;
    PairSet<Scalar> set;
    world.local_phase("train: load", [&] {
      set = load_tile_pairs<Scalar>(
          world, reader, level, split_offset + sample, tiling.tile(t),
          static_cast<uint64_t>(sample * per_sample) + tile_offsets[static_cast<size_t>(t)]);
    });
    return set;
  };
  return PairSource<Scalar>(std::move(begins), std::move(groups), loader);
}

}  // namespace

template <typename Scalar>
TrainingPairs<Scalar> open_training_pairs(const Comm& world, const io::DatasetReader& reader,
                                          int level, const DataPlan& plan) {
  const int64_t per_sample = plan.pairs_per_sample;
  if (plan.streamed) {
    return {streamed_split<Scalar>(world, reader, level, plan, 0, plan.training_samples),
            streamed_split<Scalar>(world, reader, level, plan, plan.training_samples,
                                   plan.validation_samples),
            0.0};
  }
  const double start = wall_seconds();
  const auto [train_pairs, validation_pairs] =
      process_cache.pairs<Scalar>(world, reader, level, plan);
  // Without sharing, the pairs live as long as the run's sources alone.
  if (!sharing) process_cache.clear();
  const double seconds = world.max(wall_seconds() - start);
  return {PairSource<Scalar>(train_pairs, per_sample),
          PairSource<Scalar>(validation_pairs, per_sample), seconds};
}

template PairSet<float> load_pairs<float>(const Comm&, const io::DatasetReader&, int, int64_t,
                                          int64_t);
template PairSet<double> load_pairs<double>(const Comm&, const io::DatasetReader&, int, int64_t,
                                            int64_t);
template PairSet<float> load_tile_pairs<float>(const Comm&, const io::DatasetReader&, int, int64_t,
                                               const lattice::Box&, uint64_t);
template PairSet<double> load_tile_pairs<double>(const Comm&, const io::DatasetReader&, int,
                                                 int64_t, const lattice::Box&, uint64_t);
template void extract_box_pairs<float>(int, const std::array<int64_t, lattice::kMaxDim>&, int64_t,
                                       const double*, const double*, float*, float*);
template void extract_box_pairs<double>(int, const std::array<int64_t, lattice::kMaxDim>&, int64_t,
                                        const double*, const double*, double*, double*);
template TrainingPairs<float> open_training_pairs<float>(const Comm&, const io::DatasetReader&, int,
                                                         const DataPlan&);
template TrainingPairs<double> open_training_pairs<double>(const Comm&, const io::DatasetReader&,
                                                           int, const DataPlan&);

}  // namespace rgflow::train
