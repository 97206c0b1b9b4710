#include "rgflow/train/tuning.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "rgflow/core/error.hpp"

namespace rgflow::train {

double& penalty_strength(nn::SymmetryPenalty& penalty, const std::string& type) {
  if (type == "permutation") return penalty.permutation;
  if (type == "point_group") return penalty.point_group;
  if (type == "sign") return penalty.sign;
  return penalty.scale;
}

template <typename Scalar>
PenaltyTuning tune_penalties(const Comm& world, const TuningOptions& options,
                             const nn::ModelSpec& spec, const nn::OptimizerSettings& optimizer,
                             TrainSettings settings, PairSource<Scalar>& train,
                             PairSource<Scalar>& validation, bool report) {
  PenaltyTuning tuning;
  tuning.types = options.types;
  tuning.candidates = options.grid;
  tuning.tolerance = options.tolerance;
  tuning.epochs = options.epochs;
  settings.epochs = options.epochs;
  settings.steps = 0;
  settings.patience = 0;
  settings.checkpoint_every = 0;
  settings.progress = false;
  for (const auto& type : tuning.types) {
    std::vector<double> losses;
    for (double candidate : tuning.candidates) {
      penalty_strength(settings.penalty, type) = candidate;
      nn::SymmetricModel<Scalar> model(spec);
      nn::Optimizer<Scalar> trial_optimizer(optimizer,
                                            static_cast<size_t>(model.network().parameter_count()));
      Trainer<Scalar> trainer(world, settings, model, trial_optimizer, train, validation);
      TrainState<Scalar> state;
      const auto outcome = trainer.run(state, 0, [](const TrainState<Scalar>&) {});
      const double loss = outcome == StepOutcome::kDiverged
                              ? std::numeric_limits<double>::infinity()
                              : trainer.validation_loss();
      losses.push_back(std::isfinite(loss) ? loss : std::numeric_limits<double>::infinity());
      if (report) {
        std::printf("rgflow train: tuning lambda_%s = %g: validation MSE %.4e\n", type.c_str(),
                    candidate, loss);
        std::fflush(stdout);
      }
    }
    const double best = *std::min_element(losses.begin(), losses.end());
    if (!std::isfinite(best)) {
      throw UsageError("tuning lambda_" + type + ": every trial diverged (lower -lr)");
    }
    size_t chosen = 0;
    for (size_t k = 0; k < losses.size(); ++k) {
      if (losses[k] <= best * (1 + tuning.tolerance)) chosen = k;
    }
    penalty_strength(settings.penalty, type) = tuning.candidates[chosen];
    tuning.chosen.push_back(tuning.candidates[chosen]);
    tuning.val_loss.insert(tuning.val_loss.end(), losses.begin(), losses.end());
    if (report) {
      std::printf("rgflow train: tuned lambda_%s = %g\n", type.c_str(), tuning.chosen.back());
    }
  }
  return tuning;
}

template PenaltyTuning tune_penalties<float>(const Comm&, const TuningOptions&,
                                             const nn::ModelSpec&, const nn::OptimizerSettings&,
                                             TrainSettings, PairSource<float>&, PairSource<float>&,
                                             bool);
template PenaltyTuning tune_penalties<double>(const Comm&, const TuningOptions&,
                                              const nn::ModelSpec&, const nn::OptimizerSettings&,
                                              TrainSettings, PairSource<double>&,
                                              PairSource<double>&, bool);

}  // namespace rgflow::train
