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
#include <memory>
#include <string>
#include <vector>

#include "rgflow/analysis/field_model.hpp"
#include "rgflow/analysis/generalisation.hpp"
#include "rgflow/analysis/grouped_moments.hpp"
#include "rgflow/analysis/spin_observables.hpp"
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
  SpinSumTable* spins = nullptr;   // its learned flow's spin sums (same levels), or none
};

/// A dataset as the passes read it: its geometry, samples, stored type ("float32" or
/// "float64") and readers of its slabs as stored and widened to double.
struct PassSource {
  lattice::Geometry geometry;
  int64_t samples = 0;
  std::string dtype;
  SlabReader<float> read_float;
  SlabReader<double> read_double;
};

/// The models of the passes, each with its kernels and its learned-flow table.
class PassModels {
 public:
  /// One model: its network (referenced: it must outlive this), its stored parameters' type
  /// ("float32" or "float64") and the level k it maps to k + 1.
  struct Source {
    const nn::Network<double>* network = nullptr;
    std::string scalar;
    int level_input = 0;
  };
  /// Kernels in double for every model, and in float32 where the model and the data (stored as
  /// `data_dtype`) both are (analysis_precision); a learned-flow table of K - k + 1 levels, made
  /// by `table(levels)`, for every model whose level k is below the data's top level K.
  /// With `spin_table` (fields of spins), also a table of the learned levels' spin sums, made by
  /// `spin_table(k)`, for every model with a learned-flow table.
  PassModels(const std::vector<Source>& models, const std::string& data_dtype, int data_levels,
             const std::function<GroupedMoments(int levels)>& table,
             const std::function<SpinSumTable(int first_level)>& spin_table = nullptr);
  size_t size() const { return models_.size(); }
  /// True when model `m` is applied with the float32 kernels (to float32 data).
  bool single(size_t m) const { return models_[m].in_float != nullptr; }
  /// Model m's learned-flow table, or null when it has none.
  GroupedMoments* flow_table(size_t m) const { return models_[m].flow.get(); }
  /// Model m's learned levels' spin sums, or null when it has none.
  SpinSumTable* spin_table(size_t m) const { return models_[m].spins.get(); }
  /// The models as a pass over values stored as `dtype` applies them (float32 kernels only to
  /// float32 values), with their flow tables when `flows`.
  std::vector<PassModel> for_pass(const std::string& dtype, bool flows) const;
  /// How each model is applied to the data: "name:float32,name:float64,..." (`names` in model
  /// order), as results.h5's root attribute network_precision records it.
  std::string precision(const std::vector<std::string>& names) const;

 private:
  struct Kernels {
    int level_input = 0;
    std::unique_ptr<FieldModel<float>> in_float;
    std::unique_ptr<FieldModel<double>> in_double;
    std::unique_ptr<GroupedMoments> flow;
    std::unique_ptr<SpinSumTable> spins;
  };
  std::vector<Kernels> models_;
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
///
/// With `spins` (fields of spins), also each tile's spin sums (tile_spin_sums) of the data's
/// levels into `spins` and of each model's learned levels into its table: slot (level, sample,
/// piece), piece the space group or 0. A tile's bonds along axis 0 need the next row: inside a
/// read it is the next tile's first row; after a read's last tile the next top-level block row
/// (wrapping to row 0) is read too, one row more than read_rows. A learned level's next row is
/// made by applying the model to the data's next top-level block row on its own, so the
/// learned sums depend only on the canonical tiles, as everything else here.
template <typename Value>
void data_pass(const lattice::Geometry& geometry, int64_t samples, GroupedMoments& data,
               std::vector<PassModel>& models, const GeneralisationPlan& plan, TileSums& sums,
               int64_t read_rows, int rank, int ranks, const SlabReader<Value>& read,
               SpinSumTable* spins = nullptr);

/// The pass over test set `source` (1-based, as GeneralisationCell::source) of `samples`
/// samples: the slots of every cell on it whose (sample, tile) index is rank mod ranks; reads
/// only the levels the cells use, one canonical tile at a time.
template <typename Value>
void test_set_pass(const lattice::Geometry& geometry, int64_t samples, int source,
                   std::vector<PassModel>& models, const GeneralisationPlan& plan, TileSums& sums,
                   int rank, int ranks, const SlabReader<Value>& read);

/// data_pass and test_set_pass on the values of `source` as stored (float32 data through the
/// float32 reader, with the float32 kernels where a model has them); `spins`: the data's spin
/// sums, or none.
void data_pass(const PassSource& source, GroupedMoments& data, const PassModels& models,
               const GeneralisationPlan& plan, TileSums& sums, int64_t read_rows, int rank,
               int ranks, SpinSumTable* spins = nullptr);
void test_set_pass(const PassSource& source, int index, const PassModels& models,
                   const GeneralisationPlan& plan, TileSums& sums, int rank, int ranks);

/// The generalisation table, from tile sums summed over ranks.
struct GeneralisationTable {
  std::vector<std::vector<double>> mse;  // [model][test]; NaN where the cell has a note
  std::string notes;                     // "model/test: why", joined by "; " ("" if none)
};

/// Per cell of `plan`, the mean squared error over its samples' blocks of its level pair (in the
/// geometry of its source: the data, or test set e = source), or NaN and its note; `model_names`
/// name the models in the notes.
GeneralisationTable generalisation_table(const GeneralisationPlan& plan, const TileSums& sums,
                                         const std::vector<std::string>& model_names,
                                         const PassSource& data,
                                         const std::vector<PassSource>& test_sets);

/// Tiles per sample of each source of the generalisation cells, as TileSums takes them: the
/// data's (sample_tiles of its jackknife grouping), then each test set's (canonical_tiles).
std::vector<int64_t> tiles_per_source(const PassSource& data, JackknifeGroups kind, int64_t groups,
                                      const std::vector<PassSource>& test_sets);

/// The first min(`limit`, all) blocks of level 0 of `samples` samples, in sample then block
/// order (one block per column), read one canonical tile at a time through `read`: the blocks
/// the symmetry metrics are measured on.
nn::Matrix<double> first_blocks(const lattice::Geometry& geometry, int64_t samples, int64_t limit,
                                const SlabReader<double>& read);

}  // namespace rgflow::analysis
