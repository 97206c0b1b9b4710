// Symmetry metrics of a trained model (docs/science.md section 5), measured on blocks of the data,
// and their fixed layout for the sum over ranks: each model's metrics are made by one rank, packed
// into its own slots (zeros elsewhere), so the element-wise sum over ranks is exact and the
// numbers do not depend on the rank count. No MPI and no files here.
#pragma once

#include <cstdint>
#include <vector>

#include "rgflow/nn/metrics.hpp"
#include "rgflow/nn/network.hpp"

namespace rgflow::analysis {

/// Symmetry metrics of one model, measured on the wrapped network.
struct SymmetryReport {
  nn::OutputSymmetryErrors errors;
  std::vector<double> invariant_fraction;  // per hidden layer, point group
  std::vector<double> equivariance_error;  // per graph layer (graph networks only)
  std::vector<double> order_parameter;     // per hidden layer, trained weights
  std::vector<double> order_history;       // records x hidden layers, from /history
  std::vector<double> history_epochs;      // records
};

/// Blocks the symmetry metrics are measured on, at most (the first of the data, level 0).
constexpr int64_t kSymmetryBlocks = 4096;

/// The metrics of `network` on `blocks` (one block per column): output symmetry errors (16
/// sampled permutations, drawn from `seed`), invariant fractions and, for graph networks,
/// equivariance errors under the block's point group, and the unit order parameter. The history
/// fields stay empty (they come from the model file).
SymmetryReport symmetry_report(const nn::Network<double>& network, const nn::Matrix<double>& blocks,
                               uint64_t seed);

/// The measured metrics of several models in one flat buffer (per model: the 4 output errors,
/// then invariant fraction, equivariance error and order parameter per hidden layer), for one
/// sum over ranks.
class SymmetrySums {
 public:
  /// Slots for models with these numbers of hidden layers.
  explicit SymmetrySums(const std::vector<size_t>& hidden_layers);
  /// Packs model `model`'s measured metrics into its slots (LibraryError if a list is longer
  /// than its hidden layers).
  void set(size_t model, const SymmetryReport& report);
  /// Every slot, for the sum over ranks.
  std::vector<double>& buffer() { return slots_; }
  /// Model `model`'s measured metrics, unpacked; graph networks (`graph`) get their equivariance
  /// errors, others none.
  SymmetryReport report(size_t model, bool graph) const;

 private:
  std::vector<size_t> start_;  // per model, then the end
  std::vector<double> slots_;
};

}  // namespace rgflow::analysis
