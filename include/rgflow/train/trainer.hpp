// Data-parallel training (DESIGN.md, Training). Every rank holds the same model and the training
// pairs of its own samples. The composition and order of every global batch come from the seed;
// each rank computes the gradient of the pairs of the batch it holds, and one MPI_Allreduce of a
// fused buffer (gradient and loss) sums them, after which every rank takes the same optimiser
// step. With `reproducible`, gradients are kept per sample and summed in sample order after the
// reduction, so the weights are bit-identical for any rank count.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "rgflow/core/mpi.hpp"
#include "rgflow/nn/optimizer.hpp"
#include "rgflow/nn/symmetric_model.hpp"
#include "rgflow/train/schedule.hpp"

namespace rgflow::train {

/// This rank's pairs: columns of x (N x count) and y (1 x count) are the consecutive global pair
/// ids first, first + 1, ... (a rank owns whole consecutive samples).
template <typename Scalar>
struct PairSet {
  nn::Matrix<Scalar> x, y;
  uint64_t first = 0;
  uint64_t total = 0;  // pairs over all ranks
};

struct TrainSettings {
  int64_t batch = 256;  // global
  int64_t epochs = 5;
  int64_t steps = 0;     // > 0: stop after this many steps instead
  int64_t patience = 0;  // > 0: stop after this many epochs without a better validation loss
  uint64_t seed = 1;
  bool reproducible = false;
  int64_t pairs_per_sample = 1;
  LearningRateSchedule schedule;
  nn::SymmetryPenalty penalty;
  int64_t checkpoint_every = 0;  // steps
  bool progress = true;
};

/// Automatic choice of symmetry-penalty strengths (SCIENCE.md section 6): for each tuned type in
/// turn, short trials over the candidate strengths, keeping the largest one whose validation MSE
/// is within the tolerance of the best, so a strength that stays large says the symmetry holds.
struct PenaltyTuning {
  std::vector<std::string> types;  // in tuning order
  std::vector<double> candidates;  // ascending
  std::vector<double> val_loss;    // types x candidates: validation MSE of each trial
  std::vector<double> chosen;      // per type
  double tolerance = 0;
  int64_t epochs = 0;  // per trial

  bool done() const { return !chosen.empty(); }
};

struct History {
  std::vector<double> epoch, step, train_loss, val_loss, penalty, learning_rate;
  std::vector<std::vector<double>> order_parameter;  // per record, per hidden layer
  PenaltyTuning tuning;                              // empty unless strengths were tuned
};

/// Everything that changes during training: with the model and the optimiser state it is the
/// whole checkpoint.
template <typename Scalar>
struct TrainState {
  int64_t epoch = 0, step_in_epoch = 0, global_step = 0;
  double epoch_loss = 0, epoch_penalty = 0;  // sums over the epoch's steps so far
  double best_val = std::numeric_limits<double>::infinity();
  int64_t epochs_since_best = 0;
  std::vector<Scalar> best_parameters;
  History history;
  bool finished = false;
  std::string stop_reason;
};

enum class StepOutcome { kContinue, kFinished, kDiverged };

template <typename Scalar>
class Trainer {
 public:
  /// Collective on `world` for every member function that trains or evaluates.
  Trainer(const Comm& world, const TrainSettings& settings, nn::SymmetricModel<Scalar>& model,
          nn::Optimizer<Scalar>& optimizer, const PairSet<Scalar>& train,
          const PairSet<Scalar>& validation);

  int64_t steps_per_epoch() const;
  int64_t total_steps() const;
  /// Mean squared error of the model on the validation pairs (all ranks get the same value, for
  /// any rank count).
  double validation_loss() const;

  /// Trains from `state` until the end, a divergence, or `stop_after_steps` steps in total (> 0);
  /// `checkpoint` is called (collectively) every settings.checkpoint_every steps.
  StepOutcome run(TrainState<Scalar>& state, int64_t stop_after_steps,
                  const std::function<void(const TrainState<Scalar>&)>& checkpoint);

  /// Seconds this rank spent in the gradient all-reduce (including waiting for other ranks).
  double reduce_seconds() const { return reduce_seconds_; }

 private:
  StepOutcome step(TrainState<Scalar>& state);
  void end_epoch(TrainState<Scalar>& state);

  const Comm& world_;
  TrainSettings settings_;
  nn::SymmetricModel<Scalar>& model_;
  nn::Optimizer<Scalar>& optimizer_;
  const PairSet<Scalar>& train_;
  const PairSet<Scalar>& validation_;
  std::vector<uint32_t> order_;
  int64_t order_epoch_ = -1;
  std::vector<Scalar> reduction_, gradient_;
  double reduce_seconds_ = 0;
};

}  // namespace rgflow::train
