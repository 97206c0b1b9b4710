// The inputs of `rgflow analyze`: the dataset analysed, the test sets and the trained models,
// opened and checked against each other, and readers of the datasets' slabs for the analysis
// passes. Serial HDF5 reads, no communication: every rank opens every file itself, so a missing or
// malformed file fails on every rank alike.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rgflow/analysis/data_pass.hpp"
#include "rgflow/analysis/generalisation.hpp"
#include "rgflow/analysis/symmetry_metrics.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/io/training_file.hpp"

namespace rgflow::io {

/// Opens the dataset `path` for reading; UsageError "dataset '<path>' is incomplete" when it is
/// (an interrupted generate), and the reader's one-line errors otherwise. Serial HDF5 (opens the
/// file and reads its metadata), local: every rank calls it for itself.
std::unique_ptr<DatasetReader> open_complete_dataset(const std::string& path);

/// Reads the model `path` (read_trained_model); UsageError, one line, when it works on blocks of
/// another side or dimension than the data of geometry `data`. Serial HDF5 read, local.
TrainedModel read_model_for(const std::string& path, const lattice::Geometry& data);

/// Opens the test set `path`; UsageError, one line, when its blocks differ from those of `data`
/// or it is incomplete. Serial HDF5 (metadata), local.
std::unique_ptr<DatasetReader> open_test_set(const std::string& path, const DatasetReader& data);

/// The memory budget per rank of the passes, and the option that set it (for messages).
struct ReadBudget {
  int64_t bytes = 0;
  std::string option;
};

/// Top-level block rows of `reader`'s samples one read of a pass may hold within `budget`
/// (whole canonical tiles, all levels, and with `models` their work space:
/// analysis::rows_per_read); UsageError, one line, when the budget cannot hold one tile. Local,
/// no file access (the reader's spec is read already).
int64_t rows_per_read(const DatasetReader& reader, bool models, const ReadBudget& budget);

/// Pieces per sample of the spin sums of `reader`'s levels (analysis::SpinSumTable): the data
/// pass's chunks that hold part of one sample (analysis::PassChunks::spin_pieces); 0 when its
/// field is not ising (no spin observables).
/// UsageError, one line, when the tables of the data and of the learned flows of models with
/// levels `level_inputs` exceed `budget`. Local.
int64_t spin_sum_pieces(const DatasetReader& reader, analysis::JackknifeGroups kind, int64_t groups,
                        const std::vector<int>& level_inputs, const ReadBudget& budget);

/// A SlabReader of `reader` (which must outlive it): one sample's values of a level on a run of
/// top-level block rows, by hyperslab, as stored (float32 data stay float). Each call is a serial
/// HDF5 read of the reader's file, local.
template <typename Value>
analysis::SlabReader<Value> slab_reader(const DatasetReader& reader);

/// `reader` (which must outlive it) as the passes read it: slab_reader<float> and <double>
/// (serial HDF5 reads when called, local).
analysis::PassSource pass_source(const DatasetReader& reader);

/// Everything `rgflow analyze` reads, opened and checked against each other, and what their sizes
/// decide: the jackknife groups and the reads of the passes.
struct AnalysisInputs {
  std::unique_ptr<DatasetReader> data;
  std::vector<std::unique_ptr<DatasetReader>> test_sets;  // -eval_data, in order
  std::vector<TrainedModel> models;                       // -models, in order
  analysis::JackknifeGroups groups_kind = analysis::JackknifeGroups::kSamples;
  int64_t read_rows = 0;    // top-level block rows of the data one read of a pass holds
  int64_t spin_pieces = 0;  // pieces per sample of the spin sums; 0: the data are not spins

  /// The models as the passes apply them (pointing into `models`, which must outlive them).
  std::vector<analysis::PassModels::Source> pass_models() const;
  /// The names results.h5 stores the models under (results_name of their paths).
  std::vector<std::string> model_names() const;
  /// Tables of the spin sums of the data's levels from a first level on (for the data, 0; for a
  /// learned flow, its model's level), spin_pieces pieces per sample
  /// (analysis::SpinSumTable::of_levels); empty when the data are not spins.
  std::function<analysis::SpinSumTable(int first_level)> spin_tables() const;
  /// The test sets as the passes read them (pass_source; serial HDF5 reads when called).
  std::vector<analysis::PassSource> test_set_sources() const;
  /// Puts each model's order-parameter history (model.h5's /history) into its report of
  /// `reports` (analysis::measure_symmetry's, in model order, which leaves them empty).
  void add_histories(std::vector<analysis::SymmetryReport>& reports) const;
  /// The generalisation table's cells (analysis::plan_generalisation): every model on the data
  /// (its held-out samples when the data is the file it was trained on, same_file) and on every
  /// test set, named by results_name.
  analysis::GeneralisationPlan generalisation_plan() const;
};

/// Opens the dataset `data`, the models `models` (read_model_for) and the test sets `eval_data`
/// (open_test_set), chooses the jackknife groups (analysis::choose_jackknife_groups under
/// -jackknife `jackknife` with `groups` groups; `names` for its messages) and checks that the
/// passes fit `budget` (rows_per_read for the data and every test set, spin_sum_pieces).
/// UsageError, one line, at the first problem. Serial HDF5 reads, local: every rank opens every
/// file itself, so a missing or malformed one fails on every rank alike.
AnalysisInputs open_analysis_inputs(const std::string& data, const std::vector<std::string>& models,
                                    const std::vector<std::string>& eval_data,
                                    const std::string& jackknife, int64_t groups,
                                    const analysis::JackknifeNames& names,
                                    const ReadBudget& budget);

}  // namespace rgflow::io
