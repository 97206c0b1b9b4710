#include "rgflow/nn/symmetric_model.hpp"

#include <algorithm>
#include <stdexcept>

#include "rgflow/field/philox.hpp"

namespace rgflow::nn {
namespace {

// Streams of random group elements, one per use, so that they never coincide.
constexpr uint32_t kAugmentStream = 1;
constexpr uint32_t kPermutationPenaltyStream = 2;
constexpr uint32_t kPointGroupPenaltyStream = 3;

}  // namespace

template <typename Scalar>
SymmetricModel<Scalar>::SymmetricModel(const ModelSpec& spec)
    : net_(spec), group_(point_group(spec.block)) {}

template <typename Scalar>
void SymmetricModel<Scalar>::forward(const Matrix<Scalar>& x,
                                     std::vector<typename Network<Scalar>::Tape>& tapes,
                                     Matrix<Scalar>* output) const {
  switch (spec().strategy) {
    case Strategy::kAverage: {
      tapes.resize(group_.size());
      output->setZero(1, x.cols());
      for (size_t g = 0; g < group_.size(); ++g) {
        net_.forward(permute_blocks(x, group_[g]), tapes[g]);
        *output += tapes[g].output;
      }
      *output /= Scalar(group_.size());
      return;
    }
    case Strategy::kCanonical: {
      // Sorting is a permutation of the block: the network sees one representative of every
      // S_N orbit. The parameter gradient needs no sort order.
      Matrix<Scalar> sorted = x;
      for (Eigen::Index s = 0; s < x.cols(); ++s) {
        std::sort(sorted.col(s).data(), sorted.col(s).data() + x.rows());
      }
      tapes.resize(1);
      net_.forward(sorted, tapes[0]);
      *output = tapes[0].output;
      return;
    }
    default:
      tapes.resize(1);
      net_.forward(x, tapes[0]);
      *output = tapes[0].output;
  }
}

template <typename Scalar>
void SymmetricModel<Scalar>::backward(std::vector<typename Network<Scalar>::Tape>& tapes,
                                      const Matrix<Scalar>& dy, Scalar* gradient) const {
  const Matrix<Scalar> share = dy / Scalar(tapes.size());
  for (auto& tape : tapes) net_.backward(tape, share, gradient);
}

template <typename Scalar>
Matrix<Scalar> SymmetricModel<Scalar>::predict(const Matrix<Scalar>& x) const {
  std::vector<typename Network<Scalar>::Tape> tapes;
  Matrix<Scalar> output;
  forward(x, tapes, &output);
  return output;
}

template <typename Scalar>
Matrix<Scalar> SymmetricModel<Scalar>::transformed(const Matrix<Scalar>& x,
                                                   const std::vector<uint64_t>& ids, uint64_t epoch,
                                                   uint32_t stream, bool full_group) const {
  const uint64_t seed = spec().seed;
  const field::PhiloxKey key = field::philox_key(seed);
  Matrix<Scalar> y(x.rows(), x.cols());
  for (Eigen::Index s = 0; s < x.cols(); ++s) {
    const uint64_t id = ids[static_cast<size_t>(s)];
    const auto w = field::philox4x32_10({static_cast<uint32_t>(id), static_cast<uint32_t>(id >> 32),
                                         static_cast<uint32_t>(epoch), stream},
                                        key);
    const uint64_t draw = (uint64_t{w[0]} << 32) | w[1];
    const Permutation g = full_group ? random_permutation(static_cast<int>(x.rows()), seed, draw)
                                     : group_[draw % group_.size()];
    permute_block(g, x.col(s).data(), y.col(s).data());
  }
  return y;
}

template <typename Scalar>
typename SymmetricModel<Scalar>::Loss SymmetricModel<Scalar>::loss_and_gradient(
    const Matrix<Scalar>& x, const Matrix<Scalar>& y, const std::vector<uint64_t>& sample_ids,
    uint64_t epoch, const SymmetryPenalty& penalty, double normaliser, Scalar* gradient) {
  const Strategy strategy = spec().strategy;
  if (penalty.active() && (strategy == Strategy::kAverage || strategy == Strategy::kCanonical)) {
    throw std::invalid_argument("symmetry penalties apply to strategies none, augment, regularize");
  }
  Matrix<Scalar> f;
  if (strategy == Strategy::kAugment) {
    forward(transformed(x, sample_ids, epoch, kAugmentStream, false), tapes_, &f);
  } else {
    forward(x, tapes_, &f);
  }
  Loss loss;
  const Scalar scale = Scalar(1.0 / normaliser);
  const Matrix<Scalar> residual = f - y;
  loss.mse = residual.squaredNorm() * (1.0 / normaliser);
  Matrix<Scalar> dy = (Scalar(2) * scale) * residual;

  // Each penalty term r = a f(x') + b f(x) adds lambda r^2 to the loss; its gradient flows back
  // through a second pass (on x') and through the base pass (on x).
  auto add_penalty = [&](double lambda, const Matrix<Scalar>& moved, Scalar a, Scalar b) {
    if (lambda <= 0) return;
    other_tapes_.resize(1);
    net_.forward(moved, other_tapes_[0]);
    const Matrix<Scalar> r = a * other_tapes_[0].output + b * f;
    loss.penalty += lambda * r.squaredNorm() / normaliser;
    const Matrix<Scalar> dr = (Scalar(2 * lambda) * scale) * r;
    net_.backward(other_tapes_[0], a * dr, gradient);
    dy += b * dr;
  };
  // Transformed inputs are built only for the active terms.
  const Scalar c = Scalar(penalty.scale_factor);
  if (penalty.permutation > 0) {
    add_penalty(penalty.permutation,
                transformed(x, sample_ids, epoch, kPermutationPenaltyStream, true), 1, -1);
  }
  if (penalty.point_group > 0) {
    add_penalty(penalty.point_group,
                transformed(x, sample_ids, epoch, kPointGroupPenaltyStream, false), 1, -1);
  }
  if (penalty.sign > 0) add_penalty(penalty.sign, -x, 1, 1);
  if (penalty.scale > 0) add_penalty(penalty.scale, c * x, Scalar(1) / c, -1);
  backward(tapes_, dy, gradient);
  return loss;
}

template class SymmetricModel<float>;
template class SymmetricModel<double>;

}  // namespace rgflow::nn
