// One `rgflow train` run as the layer below the stage shell: the data plan and pairs, the model
// and optimiser, a resume from the partial output's checkpoint, the tuning of penalty strengths,
// the trainer, the checkpoints and the final file. app/train.cpp reads the options, makes one and
// reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "rgflow/core/mpi.hpp"
#include "rgflow/core/petsc.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/train/checkpoint.hpp"
#include "rgflow/train/data.hpp"
#include "rgflow/train/options.hpp"
#include "rgflow/train/trainer.hpp"

namespace rgflow::train {

/// How one run goes about training, besides the options that determine the weights.
struct RunSettings {
  std::string data;           // the dataset's path (provenance)
  std::string output;         // the final model file; checkpoints go to its partial file
  std::string command_line;   // provenance
  std::string option_prefix;  // "-" or "-train_<model>_": names options in messages
  int64_t memory_budget = 0;  // bytes of training pairs held at once, over all ranks
  std::string budget_option = "memory_mb";  // the option that set memory_budget (messages)
  int64_t stop_after_steps = 0;             // test hook: end as if killed after this many steps
  bool report = false;                      // rank 0 prints (resume, tuning trials)
};

/// Local (rank 0 of io::keep_complete_output calls it; serial HDF5): why the complete model file
/// `output` is not what `options` train on `data` (another option, other data, or no model rgflow
/// can read), or "" when it is.
std::string complete_output_problem(const std::string& output, const TrainingOptions& options,
                                    const io::DatasetSpec& data);

template <typename Scalar>
class TrainingRun {
 public:
  /// Collective over `world` (the ranks that opened `reader`): plans the data (UsageError naming
  /// the option when it does not fit), opens the pairs (open_training_pairs), builds the model and
  /// optimiser, with `resume` restores the partial output's checkpoint (every rank reads it with
  /// serial HDF5 and reaches the same verdict), tunes the penalty strengths when asked (unless
  /// the checkpoint holds them) and checks the resume position against the trainer's epochs.
  TrainingRun(const Comm& world, const io::DatasetReader& reader, const TrainingOptions& options,
              const RunSettings& run, bool resume);
  TrainingRun(const TrainingRun&) = delete;
  TrainingRun& operator=(const TrainingRun&) = delete;

  const DataPlan& plan() const { return plan_; }
  const TrainingPairs<Scalar>& pairs() const { return pairs_; }
  /// The network trained: the options' with the data's block.
  const nn::ModelSpec& spec() const { return spec_; }
  const nn::SymmetricModel<Scalar>& model() const { return model_; }
  /// The run's settings, with tuned penalty strengths in place.
  const TrainSettings& settings() const { return settings_; }
  const TrainState<Scalar>& state() const { return state_; }
  const Trainer<Scalar>& trainer() const { return *trainer_; }
  /// The step the run started from (0, or the checkpoint's).
  int64_t first_step() const { return first_step_; }

  /// Collective over `world`: trains to the end (the trainer restores the best weights under
  /// early stopping), rank 0 writing a checkpoint every settings.checkpoint_every steps (every
  /// rank agrees on its outcome). UsageError when the loss diverges or a checkpoint cannot be
  /// written; the test hook (stop_after_steps) ends the process as if killed.
  void train();

  /// Collective over `world`: rank 0 writes the finished model to the partial file, every rank
  /// agrees it was written, and it is renamed to the output (io::commit_output). Returns the final
  /// validation loss (collective: a reduction over `world`).
  double finish();

 private:
  // Rank 0 writes `now` to the partial file; a write failure is one UsageError on every rank.
  void save(const TrainState<Scalar>& now, bool complete);

  const Comm& world_;
  RunSettings run_;
  DataPlan plan_;
  PetscLogStage stage_load_, stage_tune_, stage_steps_, stage_save_, stage_validate_;
  TrainingPairs<Scalar> pairs_;
  nn::ModelSpec spec_;
  nn::SymmetricModel<Scalar> model_;
  nn::Optimizer<Scalar> optimizer_;
  TrainState<Scalar> state_;
  TrainSettings settings_;
  Provenance provenance_;
  std::optional<Trainer<Scalar>> trainer_;
  int64_t first_step_ = 0;
};

}  // namespace rgflow::train
