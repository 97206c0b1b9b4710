#include "rgflow/train/schedule.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "rgflow/field/philox.hpp"

namespace rgflow::train {

std::vector<uint32_t> epoch_order(uint64_t count, uint64_t seed, uint64_t epoch) {
  std::vector<uint32_t> order(count);
  std::iota(order.begin(), order.end(), 0u);
  const field::PhiloxKey key = field::philox_key(seed);
  // Fisher-Yates from the top: step t swaps position i = count - 1 - t with a j in [0, i]; each
  // Philox block serves two steps (64 bits each), and a 64x64 -> 128-bit product maps the bits
  // onto [0, i] without a division (bias below 2^-32). The j of a chunk of steps are drawn first
  // and their entries prefetched: over a window of 10^7-10^8 pairs each swap is otherwise a cache
  // miss, the bulk of a short run's step time. The swaps, and so the permutation, are unchanged.
  constexpr uint64_t kChunk = 256;
  std::array<uint64_t, kChunk> partner{};
  field::PhiloxCounter words{};
  const uint64_t steps = count > 0 ? count - 1 : 0;
  for (uint64_t first = 0; first < steps; first += kChunk) {
    const uint64_t chunk = std::min(kChunk, steps - first);
    for (uint64_t k = 0; k < chunk; ++k) {
      const uint64_t t = first + k, i = count - 1 - t, slot = t % 2;
      if (slot == 0) {
        const uint64_t block = t / 2;
        words =
            field::philox4x32_10({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                                  static_cast<uint32_t>(epoch), 0x4F524452u},  // "ORDR"
                                 key);
      }
      const uint64_t bits = (uint64_t{words[2 * slot]} << 32) | words[2 * slot + 1];
      partner[k] = static_cast<uint64_t>((static_cast<unsigned __int128>(bits) * (i + 1)) >> 64);
      __builtin_prefetch(order.data() + partner[k], 1);
    }
    for (uint64_t k = 0; k < chunk; ++k) std::swap(order[count - 1 - first - k], order[partner[k]]);
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
