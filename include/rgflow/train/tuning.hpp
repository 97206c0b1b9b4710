// Automatic choice of symmetry-penalty strengths (-tune_penalties; docs/science.md section 6).
#pragma once

#include <string>

#include "rgflow/core/mpi.hpp"
#include "rgflow/nn/optimizer.hpp"
#include "rgflow/train/options.hpp"
#include "rgflow/train/trainer.hpp"

namespace rgflow::train {

/// The strength of penalty `type` (permutation, point_group, sign or scale) in `penalty`.
double& penalty_strength(nn::SymmetryPenalty& penalty, const std::string& type);

/// Coordinate search over `options.types` in turn: a short trial (options.epochs epochs, from the
/// same initialisation and data order) per candidate strength, each judged by the validation MSE
/// without the penalty, keeping the largest strength within options.tolerance of the best. Keeping
/// the largest (rather than the best alone) makes the tuned strength a measure of how exact the
/// symmetry is: an exact one costs nothing at any strength. `settings` are the run's (the trials
/// use its batch, seed, schedule and penalty, without early stopping, checkpoints or progress).
/// With `report`, prints each trial's result. UsageError when every trial of a type diverged.
/// Collective over `world` (every trial trains and validates).
template <typename Scalar>
PenaltyTuning tune_penalties(const Comm& world, const TuningOptions& options,
                             const nn::ModelSpec& spec, const nn::OptimizerSettings& optimizer,
                             TrainSettings settings, PairSource<Scalar>& train,
                             PairSource<Scalar>& validation, bool report);

}  // namespace rgflow::train
