// model.h5 as `rgflow train` writes it (docs/schema.md): /model (io/model_file.hpp), the root
// provenance attributes, /options, /history and /checkpoint (the optimiser state and the position
// in the data, for an exact resume). The same layout serves as the checkpoint (complete = 0) and
// as the final output (complete = 1). Every HDF5 call on a training file is in this module and
// io/model_file: one writer (write_training_file, committed by io/atomic_file) and one reader
// (TrainingFileReader, for analyze as for a resume); train/checkpoint.cpp maps the
// trainer's state to and from the plain structs below.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/nn/network.hpp"

namespace rgflow::io {

/// One stored training option: its name as `rgflow train` spells it (without the dash) and its
/// value (an attribute of /options).
struct StoredOption {
  using Value = std::variant<int64_t, double, std::string>;
  std::string name;
  Value value;
};

/// The identity of the data trained on, as model.h5's root attributes record it: a dataset
/// regenerated under the same path with another seed is other data.
struct DataIdentity {
  uint64_t seed = 0;
  std::string distribution;
  int64_t side = 0, samples = 0;

  static DataIdentity of(const DatasetSpec& spec);
};

/// The options and data a model file was trained with, read back.
struct StoredTraining {
  std::vector<StoredOption> options;
  DataIdentity data;
};

/// The penalty strengths chosen by -tune_penalties and the trials behind them (/history/tuning).
struct PenaltyTuning {
  std::vector<std::string> types;  // in tuning order
  std::vector<double> candidates;  // ascending
  std::vector<double> val_loss;    // types x candidates: validation MSE of each trial
  std::vector<double> chosen;      // per type
  double tolerance = 0;
  int64_t epochs = 0;  // per trial

  bool done() const { return !chosen.empty(); }
};

/// The training history (/history): one entry per record in every column.
struct TrainingHistory {
  std::vector<double> epoch, step, train_loss, val_loss, penalty, learning_rate;
  std::vector<std::vector<double>> order_parameter;  // per record, per hidden layer
  PenaltyTuning tuning;                              // empty unless strengths were tuned

  /// order_parameter as stored: records x hidden layers, row-major.
  std::vector<double> order_parameter_table() const;
};

/// The root attributes of a training file: where the model came from and how far it got.
struct TrainingProvenance {
  std::string command_line;
  std::vector<StoredOption> options;  // written as /options
  std::string dataset_path;
  DatasetSpec dataset;
  int level = 0;                 // input level (targets: level + 1)
  int64_t training_samples = 0;  // samples [0, training_samples) trained on; the rest validate
  bool complete = false;         // 1: the final output; 0: a checkpoint
  std::string stop_reason;
};

/// /checkpoint: the optimiser's state and the trainer's position, in the model's precision.
template <typename Scalar>
struct CheckpointState {
  std::string optimizer;  // the optimiser kind ("adam", "sgd")
  int64_t optimizer_steps = 0;
  int64_t epoch = 0, step_in_epoch = 0, global_step = 0;
  double epoch_loss = 0, epoch_penalty = 0;
  double best_val = 0;
  int64_t epochs_since_best = 0;
  bool finished = false;
  // Pairs of the first training window: the window order the position counts in (0: not
  // recorded, as in files written before the attribute existed).
  int64_t window_pairs = 0;
  std::vector<Scalar> first_moment, second_moment, best_parameters;
};

/// Writes the training file `path` atomically (replace_file_atomically, io/atomic_file.hpp): the
/// file is built in memory first (the caller holds one extra copy of it meanwhile), so HDF5 never
/// meets a failing disk. WriteFailure when the disk refuses it. Serial: call on one rank.
template <typename Scalar>
void write_training_file(const std::string& path, const nn::Network<Scalar>& network,
                         const TrainingProvenance& provenance, const TrainingHistory& history,
                         const CheckpointState<Scalar>& checkpoint);

/// Writes the group /options of `file` (one attribute per option). HDF5 metadata work on `file`
/// (serial HDF5: one process).
void write_stored_options(hid_t file, const std::vector<StoredOption>& options);

/// Reads the group /options and the data identity of `file` (`path` names it in messages).
/// UsageError, one line, if the file has no /options (written by an rgflow before options were
/// stored: it cannot be resumed or kept, since nothing says what it was trained with) or a field
/// is malformed. HDF5 metadata reads (one process).
StoredTraining read_stored_options(hid_t file, const std::string& path);

/// What a checkpoint must hold to continue this run: sizes that the reader checks before it
/// allocates or returns anything.
struct CheckpointShape {
  int64_t parameters = 0;   // the run's model's parameter count
  size_t first_moment = 0;  // the run's optimiser's state sizes (0 for SGD's second moment)
  size_t second_moment = 0;
};

/// What a reader of model.h5 needs from it (TrainingFileReader::read).
struct ModelFileNeeds {
  bool resume = false;
  CheckpointShape checkpoint;  // with `resume`: the sizes of the run's model and optimiser

  /// analyze (and library users): the network (float32 widened exactly to double), the provenance
  /// attributes when present (all five or none), /history/epoch and /history/order_parameter
  /// when present; the rest of /history and /checkpoint are not read.
  static ModelFileNeeds analysis() { return {}; }
  /// `train -resume`: the network stored as the run's scalar and of its parameter count, the
  /// provenance attributes, /checkpoint (of the sizes of `checkpoint`) and every /history column
  /// (and /history/tuning when present), all required.
  static ModelFileNeeds resumption(const CheckpointShape& checkpoint) { return {true, checkpoint}; }
};

/// model.h5 read back: what the reader's ModelFileNeeds asked for, every object, datatype,
/// shape, size and range checked.
template <typename Scalar>
struct StoredModel {
  StoredModel(std::string file_path, nn::Network<Scalar> net)
      : path(std::move(file_path)), network(std::move(net)) {}
  std::string path;
  std::string scalar;            // "float32" or "float64": the stored parameters' type
  nn::Network<Scalar> network;   // bit for bit as stored (widened exactly when asked to)
  bool has_provenance = false;   // false for a bare /model file (no train attributes)
  std::string dataset_path;      // provenance: the training dataset
  int64_t training_samples = 0;  // samples [0, training_samples) were trained on
  int64_t validation_samples = 0;
  int level_input = 0, level_target = 1;
  TrainingHistory history;             // analysis: epoch and order_parameter only
  CheckpointState<Scalar> checkpoint;  // resume only
};

/// A model as analyze reads it (ModelFileNeeds::analysis()).
using TrainedModel = StoredModel<double>;

/// Reads model.h5, the one reader of the file (docs/schema.md). Serial HDF5, read-only: any number
/// of processes may read the same file at once, and each calls it for itself.
class TrainingFileReader {
 public:
  /// Opens `path` read-only. UsageError, one line, when it does not exist ("model '<path>' does
  /// not exist"), is not HDF5, or HDF5 cannot open it ("cannot open '<path>'<purpose>: ...").
  TrainingFileReader(const std::string& path, const std::string& purpose);

  /// /options and the data identity (read_stored_options).
  StoredTraining options() const;

  /// What `needs` asks for (ModelFileNeeds). UsageError, one line naming the file and the object
  /// ("'<path>' is a malformed rgflow model: /checkpoint attribute 'epoch' is negative (-1)"),
  /// when a required object is missing or any object read has the wrong type, datatype, shape,
  /// size or range; read_model's refusals for /model (with widening for analysis, none for a
  /// resume, whose optimiser state must be stored as Scalar too).
  template <typename Scalar>
  StoredModel<Scalar> read(const ModelFileNeeds& needs) const;

 private:
  std::string path_;
  h5::Hid file_;
};

/// The model `path` as analyze reads it: TrainingFileReader(path, " as a model")
/// .read<double>(ModelFileNeeds::analysis()).
TrainedModel read_trained_model(const std::string& path);

}  // namespace rgflow::io
