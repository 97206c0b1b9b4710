// Data-parallel training (README, rgflow train). Every rank holds the same model and the training
// pairs of its own samples. The composition and order of every global batch come from the seed;
// each rank computes the gradient of the pairs of the batch it holds, and one MPI_Allreduce of a
// fused buffer (gradient and loss) sums them, after which every rank takes the same optimiser
// step. With `reproducible`, gradients are kept per group (a sample, or a row of blocks of a tile
// of one sample, never split over ranks) and summed in pair order after the reduction, so the
// weights are bit-identical for any rank count.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "rgflow/core/mpi.hpp"
#include "rgflow/io/training_file.hpp"
#include "rgflow/nn/optimizer.hpp"
#include "rgflow/nn/symmetric_model.hpp"
#include "rgflow/train/schedule.hpp"

namespace rgflow {
class Progress;
}

namespace rgflow::train {

/// This rank's pairs: columns of x (N x count) and y (1 x count) are the consecutive global pair
/// ids first, first + 1, ... (a rank owns whole consecutive samples).
template <typename Scalar>
struct PairSet {
  nn::Matrix<Scalar> x, y;
  uint64_t first = 0;
  uint64_t total = 0;  // pairs over all ranks
};

/// The training or validation pairs: all in memory, or, when they do not fit the memory budget,
/// windows read from the file when visited (out-of-core): windows of whole consecutive samples,
/// or, when one sample does not fit, tiles of one sample. Window boundaries depend on the sizes
/// and the budget only, never on the rank count. The pairs of a window form groups of
/// consecutive ids (whole samples, or whole rows of blocks of a tile), each held by one rank:
/// reproducible sums are taken per group.
template <typename Scalar>
class PairSource {
 public:
  /// Collective: this rank's share of window w (whole groups).
  using Loader = std::function<PairSet<Scalar>(int64_t window)>;

  /// Everything in memory (one window; groups are samples).
  PairSource(std::shared_ptr<const PairSet<Scalar>> all, int64_t pairs_per_sample);
  /// Window w holds pairs [window_begins[w], window_begins[w + 1]) (windows + 1 entries, from
  /// 0), in groups of group_pairs[w] consecutive pairs.
  PairSource(std::vector<uint64_t> window_begins, std::vector<uint64_t> group_pairs, Loader loader);

  uint64_t total() const { return total_; }
  int64_t windows() const { return static_cast<int64_t>(group_pairs_.size()); }
  bool streamed() const { return static_cast<bool>(loader_); }
  /// Global id of the first pair of window w, and its number of pairs.
  uint64_t window_begin(int64_t w) const { return window_begins_[static_cast<size_t>(w)]; }
  uint64_t window_size(int64_t w) const;
  /// Pairs per group of window w (a group never spans two ranks).
  uint64_t group_pairs(int64_t w) const { return group_pairs_[static_cast<size_t>(w)]; }
  /// This rank's pairs of window w; collective when it has to be read.
  const PairSet<Scalar>& window(int64_t w);
  /// Frees a streamed window (the next window() call reads again).
  void release();
  /// Seconds this rank spent reading windows, and how many it read.
  double load_seconds() const { return load_seconds_; }
  int64_t loads() const { return loads_; }

 private:
  std::shared_ptr<const PairSet<Scalar>> current_;
  int64_t current_window_ = -1;
  std::vector<uint64_t> window_begins_, group_pairs_;
  uint64_t total_ = 0;
  Loader loader_;
  double load_seconds_ = 0;
  int64_t loads_ = 0;
};

struct TrainSettings {
  int64_t batch = 256;  // global
  int64_t epochs = 5;
  int64_t steps = 0;     // > 0: stop after this many steps instead
  int64_t patience = 0;  // > 0: stop after this many epochs without a better validation loss
  uint64_t seed = 1;
  bool reproducible = false;
  /// The learning rate of every step: its `base` is the one rate of a run (-lr); the trainer
  /// passes the schedule's rate to each optimiser step.
  LearningRateSchedule schedule;
  nn::SymmetryPenalty penalty;
  int64_t checkpoint_every = 0;  // steps
  bool progress = true;
};

/// Automatic choice of symmetry-penalty strengths (docs/science.md section 6): for each tuned type
/// in turn, short trials over the candidate strengths, keeping the largest one whose validation MSE
/// is within the tolerance of the best, so a strength that stays large says the symmetry holds.
/// The record of the trials is model.h5's /history/tuning, defined with the file.
using PenaltyTuning = io::PenaltyTuning;

/// The training history: one record per epoch (model.h5's /history).
using History = io::TrainingHistory;

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
          nn::Optimizer<Scalar>& optimizer, PairSource<Scalar>& train,
          PairSource<Scalar>& validation);

  int64_t steps_per_epoch() const;
  int64_t total_steps() const;
  /// Mean squared error of the model on the validation pairs (all ranks get the same value, for
  /// any rank count).
  double validation_loss();

  /// Trains from `state` until the end, a divergence, or `stop_after_steps` steps in total (> 0);
  /// `checkpoint` is called (collectively) every settings.checkpoint_every steps. At the end
  /// (kFinished) with early stopping (patience > 0), the model holds the weights of the best
  /// validation loss.
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
  // Positions in the epoch: windows in a seeded order, pairs in a seeded order inside each.
  void plan_epoch(int64_t epoch);

  PairSource<Scalar>& train_;
  PairSource<Scalar>& validation_;
  int64_t planned_epoch_ = -1;
  std::vector<int64_t> window_order_;  // windows in visiting order
  std::vector<int64_t> window_start_;  // first step of each visited window; back() = total
  std::vector<uint32_t> order_;        // pair offsets inside the window being visited
  int64_t order_window_ = -1;
  std::vector<Scalar> reduction_, gradient_;
  double reduce_seconds_ = 0;
  Progress* progress_ = nullptr;  // the line to clear before an epoch's line, during run()
};

}  // namespace rgflow::train
