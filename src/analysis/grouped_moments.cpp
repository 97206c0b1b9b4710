#include "rgflow/analysis/grouped_moments.hpp"

#include <algorithm>
#include <stdexcept>

#include "rgflow/core/error.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::analysis {

std::array<int64_t, 2> group_samples(int64_t samples, int64_t groups, int64_t group) {
  return lattice::piece_range(samples, static_cast<int>(groups), static_cast<int>(group));
}

std::array<int64_t, 2> group_rows(int64_t top_side, int64_t groups, int64_t group) {
  return lattice::piece_range(top_side, static_cast<int>(groups), static_cast<int>(group));
}

std::string jackknife_groups_name(JackknifeGroups kind) {
  return kind == JackknifeGroups::kSpace ? "space" : "samples";
}

JackknifeGroups choose_jackknife_groups(const std::string& mode, int64_t groups, int64_t samples,
                                        int64_t top_rows, const JackknifeNames& names) {
  const std::string count = std::to_string(groups);
  const bool enough_samples = samples >= groups, enough_rows = top_rows >= groups;
  const std::string have = "'" + names.data + "' has " + std::to_string(samples) + " samples and " +
                           std::to_string(top_rows) + " block rows at its top level";
  if (mode == "samples" || (mode == "auto" && enough_samples)) {
    if (!enough_samples) {
      throw UsageError("option " + names.groups_option + ": " + count +
                       " jackknife groups of samples need at least as many samples; " + have +
                       " (" + names.jackknife_option + " space cuts the lattice instead)");
    }
    return JackknifeGroups::kSamples;
  }
  if (!enough_rows) {
    throw UsageError("option " + names.groups_option + ": " + count +
                     " jackknife groups need at least as many samples or top-level block rows; " +
                     have + "; lower " + names.groups_option);
  }
  return JackknifeGroups::kSpace;
}

GroupedMoments::GroupedMoments(int levels, int64_t groups, int order)
    : GroupedMoments(JackknifeGroups::kSamples, levels, order, 0,
                     std::vector<int64_t>(static_cast<size_t>(groups), 1)) {}

GroupedMoments::GroupedMoments(int levels, int64_t groups, int order, int64_t top_side,
                               int64_t samples)
    : GroupedMoments(JackknifeGroups::kSpace, levels, order, top_side,
                     std::vector<int64_t>(static_cast<size_t>(groups), samples)) {
  if (top_side < groups) {
    throw std::invalid_argument("space jackknife groups: more groups than top-level rows");
  }
}

GroupedMoments::GroupedMoments(JackknifeGroups kind, int levels, int order, int64_t top_side,
                               const std::vector<int64_t>& pieces)
    : kind_(kind),
      levels_(levels),
      groups_(static_cast<int64_t>(pieces.size())),
      order_(order),
      top_side_(top_side),
      first_piece_{0},
      width_(CentralMoments(order).to_buffer().size()) {
  for (const int64_t count : pieces) {
    first_piece_.push_back(first_piece_.back() + static_cast<size_t>(count));
  }
  buffer_.assign(static_cast<size_t>(levels) * first_piece_.back() * width_, 0.0);
}

void GroupedMoments::set(int level, int64_t group, int64_t piece, const CentralMoments& moments) {
  const auto flat = moments.to_buffer();
  const size_t slot = static_cast<size_t>(level) * first_piece_.back() +
                      first_piece_[static_cast<size_t>(group)] + static_cast<size_t>(piece);
  std::copy(flat.begin(), flat.end(), buffer_.begin() + static_cast<long>(slot * width_));
}

std::vector<std::vector<CentralMoments>> GroupedMoments::by_level() const {
  std::vector<std::vector<CentralMoments>> moments(static_cast<size_t>(levels_));
  for (int level = 0; level < levels_; ++level) {
    for (size_t group = 0; group + 1 < first_piece_.size(); ++group) {
      // Merging into an empty accumulator copies the first piece exactly (merge_state).
      CentralMoments merged(order_);
      for (size_t piece = first_piece_[group]; piece < first_piece_[group + 1]; ++piece) {
        const size_t slot = static_cast<size_t>(level) * first_piece_.back() + piece;
        const auto begin = buffer_.begin() + static_cast<long>(slot * width_);
        merged.merge(CentralMoments::from_buffer(
            std::vector<double>(begin, begin + static_cast<long>(width_))));
      }
      moments[static_cast<size_t>(level)].push_back(merged);
    }
  }
  return moments;
}

}  // namespace rgflow::analysis
