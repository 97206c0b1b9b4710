// Symmetry metrics of docs/science.md section 5 as pure functions of a network and a batch of
// blocks. Shapes: x is inputs() x B (one block per column, sites in BlockShape order, B >= 1); a
// group is a list of Permutations of the inputs() sites, acting as in permute_block. Everything is
// computed in double whatever the network's scalar type, and expectations over x are batch means.
// No communication: on several ranks, call on each rank's batch (the ratios do not merge).
// Batches or groups of the wrong shape throw std::invalid_argument.
#pragma once

#include <cstdint>
#include <vector>

#include "rgflow/nn/network.hpp"

namespace rgflow::nn {

struct OutputSymmetryErrors {
  double permutation = 0;  // E_x E_g [f(g.x) - f(x)]^2 / Var_x f, g uniform on S_N (sampled)
  double point_group = 0;  // the same, g over the whole point group of the block
  double sign = 0;         // E_x [f(-x) + f(x)]^2 / Var_x f
  double scale = 0;        // E_x [f(c x) - c f(x)]^2 / (c^2 Var_x f)
};

/// The output errors of f = net on x. S_N is sampled by the `permutation_samples` permutations
/// random_permutation(inputs(), seed, k), k < permutation_samples (permutation = 0 if none);
/// c = scale_factor. Var_x f is the population variance of f over the batch. A zero residual
/// gives 0 even when Var_x f = 0; a non-zero residual over Var_x f = 0 gives infinity.
template <typename Scalar>
OutputSymmetryErrors output_symmetry_errors(const Network<Scalar>& net, const Matrix<Scalar>& x,
                                            int permutation_samples, uint64_t seed,
                                            double scale_factor = 2.0);

/// Per hidden layer, the invariant fraction E|hbar - E hbar|^2 / E|h - E h|^2 of its features h
/// under `group`, with hbar(x) = mean_g h(g.x); 1 means fully invariant features (also reported
/// for features constant over the batch). MLP: h is the hidden layer's output (width x B); graph
/// network: h is a graph layer's stacked node features, one vector of N width entries per block
/// (node-major), so for an equivariant network hbar is h averaged over each node orbit and the
/// fraction is the share of the features' variance that does not depend on the node.
template <typename Scalar>
std::vector<double> invariant_fraction(const Network<Scalar>& net, const Matrix<Scalar>& x,
                                       const std::vector<Permutation>& group);

/// Graph networks only (std::invalid_argument for an MLP): per graph layer l, the mean over g in
/// `group` of E|h_l(g.x) - g.h_l(x)|^2 / E|h_l(x)|^2, where g moves node i's feature column to
/// node g[i]. 0 for every automorphism of the block's graph.
template <typename Scalar>
std::vector<double> equivariance_error(const Network<Scalar>& net, const Matrix<Scalar>& x,
                                       const std::vector<Permutation>& group);

/// Per hidden layer, D = mean_{a<b} |u_a - u_b|^2 / mean_a |u_a|^2 over the layer's units, with
/// u_a = (row a of weight(l), row a of neighbour_weight(l) for a graph layer, bias(l)_a, column a
/// of weight(l + 1), column a of neighbour_weight(l + 1) when layer l + 1 is a graph layer): the
/// weights into the unit and every weight its output feeds. 0 is the symmetric state (all units
/// identical); also 0 for a layer of one unit or of all-zero units.
template <typename Scalar>
std::vector<double> unit_order_parameter(const Network<Scalar>& net);

}  // namespace rgflow::nn
