#include "rgflow/train/schedule.hpp"

#include <cmath>
#include <numeric>

#include "rgflow/field/philox.hpp"

namespace rgflow::train {

std::vector<uint32_t> epoch_order(uint64_t count, uint64_t seed, uint64_t epoch) {
  std::vector<uint32_t> order(count);
  std::iota(order.begin(), order.end(), 0u);
  const field::PhiloxKey key{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  for (uint64_t i = count; i-- > 1;) {
    const auto w = field::philox4x32_10({static_cast<uint32_t>(i), static_cast<uint32_t>(i >> 32),
                                         static_cast<uint32_t>(epoch), 0x4F524452u},  // "ORDR"
                                        key);
    const uint64_t bits = (uint64_t{w[0]} << 32) | w[1];
    std::swap(order[i], order[bits % (i + 1)]);
  }
  return order;
}

double LearningRateSchedule::at(int64_t step, int64_t total_steps, int64_t epoch) const {
  if (kind == "cosine") {
    return base * 0.5 *
           (1 + std::cos(M_PI * double(step) / double(std::max<int64_t>(total_steps, 1))));
  }
  if (kind == "step") return base * std::pow(step_factor, double(epoch / step_epochs));
  return base;
}

}  // namespace rgflow::train
