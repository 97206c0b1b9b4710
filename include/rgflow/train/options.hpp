// The resolved options of `rgflow train` that determine the trained weights. model.h5 stores
// them (group /options, one attribute per option), and a resume, or a pipeline's check of a
// complete output, compares them field by field with this run's, as DatasetSpec::difference does
// for datasets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rgflow/io/dataset.hpp"
#include "rgflow/io/training_file.hpp"
#include "rgflow/nn/network.hpp"
#include "rgflow/nn/optimizer.hpp"
#include "rgflow/train/trainer.hpp"

namespace rgflow::train {

/// -tune_penalties and its trials (empty `types`: no tuning).
struct TuningOptions {
  std::vector<std::string> types;  // in tuning order
  std::vector<double> grid;        // candidate strengths, ascending, distinct
  int64_t epochs = 1;              // per trial
  double tolerance = 0.05;         // keep the largest strength within this fraction of the best

  bool active() const { return !types.empty(); }

  /// Reads -tune_penalties (`types_text`: a comma list of permutation, point_group, sign, scale,
  /// or all) and -tune_grid (`grid_text`: non-negative strengths; kept sorted and distinct).
  /// `given`: the penalty types whose strength (-lambda_<type>) was given, which cannot be tuned.
  /// "" or a one-line problem naming the option (`option_prefix` + name).
  std::string parse(const std::string& types_text, const std::string& grid_text,
                    const std::vector<std::string>& given, const std::string& option_prefix);
};

/// The hidden widths of `text` (-hidden: a comma list, e.g. "64,64"), each in [1, 2^20];
/// UsageError, one line naming `option` (as the user types it), for anything else or no width.
std::vector<int> parse_hidden_widths(const std::string& option, const std::string& text);

/// One stored option (an attribute of model.h5's /options).
using StoredOption = io::StoredOption;

/// Everything that determines the trained weights, besides the data itself. A new option that
/// changes the weights belongs here and in fields(), which is the one list written, read and
/// compared. Not here: paths, -force/-resume/-quiet, -checkpoint_every (the weights do not
/// depend on them) and -memory_mb (as before this struct existed; it sets the windows of an
/// out-of-core run).
struct TrainingOptions {
  int level = 0;  // input level k (targets: level k+1)
  /// The network; `model.block` comes from the data and `model.seed` is `settings.seed`.
  nn::ModelSpec model;
  /// kind, momentum, weight decay. The learning rate is settings.schedule.base (-lr): the trainer
  /// gives every step its rate from the schedule.
  nn::OptimizerSettings optimizer;
  /// batch, epochs, steps, patience, seed, reproducible, schedule, penalty. Not stored:
  /// checkpoint_every and progress.
  TrainSettings settings;
  TuningOptions tuning;
  double val_fraction = 0.1;
  std::string dtype = "float32";  // training precision: float32 or float64

  /// "" if the options go together, else a one-line reason naming the first option at fault
  /// (`option_prefix` + name: "-" or "-train_<model>_"): a network too large even for the
  /// smallest block (checked before the data is read), a validation fraction outside [0, 1),
  /// early stopping or tuning without a validation split, a learning rate that is not positive,
  /// a negative strength or tolerance, fewer than two tuning strengths, penalties or tuning
  /// without -strategy regularize.
  std::string problem(const std::string& option_prefix) const;
  /// The same against the data (read from `data_path`): the level pair exists and the network
  /// fits the data's block.
  std::string problem_with(const io::DatasetSpec& data, const std::string& data_path,
                           const std::string& option_prefix) const;

  /// Every stored option of this run, in a fixed order.
  std::vector<StoredOption> fields() const;
};

/// The identity of the data trained on, and the options and data read back from a model file.
using DataIdentity = io::DataIdentity;
using StoredTraining = io::StoredTraining;

/// "" if `stored` matches this run's options and data, else the first field that differs, e.g.
/// "-lr 0.001 (this run: 0.003)" or "the dataset's seed 7 (this run: 8)".
std::string difference(const TrainingOptions& options, const DataIdentity& data,
                       const StoredTraining& stored);

/// "" if the model file at `path` was trained with `options` on data `data`, else the first
/// difference (as difference()). UsageError if it cannot be opened or has no readable options.
/// Opens the file read-only (serial HDF5: one process).
std::string difference_from_file(const std::string& path, const TrainingOptions& options,
                                 const DataIdentity& data);

}  // namespace rgflow::train
