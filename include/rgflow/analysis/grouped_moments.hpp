// The one grouped-moments reduction of the analysis: central moments per (level, jackknife
// group), each group of consecutive samples reduced by the one rank that owns it, in sample
// order. The table's flat buffer holds zeros in the slots a rank does not own, so an
// element-wise sum over ranks (Comm::sum) reproduces every slot exactly and the result is
// bit-identical for any rank count. No MPI here: the caller sums buffer() over ranks.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "rgflow/analysis/moments.hpp"

namespace rgflow::analysis {

/// Samples [first, end) of jackknife group `group` when `samples` consecutive samples are cut
/// into `groups` groups of (nearly) equal size, larger groups first.
std::array<int64_t, 2> group_samples(int64_t samples, int64_t groups, int64_t group);

class GroupedMoments {
 public:
  /// A table of `levels` x `groups` empty moments of order `order`.
  GroupedMoments(int levels, int64_t groups, int order);

  int levels() const { return levels_; }
  int64_t groups() const { return groups_; }

  /// Fills every group owned by `rank` of `ranks` (groups rank, rank + ranks, ...): for each
  /// sample of the group, in order, `add_sample(sample, per_level)` adds that sample's values of
  /// every level to per_level[level] (a vector of `levels` moments). Other slots stay zero.
  template <typename AddSample>
  void fill_owned(int64_t samples, int rank, int ranks, AddSample&& add_sample) {
    for (int64_t group = rank; group < groups_; group += ranks) {
      std::vector<CentralMoments> per_level(static_cast<size_t>(levels_), CentralMoments(order_));
      const auto range = group_samples(samples, groups_, group);
      for (int64_t sample = range[0]; sample < range[1]; ++sample) add_sample(sample, per_level);
      for (int level = 0; level < levels_; ++level) {
        set(level, group, per_level[static_cast<size_t>(level)]);
      }
    }
  }

  /// Stores the moments of (level, group).
  void set(int level, int64_t group, const CentralMoments& moments);
  /// The flat table, level-major then group, (order + 1) values per slot (to_buffer layout).
  std::vector<double>& buffer() { return buffer_; }
  /// moments[level][group], as cumulant_flow takes them.
  std::vector<std::vector<CentralMoments>> by_level() const;

 private:
  int levels_;
  int64_t groups_;
  int order_;
  size_t width_;
  std::vector<double> buffer_;
};

}  // namespace rgflow::analysis
