// The inputs of `rgflow analyze`: the dataset analysed, the test sets and the trained models,
// opened and checked against each other, and readers of the datasets' slabs for the analysis
// passes. Serial HDF5 reads, no communication: every rank opens every file itself, so a missing or
// malformed file fails on every rank alike.
#pragma once

#include <memory>
#include <string>

#include "rgflow/analysis/data_pass.hpp"
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

}  // namespace rgflow::io
