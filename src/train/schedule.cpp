#include "rgflow/train/schedule.hpp"

#include <cmath>
#include <numeric>

#include "rgflow/field/philox.hpp"

namespace rgflow::train {

std::vector<uint32_t> epoch_order(uint64_t count, uint64_t seed, uint64_t epoch) {
  std::vector<uint32_t> order(count);
  std::iota(order.begin(), order.end(), 0u);
  const field::PhiloxKey key = field::philox_key(seed);
  // Fisher-Yates from the top; each Philox block serves two positions (64 bits each), and a
  // 64x64 -> 128-bit product maps the bits onto [0, i] without a division (bias below 2^-32).
  field::PhiloxCounter words{};
  for (uint64_t i = count; i-- > 1;) {
    const uint64_t slot = (count - 1 - i) % 2;
    if (slot == 0) {
      const uint64_t block = (count - 1 - i) / 2;
      words =
          field::philox4x32_10({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                                static_cast<uint32_t>(epoch), 0x4F524452u},  // "ORDR"
                               key);
    }
    const uint64_t bits = (uint64_t{words[2 * slot]} << 32) | words[2 * slot + 1];
    const auto j = static_cast<uint64_t>((static_cast<unsigned __int128>(bits) * (i + 1)) >> 64);
    std::swap(order[i], order[j]);
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
