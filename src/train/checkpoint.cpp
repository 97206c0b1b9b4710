#include "rgflow/train/checkpoint.hpp"

#include <algorithm>

#include "rgflow/io/training_file.hpp"

namespace rgflow::train {
namespace {

// The trainer's position and its running sums, copied between TrainState and the file's
// CheckpointState (fields of the same names).
template <typename From, typename To>
void copy_position(const From& from, To& to) {
  to.epoch = from.epoch;
  to.step_in_epoch = from.step_in_epoch;
  to.global_step = from.global_step;
  to.epoch_loss = from.epoch_loss;
  to.epoch_penalty = from.epoch_penalty;
  to.best_val = from.best_val;
  to.epochs_since_best = from.epochs_since_best;
  to.finished = from.finished;
}

}  // namespace

template <typename Scalar>
void write_training_file(const std::string& path, const nn::SymmetricModel<Scalar>& model,
                         nn::Optimizer<Scalar>& optimizer, const TrainState<Scalar>& state,
                         const Provenance& provenance, bool complete) {
  io::TrainingProvenance file_provenance;
  file_provenance.command_line = provenance.command_line;
  file_provenance.options = provenance.options.fields();
  file_provenance.dataset_path = provenance.dataset_path;
  file_provenance.dataset = provenance.dataset;
  file_provenance.level = provenance.level;
  file_provenance.training_samples = provenance.training_samples;
  file_provenance.complete = complete;
  file_provenance.stop_reason = state.stop_reason;
  io::CheckpointState<Scalar> checkpoint;
  checkpoint.optimizer = optimizer.settings().kind;
  checkpoint.optimizer_steps = optimizer.steps();
  copy_position(state, checkpoint);
  checkpoint.window_pairs = provenance.window_pairs;
  checkpoint.first_moment = optimizer.first_moment();
  checkpoint.second_moment = optimizer.second_moment();
  checkpoint.best_parameters = state.best_parameters;
  io::write_training_file(path, model.network(), file_provenance, state.history, checkpoint);
}

template <typename Scalar>
void read_training_file(const std::string& path, const Provenance* provenance,
                        nn::SymmetricModel<Scalar>& model, nn::Optimizer<Scalar>& optimizer,
                        TrainState<Scalar>& state) {
  const io::TrainingFileReader file(path, " to resume");
  std::string differs;
  try {
    const StoredTraining stored = file.options();
    if (provenance != nullptr) {
      differs = difference(provenance->options, DataIdentity::of(provenance->dataset), stored);
    }
  } catch (const UsageError& failure) {
    throw UsageError(std::string(failure.what()) + "; use -force to start over");
  }
  if (!differs.empty()) {
    throw UsageError("'" + path + "' was made with other training options: " + differs +
                     "; use -force to start over");
  }
  try {
    const io::CheckpointShape expected{model.network().parameter_count(),
                                       optimizer.first_moment().size(),
                                       optimizer.second_moment().size()};
    io::StoredModel<Scalar> stored = file.read<Scalar>(io::ModelFileNeeds::resumption(expected));
    // The position counts steps in an order of windows: only the same windows continue it.
    const io::CheckpointState<Scalar>& position = stored.checkpoint;
    if (provenance != nullptr && provenance->window_pairs > 0 && !position.finished &&
        position.window_pairs > 0 && position.window_pairs != provenance->window_pairs) {
      throw UsageError("its data were read in windows of " + std::to_string(position.window_pairs) +
                       " pairs, this run's memory budget makes windows of " +
                       std::to_string(provenance->window_pairs) + "; use the same -memory_mb");
    }
    // All read and checked: only now is anything of the run replaced.
    std::copy(stored.network.parameters(),
              stored.network.parameters() + stored.network.parameter_count(),
              model.network().parameters());
    io::CheckpointState<Scalar>& checkpoint = stored.checkpoint;
    optimizer.set_steps(checkpoint.optimizer_steps);
    optimizer.first_moment() = std::move(checkpoint.first_moment);
    optimizer.second_moment() = std::move(checkpoint.second_moment);
    copy_position(checkpoint, state);
    state.best_parameters = std::move(checkpoint.best_parameters);
    state.history = std::move(stored.history);
  } catch (const std::exception& failure) {
    throw UsageError("cannot resume from '" + path + "': " + failure.what() +
                     " (use -force to start over)");
  }
}

std::string resume_position_problem(int64_t epoch, int64_t step_in_epoch, int64_t global_step,
                                    bool finished, int64_t steps_per_epoch) {
  // A finished state takes no more steps (its last epoch may have been a partial one).
  if (finished || steps_per_epoch < 1) return "";
  if (step_in_epoch >= steps_per_epoch || epoch > global_step / steps_per_epoch ||
      epoch * steps_per_epoch + step_in_epoch != global_step) {
    return "its position (epoch " + std::to_string(epoch) + ", step " +
           std::to_string(step_in_epoch) + " of the epoch, step " + std::to_string(global_step) +
           " in all) does not fit this run's " + std::to_string(steps_per_epoch) +
           " steps per epoch";
  }
  return "";
}

template void write_training_file<float>(const std::string&, const nn::SymmetricModel<float>&,
                                         nn::Optimizer<float>&, const TrainState<float>&,
                                         const Provenance&, bool);
template void write_training_file<double>(const std::string&, const nn::SymmetricModel<double>&,
                                          nn::Optimizer<double>&, const TrainState<double>&,
                                          const Provenance&, bool);
template void read_training_file<float>(const std::string&, const Provenance*,
                                        nn::SymmetricModel<float>&, nn::Optimizer<float>&,
                                        TrainState<float>&);
template void read_training_file<double>(const std::string&, const Provenance*,
                                         nn::SymmetricModel<double>&, nn::Optimizer<double>&,
                                         TrainState<double>&);

}  // namespace rgflow::train
