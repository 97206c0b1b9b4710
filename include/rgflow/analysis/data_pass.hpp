// The data passes of rgflow analyze (docs/design-notes.md, "analyze in pieces"): every sample
// is cut into canonical tiles, slabs of whole top-level block rows (axis 0) of at most
// kCanonicalTileSites level-0 sites, so every block of every level, and every block a model
// reads, lies inside one tile. One pass over the data reads each (sample, tile) piece once and,
// piece by piece, adds it to the data's cumulants, applies every model to it (its learned flow
// and its generalisation cells on the data); one pass over each test set does the test set's
// generalisation cells for every model. Memory: the pieces read at once, at most the budget.
//
// Work and bit-identity: each jackknife slot's run of (sample, tile) pieces is cut into chunks
// of consecutive pieces (PassChunks) whose size depends only on the data, never on the rank
// count or the budget, and a chunk is the unit of work: one rank gives its CentralMoments one
// add() per (sample, tile, level) in sample then tile order, into the chunk's own slot of the
// table, and after the reduction each group's chunks are merged in chunk order. A
// generalisation cell gets one squared-error sum per (sample, tile), each made by one rank, and
// the tiles of a sample are added in tile order after the reduction. A slot of at most one
// chunk's sites is one chunk, and a sample of at most kCanonicalTileSites sites is one tile: its
// sums are exactly those of a whole-sample pass.
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

/// Level-0 sites of a chunk of a pass, at least (unless its jackknife slot is smaller): the unit
/// of work shared over ranks (PassChunks). Fixed, so that the results depend only on the data.
constexpr int64_t kChunkSites = int64_t{1} << 22;

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

/// One chunk of a pass: samples [first_sample, end_sample) x tiles [first_tile, end_tile) of
/// sample_tiles, in sample then tile order, all in jackknife group `group`.
struct PassChunk {
  int64_t group = 0;
  int64_t piece = 0;  // its slot among the group's chunks (GroupedMoments piece), in order
  int64_t first_sample = 0, end_sample = 0;
  size_t first_tile = 0, end_tile = 0;
  int64_t spin_piece = 0;  // its piece of each of its samples in a SpinSumTable
  int64_t sites = 0;       // level-0 sites
};

/// The chunks of the pass over the data: each jackknife unit (a sample group's samples, or one
/// sample's rows of a space group) cut into chunks of consecutive (sample, tile) pieces. A unit
/// whose samples hold fewer than `chunk_sites` level-0 sites each is cut into runs of
/// ceil(chunk_sites / sample sites) whole samples (one chunk when the unit is smaller); a larger
/// sample's tiles into runs of at least `chunk_sites` sites (the last one shorter), each sample
/// alone. Every chunk but the last of a unit (or of a sample cut alone, itself of at least
/// `chunk_sites` sites) holds at least `chunk_sites` sites, so there are at most
/// 2 x sites / chunk_sites + units chunks (units: the sample groups, or samples x space groups),
/// each (levels) x (order + 1) doubles in a table.
class PassChunks {
 public:
  PassChunks(const lattice::Geometry& geometry, int64_t samples, JackknifeGroups kind,
             int64_t groups, int64_t chunk_sites = kChunkSites);
  const lattice::Geometry& geometry() const { return geometry_; }
  int64_t samples() const { return samples_; }
  JackknifeGroups kind() const { return kind_; }
  int64_t groups() const { return groups_; }
  /// Every chunk: group by group, and within a group in the order its moments are merged.
  const std::vector<PassChunk>& chunks() const { return chunks_; }
  /// The tiles of every sample (sample_tiles): the chunks' tile indices.
  const std::vector<RowRange>& tiles() const { return tiles_; }
  /// Pieces of each sample in a SpinSumTable: the chunks that hold part of one sample.
  int64_t spin_pieces() const { return spin_pieces_; }
  /// A table of `levels` levels with one slot per chunk (GroupedMoments, by_level merges each
  /// group's chunks in order).
  GroupedMoments table(int levels, int order) const;
  /// The owner of every chunk among `ranks` ranks: in chunk order, each to the rank with the
  /// fewest sites so far (the lowest such rank), so the first min(chunks, ranks) chunks go to
  /// distinct ranks and every rank works while there are at least as many chunks as ranks.
  std::vector<int> owners(int ranks) const;

 private:
  lattice::Geometry geometry_;
  int64_t samples_;
  JackknifeGroups kind_;
  int64_t groups_;
  std::vector<RowRange> tiles_;
  std::vector<PassChunk> chunks_;
  int64_t spin_pieces_ = 1;
};

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

/// The pass over the data (float or double values as stored) of `chunks`: the slots of `data`
/// (levels 0..K) and of every model's flow table (both chunks.table's layout), and of the
/// generalisation cells on the data (source 0), of the chunks that rank `rank` of `ranks` owns
/// (PassChunks::owners). Reads at most `read_rows` rows at once (whole canonical tiles of one
/// chunk, at least one).
///
/// With `spins` (fields of spins), also each tile's spin sums (tile_spin_sums) of the data's
/// levels into `spins` and of each model's learned levels into its table: slot (level, sample,
/// piece), piece the chunk's spin_piece (tables of chunks.spin_pieces() pieces). A tile's bonds
/// along axis 0 need the next row: inside a read it is the next tile's first row; after a read's
/// last tile the next top-level block row (wrapping to row 0) is read too, one row more than
/// read_rows. A learned level's next row is made by applying the model to the data's next top-level
/// block row on its own, so the learned sums depend only on the canonical tiles, as everything else
/// here.
template <typename Value>
void data_pass(const PassChunks& chunks, GroupedMoments& data, std::vector<PassModel>& models,
               const GeneralisationPlan& plan, TileSums& sums, int64_t read_rows, int rank,
               int ranks, const SlabReader<Value>& read, SpinSumTable* spins = nullptr);

/// The pass over test set `source` (1-based, as GeneralisationCell::source) of `samples`
/// samples: the slots of every cell on it whose (sample, tile) index is rank mod ranks; reads
/// only the levels the cells use, one canonical tile at a time.
template <typename Value>
void test_set_pass(const lattice::Geometry& geometry, int64_t samples, int source,
                   std::vector<PassModel>& models, const GeneralisationPlan& plan, TileSums& sums,
                   int rank, int ranks, const SlabReader<Value>& read);

/// data_pass and test_set_pass on the values of `source` as stored (float32 data through the
/// float32 reader, with the float32 kernels where a model has them); `chunks`: the source's;
/// `spins`: the data's spin sums, or none.
void data_pass(const PassSource& source, const PassChunks& chunks, GroupedMoments& data,
               const PassModels& models, const GeneralisationPlan& plan, TileSums& sums,
               int64_t read_rows, int rank, int ranks, SpinSumTable* spins = nullptr);
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
