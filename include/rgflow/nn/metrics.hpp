// Symmetry metrics of SCIENCE.md section 5, as functions of a network and a batch of blocks
// x (inputs() x B). Computed in double whatever the network's scalar type.
#pragma once

#include <cstdint>
#include <vector>

#include "rgflow/nn/network.hpp"

namespace rgflow::nn {

struct OutputSymmetryErrors {
  double permutation = 0;  // E_x E_g [f(g.x) - f(x)]^2 / Var_x f, g uniform on S_N (sampled)
  double point_group = 0;  // the same over the whole point group
  double sign = 0;         // E_x [f(-x) + f(x)]^2 / Var_x f
  double scale = 0;        // E_x [f(c x) - c f(x)]^2 / (c^2 Var_x f)
};

/// `permutation_samples` permutations random_permutation(N, seed, k), k < samples. Var_x f is the
/// batch variance of f (divided by B); errors are 0 when it is 0 and f is exactly symmetric.
template <typename Scalar>
OutputSymmetryErrors output_symmetry_errors(const Network<Scalar>& net, const Matrix<Scalar>& x,
                                            int permutation_samples, uint64_t seed,
                                            double scale_factor = 2.0);

/// Per hidden layer, the invariant fraction E|hbar - E hbar|^2 / E|h - E h|^2 of its features h
/// under `group`, with hbar(x) = mean_g h(g.x) (1: fully invariant). For a graph network h is a
/// graph layer's node features summed over the nodes (the features its readout sees).
template <typename Scalar>
std::vector<double> invariant_fraction(const Network<Scalar>& net, const Matrix<Scalar>& x,
                                       const std::vector<Permutation>& group);

/// Graph networks: per graph layer, E|h(g.x) - g.h(x)|^2 / E|h(x)|^2 averaged over `group`,
/// where g moves node i's features to node g[i]. std::invalid_argument for an MLP.
template <typename Scalar>
std::vector<double> equivariance_error(const Network<Scalar>& net, const Matrix<Scalar>& x,
                                       const std::vector<Permutation>& group);

/// Per hidden layer, the order parameter D = mean_{a<b} |u_a - u_b|^2 / mean_a |u_a|^2 of the
/// units' vectors u_a = (incoming weights (self and neighbour for a graph layer), bias, outgoing
/// weights); 0 when all units are identical (and for one unit, or all-zero units).
template <typename Scalar>
std::vector<double> unit_order_parameter(const Network<Scalar>& net);

}  // namespace rgflow::nn
