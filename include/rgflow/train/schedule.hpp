// What is trained on when, as pure functions of the seed: the order of training pairs in each
// epoch and the learning rate of each step. Independent of the number of ranks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rgflow::train {

/// A permutation of [0, count) for `epoch`, by Fisher-Yates with counter-based random numbers
/// keyed by (seed, epoch).
std::vector<uint32_t> epoch_order(uint64_t count, uint64_t seed, uint64_t epoch);

struct LearningRateSchedule {
  std::string kind = "constant";  // constant, cosine, step
  double base = 1e-3;
  double step_factor = 0.1;  // step: multiply by this every `step_epochs` epochs
  int64_t step_epochs = 10;

  /// Rate at `step` (0-based) of `total_steps`, in epoch `epoch`.
  double at(int64_t step, int64_t total_steps, int64_t epoch) const;
};

}  // namespace rgflow::train
