// The data passes of rgflow analyze (docs/design-notes.md, "analyze in pieces"): every sample
// is cut into canonical tiles, slabs of whole top-level block rows (axis 0) of at most
// kCanonicalTileSites level-0 sites, so every block of every level, and every block a model
// reads, lies inside one tile. One pass over the data reads each (sample, tile) piece once and,
// piece by piece, adds it to the data's cumulants, applies every model to it (its learned flow
// and its generalisation cells on the data); one pass over each test set does the test set's
// generalisation cells for every model. Memory: the pieces read at once, at most the budget.
//
// Bit-identity: every sum depends only on the canonical tiles, never on how many are read at
// once or on which rank reads them. A jackknife slot's CentralMoments get one add() per (sample,
// tile, level) in sample then tile order, made by the one rank that owns the slot; a
// generalisation cell gets one squared-error sum per (sample, tile), each made by one rank, and
// the tiles of a sample are added in tile order after the reduction. A sample of at most
// kCanonicalTileSites sites is one tile: its sums are exactly those of a whole-sample pass.
//
// Pure kernels and planning: no MPI, no files. The caller reads pieces through a SlabReader and
// sums the tables' buffers over ranks (each slot filled by one rank, zeros elsewhere: exact).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "rgflow/analysis/field_model.hpp"
#include "rgflow/analysis/generalisation.hpp"
#include "rgflow/analysis/grouped_moments.hpp"
#include "rgflow/lattice/geometry.hpp"

namespace rgflow::analysis {

/// Level-0 sites of a canonical tile, at most (one top-level block row when a row is larger):
/// the segment of CentralMoments::add, so that a sample of up to this many sites is one add.
constexpr int64_t kCanonicalTileSites = int64_t{1} << 18;

/// Work space the models need per level-0 site of one canonical tile (blocks matrix, scaled
/// input, predictions and learned levels, in double at most), counted in the budget.
constexpr int64_t kModelBytesPerSite = 24;

/// Rows [begin, end) of the top-level block grid along axis 0.
struct RowRange {
  int64_t begin = 0, end = 0;
  int64_t rows() const { return end - begin; }
};

/// Sites of one top-level block row at `level`: b^(K-k) L_k^(d-1).
int64_t block_row_sites(const lattice::Geometry& geometry, int level);

/// Top-level block rows of a canonical tile: max(1, kCanonicalTileSites / block_row_sites(0)).
int64_t canonical_rows(const lattice::Geometry& geometry);

/// The canonical tiles of `range`: runs of canonical_rows rows from range.begin (the last one
/// shorter).
std::vector<RowRange> canonical_tiles(const lattice::Geometry& geometry, RowRange range);

/// The tiles of every sample of a pass: with space jackknife groups each group's rows are tiled
/// alone, in group order (a tile never crosses two groups); otherwise the whole sample.
std::vector<RowRange> sample_tiles(const lattice::Geometry& geometry, JackknifeGroups kind,
                                   int64_t groups);

/// Bytes a pass holds reading `rows` top-level block rows of one sample at every level
/// (`value_bytes` each), plus, with `models`, their work space on one canonical tile.
int64_t pass_bytes(const lattice::Geometry& geometry, int64_t rows, int64_t value_bytes,
                   bool models);

/// The most top-level block rows one read may hold within `budget_bytes`: at least one
/// canonical tile's, or 0 when one canonical tile (pass_bytes) does not fit.
int64_t rows_per_read(const lattice::Geometry& geometry, int64_t value_bytes, bool models,
                      int64_t budget_bytes);

/// One sample's values of one level on rows `rows` of the top-level block grid (b^(K-k) rows of
/// level-k sites per block row, whole along the other axes), row-major, into `out` (resized).
template <typename Value>
using SlabReader =
    std::function<void(int level, int64_t sample, RowRange rows, std::vector<Value>& out)>;

/// A model as the passes apply it: in float32 (in_float, float32 data only) or in double.
struct PassModel {
  int level_input = 0;
  FieldModel<float>* in_float = nullptr;
  FieldModel<double>* in_double = nullptr;
  GroupedMoments* flow = nullptr;  // its learned flow's table (levels K - k + 1), or none
};

/// Squared-error sums of the generalisation cells of a plan, one slot per (cell, sample, tile).
class TileSums {
 public:
  /// Cell (m, t) has plan.cells[m][t].count samples of tiles_per_source[cell.source] tiles each
  /// (no slots for cells with a note).
  TileSums(const GeneralisationPlan& plan, const std::vector<int64_t>& tiles_per_source);
  /// The slot of `sample` (the dataset's sample index, within the cell) and `tile`.
  double& at(size_t model, size_t test, int64_t sample, int64_t tile);
  /// Every slot, for the sum over ranks.
  std::vector<double>& buffer() { return slots_; }
  /// Per sample of cell (model, test), in sample order: its tiles' sums added in tile order.
  std::vector<double> sample_sums(size_t model, size_t test) const;

 private:
  const GeneralisationPlan& plan_;
  std::vector<int64_t> tiles_per_source_;
  std::vector<std::vector<size_t>> offset_;  // [model][test]: first slot
  std::vector<double> slots_;
};

/// The pass over the data (float or double values as stored): the slots of `data` (levels
/// 0..K), of every model's flow table and of the generalisation cells on the data (source 0)
/// that rank `rank` of `ranks` owns: a sample group's, or a (sample, space group)'s, slots are
/// owned by one rank (slot index mod ranks). Reads at most `read_rows` rows at once (whole
/// canonical tiles, at least one).
template <typename Value>
void data_pass(const lattice::Geometry& geometry, int64_t samples, GroupedMoments& data,
               std::vector<PassModel>& models, const GeneralisationPlan& plan, TileSums& sums,
               int64_t read_rows, int rank, int ranks, const SlabReader<Value>& read);

/// The pass over test set `source` (1-based, as GeneralisationCell::source) of `samples`
/// samples: the slots of every cell on it whose (sample, tile) index is rank mod ranks; reads
/// only the levels the cells use, one canonical tile at a time.
template <typename Value>
void test_set_pass(const lattice::Geometry& geometry, int64_t samples, int source,
                   std::vector<PassModel>& models, const GeneralisationPlan& plan, TileSums& sums,
                   int rank, int ranks, const SlabReader<Value>& read);

}  // namespace rgflow::analysis
