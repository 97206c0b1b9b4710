#include "rgflow/train/training_run.hpp"

#include <cstdio>

#include "rgflow/core/error.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/train/tuning.hpp"

namespace rgflow::train {
namespace {

// The network of `options` on the blocks of `data` (TrainingOptions::problem_with checked that
// they go together).
nn::ModelSpec model_spec(const TrainingOptions& options, const io::DatasetSpec& data) {
  nn::ModelSpec spec = options.model;
  spec.block = {data.geometry.dim, static_cast<int>(data.geometry.block_side)};
  return spec;
}

}  // namespace

std::string complete_output_problem(const std::string& output, const TrainingOptions& options,
                                    const io::DatasetSpec& data) {
  std::string differs;
  try {
    differs = difference_from_file(output, options, DataIdentity::of(data));
  } catch (const std::exception& failure) {
    return "the existing output '" + output + "' is not a model rgflow can read: " + failure.what();
  }
  return differs.empty() ? differs
                         : "the existing output '" + output +
                               "' was trained with other options or data: " + differs;
}

template <typename Scalar>
TrainingRun<Scalar>::TrainingRun(const Comm& world, const io::DatasetReader& reader,
                                 const TrainingOptions& options, const RunSettings& run,
                                 bool resume)
    : world_(world),
      run_(run),
      plan_(DataPlan::make(reader.spec(), options.level, options.val_fraction,
                           options.settings.batch, run.memory_budget, sizeof(Scalar),
                           run.option_prefix, run.budget_option)),
      // Log stages, as generate has, so that -log_view shows the time of each phase.
      stage_load_(log_stage("Train: load")),
      stage_tune_(log_stage("Train: tune")),
      stage_steps_(log_stage("Train: steps")),
      stage_save_(log_stage("Train: save")),
      stage_validate_(log_stage("Train: validate")),
      pairs_([&] {
        LogStageGuard guard(stage_load_);
        return open_training_pairs<Scalar>(world, reader, options.level, plan_);
      }()),
      spec_(model_spec(options, reader.spec())),
      model_(spec_),
      optimizer_(options.optimizer, static_cast<size_t>(model_.network().parameter_count())),
      settings_(options.settings),
      provenance_{run.data,         reader.spec(), options.level,     plan_.training_samples,
                  run.command_line, options,       plan_.window_pairs} {
  const std::string partial = io::partial_path(run.output);
  if (resume) {
    // Every rank reads the checkpoint itself (serial HDF5): the verdict on it is shared.
    world.local_phase("train: resume", [&] {
      read_training_file(partial, &provenance_, model_, optimizer_, state_);
    });
    if (run.report) {
      std::printf("rgflow train: resuming at step %lld\n",
                  static_cast<long long>(state_.global_step));
    }
  }
  if (options.tuning.active()) {
    // A resumed run keeps the strengths its checkpoint was tuned with.
    if (!state_.history.tuning.done()) {
      LogStageGuard guard(stage_tune_);
      state_.history.tuning =
          tune_penalties<Scalar>(world, options.tuning, spec_, options.optimizer, settings_,
                                 pairs_.train, pairs_.validation, run.report);
    }
    const auto& tuning = state_.history.tuning;
    for (size_t k = 0; k < tuning.types.size(); ++k) {
      penalty_strength(settings_.penalty, tuning.types[k]) = tuning.chosen[k];
    }
  }
  trainer_.emplace(world, settings_, model_, optimizer_, pairs_.train, pairs_.validation);
  if (resume) {
    // The same checkpoint and the same data on every rank: the same verdict everywhere.
    const std::string problem =
        resume_position_problem(state_.epoch, state_.step_in_epoch, state_.global_step,
                                state_.finished, trainer_->steps_per_epoch());
    if (!problem.empty()) {
      throw UsageError("cannot resume from '" + partial + "': " + problem +
                       " (use -force to start over)");
    }
  }
  first_step_ = state_.global_step;
}

template <typename Scalar>
void TrainingRun<Scalar>::save(const TrainState<Scalar>& now, bool complete) {
  LogStageGuard guard(stage_save_);
  world_.root_phase("train: save", [&] {
    try {
      write_training_file(io::partial_path(run_.output), model_, optimizer_, now, provenance_,
                          complete);
    } catch (const WriteFailure& failure) {
      // The last checkpoint written, if any, is still in place for -resume.
      throw UsageError(std::string(failure.what()) + "; nothing was written under '" + run_.output +
                       "'; free space and rerun with -resume to continue (or -force to start "
                       "over)");
    }
  });
}

template <typename Scalar>
void TrainingRun<Scalar>::train() {
  const auto outcome = [&] {
    LogStageGuard guard(stage_steps_);
    return trainer_->run(state_, run_.stop_after_steps,
                         [&](const TrainState<Scalar>& now) { save(now, false); });
  }();
  if (outcome == StepOutcome::kDiverged) {
    throw UsageError(
        "training diverged at step " + std::to_string(state_.global_step + 1) +
        " (the loss is not finite)" +
        (settings_.checkpoint_every > 0
             ? "; the last good checkpoint is kept in '" + io::partial_path(run_.output) + "'"
             : "; lower -lr, or set -checkpoint_every to keep checkpoints"));
  }
  if (outcome == StepOutcome::kContinue) end_as_if_killed(world_);  // the test hook
}

template <typename Scalar>
double TrainingRun<Scalar>::finish() {
  // The finished model goes where the checkpoints went, and is renamed once every rank agrees
  // it was written: a failure leaves nothing under the final name.
  save(state_, true);
  io::commit_output(world_, run_.output);
  LogStageGuard guard(stage_validate_);
  return trainer_->validation_loss();
}

template class TrainingRun<float>;
template class TrainingRun<double>;

}  // namespace rgflow::train
