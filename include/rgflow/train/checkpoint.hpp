// The trainer's state in model.h5 (docs/schema.md): the mapping between a model, its optimiser
// and TrainState and the plain structs of the file, which io/training_file.hpp writes and reads
// (no HDF5 here). The same layout serves as the checkpoint (complete = 0) and as the final output
// (complete = 1).
#pragma once

#include <string>

#include "rgflow/core/error.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/train/options.hpp"
#include "rgflow/train/trainer.hpp"

namespace rgflow::train {

struct Provenance {
  std::string dataset_path;
  io::DatasetSpec dataset;
  int level = 0;
  int64_t training_samples = 0;  // samples [0, training_samples) trained on; the rest validate
  std::string command_line;
  /// The options that determine the result (stored as /options); a resume must match them.
  TrainingOptions options;
  /// Pairs of the first training window (DataPlan::window_pairs), stored in /checkpoint: the
  /// window order a checkpoint's position counts in. A resume whose budget makes other windows
  /// is refused (0: not compared).
  int64_t window_pairs = 0;
};

/// A training file could not be written (a full disk, a quota, permissions): the message says
/// which file and why; nothing was left under its name or its temporary name.
using WriteFailure = io::WriteFailure;

/// Writes the file at `path` atomically (io::write_training_file: `path`.tmp, then rename). The
/// file is built in memory first (rank 0 holds one extra copy of it meanwhile), then the room for
/// it is reserved and it is written, so HDF5 never meets a failing disk. WriteFailure when the
/// disk refuses it. Serial: call on one rank.
template <typename Scalar>
void write_training_file(const std::string& path, const nn::SymmetricModel<Scalar>& model,
                         nn::Optimizer<Scalar>& optimizer, const TrainState<Scalar>& state,
                         const Provenance& provenance, bool complete);

/// Restores parameters, optimiser state and training state from a file written by
/// write_training_file. UsageError naming the file if it is malformed (every object, datatype,
/// shape, size and range is checked before anything is replaced; model, optimizer and state are
/// unchanged then), or naming the first option (or property of the data) that differs from
/// `provenance`'s (nullptr: the stored options are read and checked, not compared; for tests of
/// the reader). Serial HDF5: one process.
template <typename Scalar>
void read_training_file(const std::string& path, const Provenance* provenance,
                        nn::SymmetricModel<Scalar>& model, nn::Optimizer<Scalar>& optimizer,
                        TrainState<Scalar>& state);

/// Why a checkpoint's position (epoch, step in the epoch, steps in all) cannot be continued by a
/// run of `steps_per_epoch` steps per epoch, or "" when it can (always for a finished state).
std::string resume_position_problem(int64_t epoch, int64_t step_in_epoch, int64_t global_step,
                                    bool finished, int64_t steps_per_epoch);

}  // namespace rgflow::train
