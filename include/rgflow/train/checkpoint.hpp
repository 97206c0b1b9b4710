// model.h5 as written by `rgflow train` (docs/schema.md): /model, /history, /checkpoint (the
// optimiser state and the position in the data, for an exact resume) and provenance attributes.
// The same layout serves as the checkpoint (complete = 0) and as the final output (complete = 1).
#pragma once

#include <string>

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
};

/// Writes the file at `path` atomically (`path`.tmp, then rename). Serial HDF5: call on one rank.
template <typename Scalar>
void write_training_file(const std::string& path, const nn::SymmetricModel<Scalar>& model,
                         nn::Optimizer<Scalar>& optimizer, const TrainState<Scalar>& state,
                         const Provenance& provenance, bool complete);

/// Restores parameters, optimiser state and training state from a file written by
/// write_training_file. UsageError naming the file if it is malformed, or naming the first option
/// (or property of the data) that differs from `provenance`'s. Serial HDF5: one process.
template <typename Scalar>
void read_training_file(const std::string& path, const Provenance& provenance,
                        nn::SymmetricModel<Scalar>& model, nn::Optimizer<Scalar>& optimizer,
                        TrainState<Scalar>& state);

}  // namespace rgflow::train
