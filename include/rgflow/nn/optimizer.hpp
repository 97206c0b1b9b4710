// Optimisers on one flat parameter buffer and its gradient (the buffers of Network), each owning
// its state in flat buffers too, so a checkpoint is a copy of a few arrays.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rgflow::nn {

/// How an optimiser updates; the learning rate is not here: each step is given its rate (a
/// schedule's value, train::LearningRateSchedule), so the rate has one home.
struct OptimizerSettings {
  std::string kind = "adam";                          // adam or sgd
  double momentum = 0.9;                              // sgd
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;  // adam
  double weight_decay = 0;  // decoupled (AdamW); for sgd added to the gradient
};

template <typename Scalar>
class Optimizer {
 public:
  Optimizer(const OptimizerSettings& settings, std::size_t parameter_count);

  /// One update of `parameters` from `gradient`, at learning rate `learning_rate` (a schedule's
  /// current value).
  void step(Scalar* parameters, const Scalar* gradient, double learning_rate);

  const OptimizerSettings& settings() const { return settings_; }
  int64_t steps() const { return steps_; }
  /// State for checkpoints: first and second moment (adam) or velocity (sgd, first only).
  std::vector<Scalar>& first_moment() { return first_; }
  std::vector<Scalar>& second_moment() { return second_; }
  void set_steps(int64_t steps) { steps_ = steps; }

 private:
  OptimizerSettings settings_;
  std::vector<Scalar> first_, second_;
  int64_t steps_ = 0;
};

}  // namespace rgflow::nn
