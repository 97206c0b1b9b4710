#include "rgflow/io/analysis_inputs.hpp"

#include <type_traits>

#include "rgflow/core/error.hpp"
#include "rgflow/core/text.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/io/results_file.hpp"

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

std::vector<analysis::PassModels::Source> AnalysisInputs::pass_models() const {
  std::vector<analysis::PassModels::Source> sources;
  for (const auto& model : models) {
    sources.push_back({&model.network, model.scalar, model.level_input});
  }
  return sources;
}

std::vector<std::string> AnalysisInputs::model_names() const {
  std::vector<std::string> names;
  for (const auto& model : models) names.push_back(results_name(model.path));
  return names;
}

std::function<analysis::SpinSumTable(int)> AnalysisInputs::spin_tables() const {
  if (spin_pieces == 0) return nullptr;
  const auto& spec = data->spec();
  return [geometry = spec.geometry, samples = spec.samples, pieces = spin_pieces](int first_level) {
    return analysis::SpinSumTable::of_levels(geometry, first_level, samples, pieces);
  };
}

std::vector<analysis::PassSource> AnalysisInputs::test_set_sources() const {
  std::vector<analysis::PassSource> sources;
  for (const auto& test_set : test_sets) sources.push_back(pass_source(*test_set));
  return sources;
}

void AnalysisInputs::add_histories(std::vector<analysis::SymmetryReport>& reports) const {
  for (size_t k = 0; k < models.size(); ++k) {
    reports[k].order_history = models[k].history.order_parameter_table();
    reports[k].history_epochs = models[k].history.epoch;
  }
}

analysis::GeneralisationPlan AnalysisInputs::generalisation_plan() const {
  std::vector<analysis::GeneralisationModel> planned;
  for (const auto& model : models) {
    planned.push_back({results_name(model.path), model.level_input,
                       model.has_provenance && same_file(model.dataset_path, data->path()),
                       model.training_samples});
  }
  std::vector<analysis::GeneralisationData> planned_tests;
  for (const auto& test_set : test_sets) {
    planned_tests.push_back({results_name(test_set->path()), test_set->spec().geometry.levels,
                             test_set->spec().samples});
  }
  const auto& spec = data->spec();
  return analysis::plan_generalisation(planned, {"data", spec.geometry.levels, spec.samples},
                                       planned_tests);
}

AnalysisInputs open_analysis_inputs(const std::string& data, const std::vector<std::string>& models,
                                    const std::vector<std::string>& eval_data,
                                    const std::string& jackknife, int64_t groups,
                                    const analysis::JackknifeNames& names,
                                    const ReadBudget& budget) {
  AnalysisInputs inputs;
  inputs.data = open_complete_dataset(data);
  const DatasetReader& reader = *inputs.data;
  const auto& g = reader.spec().geometry;
  inputs.groups_kind = analysis::choose_jackknife_groups(jackknife, groups, reader.spec().samples,
                                                         g.level_side(g.levels), names);
  for (const auto& path : models) inputs.models.push_back(read_model_for(path, g));
  for (const auto& path : eval_data) inputs.test_sets.push_back(open_test_set(path, reader));
  inputs.read_rows = rows_per_read(reader, !inputs.models.empty(), budget);
  std::vector<int> level_inputs;
  for (const auto& model : inputs.models) level_inputs.push_back(model.level_input);
  inputs.spin_pieces = spin_sum_pieces(reader, inputs.groups_kind, groups, level_inputs, budget);
  for (const auto& test_set : inputs.test_sets) rows_per_read(*test_set, true, budget);
  return inputs;
}

}  // namespace rgflow::io
