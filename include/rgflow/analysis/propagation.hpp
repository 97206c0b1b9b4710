// Cumulant propagation through a network (SCIENCE.md section 4): the joint cumulants, up to
// order 4, of every layer's units when the block's sites are i.i.d., predicted layer by layer,
// and the same cumulants estimated from the network's own activations (Monte Carlo).
//
// A network (MLP or graph network) is first written as a chain of affine maps on flat vectors,
// each but the last followed by the element-wise activation; a graph layer acts on the stacked
// node features (node-major: index node * width + feature) with the matrix
// I kron W_self + A kron W_nbr, and pooling with the readout is one more affine map.
//
// Modes:
// - exact (identity, quadratic, cubic): every unit is an explicit polynomial of the N block
//   inputs, and its joint moments follow from the inputs' raw moments (independence), with no
//   truncation at any order;
// - taylor: phi expanded about each unit's mean to a chosen order; moments of the deviations from
//   their cumulants up to order 4 (higher ones taken as zero);
// - gauss: the units of a layer taken as jointly Gaussian (their means and covariance), moments of
//   phi by Gauss-Hermite quadrature over up to four correlated units.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rgflow/field/distribution.hpp"
#include "rgflow/nn/network.hpp"

namespace rgflow::analysis {

/// One affine map y = W x + b of the chain; `activate`: phi is applied to y.
struct AffineLayer {
  nn::Matrix<double> weight;
  nn::Vector<double> bias;
  bool activate = false;
};

struct AffineChain {
  std::vector<AffineLayer> layers;
  nn::Activation activation = nn::Activation::kIdentity;

  int inputs() const { return static_cast<int>(layers.front().weight.cols()); }
  /// Outputs of every layer for one input (after the activation where there is one).
  std::vector<nn::Vector<double>> forward(const nn::Vector<double>& x) const;
};

/// The network as a chain of affine maps (same outputs, up to rounding).
AffineChain affine_chain(const nn::Network<double>& network);

/// The units of a layer in the node-major order of the chain, from a forward pass's activations:
/// column s of the result is block s. `layer` counts hidden layers from 0; the output is
/// layer_count() - 1.
nn::Matrix<double> chain_activations(const nn::Network<double>& network,
                                     const nn::Network<double>::Tape& tape, int layer);

/// Joint cumulants of the W units of a layer up to order 4, as full symmetric tensors
/// (order n: W^n entries, index ((a * W + b) * W + c) ...). Orders not computed are empty.
struct JointCumulants {
  int width = 0;
  std::vector<std::vector<double>> kappa;  // kappa[n - 1], n = 1..4
};

/// The sorted index tuples a1 <= ... <= an of every order n = 1..4 of `width` units, in the order
/// used by tuple sums (order by order, lexicographic).
std::vector<std::vector<int>> sorted_tuples(int width, int max_order);

/// Monte Carlo side: adds, for every sorted tuple, the sum over the columns of `centered` of the
/// product of its entries (`sums` has one slot per tuple of sorted_tuples(rows, max_order)).
void add_tuple_sums(const nn::Matrix<double>& centered, int max_order, std::vector<double>& sums);

/// Joint cumulants from tuple sums of `count` samples taken about a centre c (the sample mean
/// need not be c): cumulants of the samples, plain (not bias-corrected) estimators.
JointCumulants cumulants_from_tuple_sums(const std::vector<double>& sums, double count,
                                         const std::vector<double>& centre, int max_order);

enum class PropagationMode { kExact, kTaylor, kGauss };
std::string propagation_mode_name(PropagationMode mode);

struct PropagationSettings {
  PropagationMode mode = PropagationMode::kGauss;
  int taylor_order = 2;       // 1..3
  int quadrature_points = 8;  // Gauss-Hermite points per dimension, 2..20
  int max_order = 4;          // joint cumulants up to this order (1..4)
};

/// The sites' raw moments and the moment-cumulant conversion live beside the distributions
/// (field/distribution.hpp); these names let the propagation's callers and tests use them as
/// before.
using field::raw_moments_from_cumulants;
using field::site_raw_moments;

/// The predicted joint cumulants of every layer of the chain (hidden layers after their
/// activation, then the output) when its inputs are i.i.d. with raw moments `site_moments`
/// (E[x^k], k = 0..; exact mode needs as many as the polynomial degree requires, the closures
/// four). UsageError naming the reason when the mode does not apply (exact with a non-polynomial
/// activation, a degree beyond the moments given, more than 9 inputs).
std::vector<JointCumulants> propagate(const AffineChain& chain,
                                      const std::vector<double>& site_moments,
                                      const PropagationSettings& settings);

/// The highest raw moment of a site that exact propagation through `chain` up to `max_order`
/// needs (the degree of the output's max_order-th power), or -1 if the activation is not a
/// polynomial.
int exact_moments_needed(const AffineChain& chain, int max_order);

/// Relative difference ||a - b|| / ||b|| (Euclidean, over every entry) of one order's tensors.
double relative_difference(const std::vector<double>& a, const std::vector<double>& b);

/// For a linear chain: the effective weights w of y = w.x + c, and sum_i w_i^n for n = 1..orders.
std::vector<double> linear_weight_power_sums(const AffineChain& chain, int orders);

}  // namespace rgflow::analysis
