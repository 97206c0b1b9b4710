// A network together with its symmetry strategy (docs/science.md section 6): what the trainer and
// the analysis call. Prediction applies the exact strategies (group averaging, canonicalisation);
// the training loss applies the soft ones (augmentation, the symmetry regulariser).
#pragma once

#include <cstdint>
#include <vector>

#include "rgflow/nn/network.hpp"

namespace rgflow::nn {

/// Strengths lambda_t of the soft symmetry penalty, one per symmetry type. The penalty of type t
/// on a batch is R_t = mean over blocks of r_t^2, with r = f(g.x) - f(x) for a random site
/// permutation (permutation) or point-group element (point_group), r = f(-x) + f(x) (sign) and
/// r = (f(c x) - c f(x)) / c (scale). Unlike the reported symmetry errors, R_t is not divided by
/// Var f, which keeps its gradient local to the batch.
struct SymmetryPenalty {
  double permutation = 0;
  double point_group = 0;
  double sign = 0;
  double scale = 0;
  double scale_factor = 2.0;  // c

  bool active() const { return permutation > 0 || point_group > 0 || sign > 0 || scale > 0; }
};

template <typename Scalar>
class SymmetricModel {
 public:
  explicit SymmetricModel(const ModelSpec& spec);

  Network<Scalar>& network() { return net_; }
  const Network<Scalar>& network() const { return net_; }
  const ModelSpec& spec() const { return net_.spec(); }
  const std::vector<Permutation>& point_group_elements() const { return group_; }

  /// f(x) for a batch (inputs() x B): the network itself, its point-group average, or the network
  /// on the sorted block.
  Matrix<Scalar> predict(const Matrix<Scalar>& x) const;

  struct Loss {
    double mse = 0;      // sum over the batch of (f - y)^2 / normaliser
    double penalty = 0;  // sum_t lambda_t R_t, R_t summed over the batch / normaliser
  };
  /// Loss of a batch and its gradient added to `gradient`. Column k of x is sample
  /// `sample_ids[k]`; random group elements (augmentation, penalties) are drawn from
  /// (seed, epoch, sample id), so they do not depend on how a batch is split over ranks.
  /// `normaliser` is the global batch size: the loss of a batch split over ranks is the sum of
  /// the ranks' losses.
  Loss loss_and_gradient(const Matrix<Scalar>& x, const Matrix<Scalar>& y,
                         const std::vector<uint64_t>& sample_ids, uint64_t epoch,
                         const SymmetryPenalty& penalty, double normaliser, Scalar* gradient);

 private:
  // Forward through the strategy; tapes.size() passes are kept for the backward pass.
  void forward(const Matrix<Scalar>& x, std::vector<typename Network<Scalar>::Tape>& tapes,
               Matrix<Scalar>* output) const;
  void backward(std::vector<typename Network<Scalar>::Tape>& tapes, const Matrix<Scalar>& dy,
                Scalar* gradient) const;
  Matrix<Scalar> transformed(const Matrix<Scalar>& x, const std::vector<uint64_t>& ids,
                             uint64_t epoch, uint32_t stream, bool full_group) const;

  Network<Scalar> net_;
  std::vector<Permutation> group_;
  std::vector<typename Network<Scalar>::Tape> tapes_, other_tapes_;
};

}  // namespace rgflow::nn
