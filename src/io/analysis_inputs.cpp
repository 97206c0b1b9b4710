#include "rgflow/io/analysis_inputs.hpp"

#include <type_traits>

#include "rgflow/core/error.hpp"
#include "rgflow/core/text.hpp"

namespace rgflow::io {

std::unique_ptr<DatasetReader> open_complete_dataset(const std::string& path) {
  auto reader = std::make_unique<DatasetReader>(path);
  if (!reader->complete()) throw UsageError("dataset '" + path + "' is incomplete");
  return reader;
}

TrainedModel read_model_for(const std::string& path, const lattice::Geometry& data) {
  TrainedModel model = read_trained_model(path);
  const auto& block = model.network.spec().block;
  if (block.dim != data.dim || block.side != data.block_side) {
    throw UsageError("model '" + path + "' works on blocks of side " + std::to_string(block.side) +
                     " in " + std::to_string(block.dim) + "D; the dataset has blocks of side " +
                     std::to_string(data.block_side) + " in " + std::to_string(data.dim) + "D");
  }
  return model;
}

std::unique_ptr<DatasetReader> open_test_set(const std::string& path, const DatasetReader& data) {
  auto reader = std::make_unique<DatasetReader>(path);
  const auto& e = reader->spec().geometry;
  const auto& g = data.spec().geometry;
  if (e.dim != g.dim || e.block_side != g.block_side) {
    throw UsageError("dataset '" + path + "' has other blocks than '" + data.path() + "'");
  }
  if (!reader->complete()) throw UsageError("dataset '" + path + "' is incomplete");
  return reader;
}

int64_t rows_per_read(const DatasetReader& reader, bool models, const ReadBudget& budget) {
  const auto& g = reader.spec().geometry;
  const int64_t value_bytes = dtype_bytes(reader.spec().dtype);
  // The spin observables of Ising data read one top-level block row more after each read.
  const int64_t next_row =
      reader.spec().field == "ising" ? analysis::pass_bytes(g, 1, value_bytes, false) : 0;
  const int64_t rows = analysis::rows_per_read(g, value_bytes, models, budget.bytes - next_row);
  if (rows > 0) return rows;
  const int64_t tile_rows = analysis::canonical_rows(g);
  throw UsageError(
      "option " + budget.option + ": " + mib_text(budget.bytes) + " cannot hold one tile of '" +
      reader.path() + "' (" + std::to_string(tile_rows) +
      " row(s) of top-level blocks of side b^K = " + std::to_string(g.top_block_side()) +
      ", all levels, " + reader.spec().dtype + (models ? ", and the models' work space" : "") +
      "): it needs " + mib_text(analysis::pass_bytes(g, tile_rows, value_bytes, models)) +
      "; raise it");
}

int64_t spin_sum_pieces(const DatasetReader& reader, analysis::JackknifeGroups kind, int64_t groups,
                        const std::vector<int>& level_inputs, const ReadBudget& budget) {
  const auto& spec = reader.spec();
  if (spec.field != "ising") return 0;
  const auto& g = spec.geometry;
  const int64_t pieces = analysis::PassChunks(g, spec.samples, kind, groups).spin_pieces();
  int64_t bytes = analysis::SpinSumTable::bytes(g, 0, spec.samples, pieces);
  for (int k : level_inputs) {
    if (k < g.levels) bytes += analysis::SpinSumTable::bytes(g, k, spec.samples, pieces);
  }
  if (bytes > budget.bytes) {
    throw UsageError("option " + budget.option + ": " + mib_text(budget.bytes) +
                     " cannot hold the spin sums of the " + std::to_string(spec.samples) +
                     " samples of '" + reader.path() + "' (" + mib_text(bytes) + "); raise it");
  }
  return pieces;
}

template <typename Value>
analysis::SlabReader<Value> slab_reader(const DatasetReader& reader) {
  return [&reader](int level, int64_t sample, analysis::RowRange rows, std::vector<Value>& out) {
    const auto& g = reader.spec().geometry;
    lattice::Box box = lattice::full_box(g.dim, g.side);
    box.begin[0] = rows.begin * g.top_block_side();
    box.extent[0] = rows.rows() * g.top_block_side();
    int64_t factor = 1;
    for (int k = 0; k < level; ++k) factor *= g.block_side;
    box = box.coarsened(factor);
    if constexpr (std::is_same_v<Value, float>) {
      reader.read_box_stored_floats(level, sample, box, out);
    } else {
      reader.read_box(level, sample, box, out);
    }
  };
}

template analysis::SlabReader<float> slab_reader<float>(const DatasetReader&);
template analysis::SlabReader<double> slab_reader<double>(const DatasetReader&);

analysis::PassSource pass_source(const DatasetReader& reader) {
  const auto& spec = reader.spec();
  return {spec.geometry, spec.samples, spec.dtype, slab_reader<float>(reader),
          slab_reader<double>(reader)};
}

}  // namespace rgflow::io
