// The one grouped-moments reduction of the analysis: central moments per (level, jackknife
// group). Two ways to form the groups:
// - sample groups: consecutive samples, each group reduced by the one rank that owns it, in
//   sample order;
// - space groups (few large samples): every sample's lattice cut into `groups` slabs of whole
//   top-level block rows along axis 0, so a group covers the same region at every level; each
//   (sample, group) is reduced by the rank that owns the sample and the samples of a group are
//   merged in sample order.
// A group's moments may also be kept in several slots (pieces), merged in slot order: the chunks
// of the data pass (analysis/data_pass.hpp), which share one group's work over several ranks.
// The table's flat buffer holds zeros in the slots a rank does not own, so an element-wise sum
// over ranks (Comm::sum) reproduces every slot exactly and the result is bit-identical for any
// rank count. No MPI here: the caller sums buffer() over ranks.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "rgflow/analysis/moments.hpp"

namespace rgflow::analysis {

/// Samples [first, end) of jackknife group `group` when `samples` consecutive samples are cut
/// into `groups` groups of (nearly) equal size, larger groups first.
std::array<int64_t, 2> group_samples(int64_t samples, int64_t groups, int64_t group);

/// Rows [first, end) of the top level's block grid (along axis 0) in space group `group` of
/// `groups`, when the top level has `top_side` rows (larger groups first).
std::array<int64_t, 2> group_rows(int64_t top_side, int64_t groups, int64_t group);

enum class JackknifeGroups { kSamples, kSpace };

std::string jackknife_groups_name(JackknifeGroups kind);

/// What choose_jackknife_groups names in its messages: the options as the user types them and
/// the dataset.
struct JackknifeNames {
  std::string groups_option, jackknife_option, data;
};

/// How `groups` jackknife groups are formed under -jackknife `mode` ("auto", "samples",
/// "space") for data of `samples` samples with `top_rows` block rows at the top level:
/// consecutive samples when asked for or (auto) when there are enough, else slabs of top-level
/// block rows (the same region at every level). UsageError, one line naming the options, when
/// the chosen kind has fewer samples or rows than groups.
JackknifeGroups choose_jackknife_groups(const std::string& mode, int64_t groups, int64_t samples,
                                        int64_t top_rows, const JackknifeNames& names);

class GroupedMoments;

/// Where one sample's fields go: add(level, side, values, count) adds a field of that table
/// level (side `side` along each axis, row-major) to its group, or its slabs to their groups.
class LevelSink {
 public:
  template <typename T>
  void add(int level, int64_t side, const T* values, size_t count);

 private:
  friend class GroupedMoments;
  LevelSink(const GroupedMoments& table, int levels, size_t slots, int order)
      : table_(table),
        slots_(static_cast<size_t>(levels),
               std::vector<CentralMoments>(slots, CentralMoments(order))) {}
  const GroupedMoments& table_;
  std::vector<std::vector<CentralMoments>> slots_;  // [level][group slot]
};

class GroupedMoments {
 public:
  /// Sample groups: a table of `levels` x `groups` empty moments of order `order`.
  GroupedMoments(int levels, int64_t groups, int order);
  /// Space groups over `samples` samples whose top level has `top_side` block rows along axis 0
  /// (top_side >= groups: std::invalid_argument otherwise).
  GroupedMoments(int levels, int64_t groups, int order, int64_t top_side, int64_t samples);
  /// Groups of either kind with pieces[group] slots each, merged in slot order by by_level (the
  /// data pass's chunks, PassChunks::table). fill_owned needs the layouts above: one slot per
  /// group (sample groups) or per sample (space groups, over `top_side` top-level rows).
  GroupedMoments(JackknifeGroups kind, int levels, int order, int64_t top_side,
                 const std::vector<int64_t>& pieces);

  int levels() const { return levels_; }
  int64_t groups() const { return groups_; }
  JackknifeGroups kind() const { return kind_; }
  int order() const { return order_; }

  /// Fills what `rank` of `ranks` owns (sample groups: groups rank, rank + ranks, ...; space
  /// groups: samples rank, rank + ranks, ...): for each sample, in order,
  /// `add_sample(sample, sink)` adds that sample's fields with sink.add. Other slots stay zero.
  template <typename AddSample>
  void fill_owned(int64_t samples, int rank, int ranks, AddSample&& add_sample) {
    if (kind_ == JackknifeGroups::kSamples) {
      for (int64_t group = rank; group < groups_; group += ranks) {
        LevelSink sink(*this, levels_, 1, order_);
        const auto range = group_samples(samples, groups_, group);
        for (int64_t sample = range[0]; sample < range[1]; ++sample) add_sample(sample, sink);
        for (int level = 0; level < levels_; ++level) {
          set(level, group, 0, sink.slots_[static_cast<size_t>(level)][0]);
        }
      }
      return;
    }
    for (int64_t sample = rank; sample < samples; sample += ranks) {
      LevelSink sink(*this, levels_, static_cast<size_t>(groups_), order_);
      add_sample(sample, sink);
      for (int level = 0; level < levels_; ++level) {
        for (int64_t group = 0; group < groups_; ++group) {
          set(level, group, sample,
              sink.slots_[static_cast<size_t>(level)][static_cast<size_t>(group)]);
        }
      }
    }
  }

  /// Puts `moments` in slot (level, group, piece) (piece: the sample for space groups, 0 for
  /// sample groups, or the chunk of the group with PassChunks' layout), for a caller that reduces
  /// its own pieces (the data pass).
  void store(int level, int64_t group, int64_t piece, const CentralMoments& moments) {
    set(level, group, piece, moments);
  }

  /// The flat table, level-major, then group, then piece (space groups: one per sample), (order +
  /// 1) values per slot (to_buffer layout).
  std::vector<double>& buffer() { return buffer_; }
  /// moments[level][group], as cumulant_flow takes them: each group's pieces merged in piece
  /// order (space groups: the samples of each group in sample order).
  std::vector<std::vector<CentralMoments>> by_level() const;

 private:
  friend class LevelSink;
  void set(int level, int64_t group, int64_t piece, const CentralMoments& moments);

  JackknifeGroups kind_;
  int levels_;
  int64_t groups_;
  int order_;
  int64_t top_side_ = 0;
  std::vector<size_t> first_piece_;  // [group]: its first slot within a level; [groups]: slots
  size_t width_;
  std::vector<double> buffer_;
};

template <typename T>
void LevelSink::add(int level, int64_t side, const T* values, size_t count) {
  auto& slots = slots_[static_cast<size_t>(level)];
  if (table_.kind_ == JackknifeGroups::kSamples) {
    slots[0].add(values, count);
    return;
  }
  // A top-level row of blocks is side / top_side rows of this level's sites, each
  // count / side values long (the other axes): a slab is one contiguous run.
  const size_t row = count / static_cast<size_t>(side);
  const size_t rows_per_top_row = static_cast<size_t>(side / table_.top_side_);
  for (int64_t group = 0; group < table_.groups_; ++group) {
    const auto rows = group_rows(table_.top_side_, table_.groups_, group);
    const size_t first = static_cast<size_t>(rows[0]) * rows_per_top_row * row;
    const size_t end = static_cast<size_t>(rows[1]) * rows_per_top_row * row;
    slots[static_cast<size_t>(group)].add(values + first, end - first);
  }
}

}  // namespace rgflow::analysis
