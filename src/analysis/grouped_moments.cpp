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
    : kind_(JackknifeGroups::kSamples),
      levels_(levels),
      groups_(groups),
      order_(order),
      width_(CentralMoments(order).to_buffer().size()),
      buffer_(static_cast<size_t>(levels) * static_cast<size_t>(groups) * width_, 0.0) {}

GroupedMoments::GroupedMoments(int levels, int64_t groups, int order, int64_t top_side,
                               int64_t samples)
    : kind_(JackknifeGroups::kSpace),
      levels_(levels),
      groups_(groups),
      order_(order),
      top_side_(top_side),
      pieces_(samples),
      width_(CentralMoments(order).to_buffer().size()) {
  if (top_side < groups) {
    throw std::invalid_argument("space jackknife groups: more groups than top-level rows");
  }
  buffer_.assign(static_cast<size_t>(levels) * static_cast<size_t>(groups) *
                     static_cast<size_t>(samples) * width_,
                 0.0);
}

void GroupedMoments::set(int level, int64_t group, int64_t piece, const CentralMoments& moments) {
  const auto flat = moments.to_buffer();
  const size_t slot =
      (static_cast<size_t>(level) * static_cast<size_t>(groups_) + static_cast<size_t>(group)) *
          static_cast<size_t>(pieces_) +
      static_cast<size_t>(piece);
  std::copy(flat.begin(), flat.end(), buffer_.begin() + static_cast<long>(slot * width_));
}

std::vector<std::vector<CentralMoments>> GroupedMoments::by_level() const {
  std::vector<std::vector<CentralMoments>> moments(static_cast<size_t>(levels_));
  for (int level = 0; level < levels_; ++level) {
    for (int64_t group = 0; group < groups_; ++group) {
      CentralMoments merged(order_);
      for (int64_t piece = 0; piece < pieces_; ++piece) {
        const size_t slot = (static_cast<size_t>(level) * static_cast<size_t>(groups_) +
                             static_cast<size_t>(group)) *
                                static_cast<size_t>(pieces_) +
                            static_cast<size_t>(piece);
        const auto begin = buffer_.begin() + static_cast<long>(slot * width_);
        const CentralMoments part = CentralMoments::from_buffer(
            std::vector<double>(begin, begin + static_cast<long>(width_)));
        if (pieces_ == 1) {
          merged = part;
        } else {
          merged.merge(part);
        }
      }
      moments[static_cast<size_t>(level)].push_back(merged);
    }
  }
  return moments;
}

}  // namespace rgflow::analysis
