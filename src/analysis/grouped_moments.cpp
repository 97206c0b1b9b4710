#include "rgflow/analysis/grouped_moments.hpp"

#include <algorithm>

#include "rgflow/lattice/partition.hpp"

namespace rgflow::analysis {

std::array<int64_t, 2> group_samples(int64_t samples, int64_t groups, int64_t group) {
  return lattice::piece_range(samples, static_cast<int>(groups), static_cast<int>(group));
}

GroupedMoments::GroupedMoments(int levels, int64_t groups, int order)
    : levels_(levels),
      groups_(groups),
      order_(order),
      width_(CentralMoments(order).to_buffer().size()),
      buffer_(static_cast<size_t>(levels) * static_cast<size_t>(groups) * width_, 0.0) {}

void GroupedMoments::set(int level, int64_t group, const CentralMoments& moments) {
  const auto flat = moments.to_buffer();
  std::copy(
      flat.begin(), flat.end(),
      buffer_.begin() + static_cast<long>((static_cast<size_t>(level) * groups_ + group) * width_));
}

std::vector<std::vector<CentralMoments>> GroupedMoments::by_level() const {
  std::vector<std::vector<CentralMoments>> moments(static_cast<size_t>(levels_));
  for (int level = 0; level < levels_; ++level) {
    for (int64_t group = 0; group < groups_; ++group) {
      const auto begin = buffer_.begin() +
                         static_cast<long>((static_cast<size_t>(level) * groups_ + group) * width_);
      moments[static_cast<size_t>(level)].push_back(CentralMoments::from_buffer(
          std::vector<double>(begin, begin + static_cast<long>(width_))));
    }
  }
  return moments;
}

}  // namespace rgflow::analysis
