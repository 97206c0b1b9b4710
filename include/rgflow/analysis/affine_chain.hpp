// A network (MLP or graph network) written as a chain of affine maps on flat vectors, each but
// the last followed by the element-wise activation, and the exact propagation of joint cumulant
// tensors through one affine map (docs/science.md section 4). A graph layer acts on the stacked
// node features (node-major: index node * width + feature) with the matrix I kron W_self + A kron
// W_nbr, and pooling with the readout is one more affine map.
#pragma once

#include <vector>

#include "rgflow/analysis/cumulant_tensor.hpp"
#include "rgflow/nn/network.hpp"

namespace rgflow::analysis {

/// One affine map y = W x + b of the chain; `activate`: phi is applied to y. `symmetries`:
/// permutations of y's units (image[a] is where unit a goes) under which the joint law of y is
/// invariant whenever the network's inputs are i.i.d.: for a graph layer the block's point-group
/// elements that preserve its graph, acting on the node of each unit (the identity left out);
/// empty where none is known (MLP layers, the readout).
struct AffineLayer {
  nn::Matrix<double> weight;
  nn::Vector<double> bias;
  bool activate = false;
  std::vector<std::vector<int>> symmetries;
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

/// kappa_n(W x + b) from kappa_n(x) for every order present in `in` (full tensors; empty orders
/// stay empty), by applying W along one tensor axis at a time; the bias shifts kappa_1 only.
JointCumulants affine_cumulants(const JointCumulants& in, const AffineLayer& layer);

/// For a linear chain: the effective weights w of y = w.x + c, and sum_i w_i^n for n = 1..orders.
std::vector<double> linear_weight_power_sums(const AffineChain& chain, int orders);

}  // namespace rgflow::analysis
