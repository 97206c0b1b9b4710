// Shared helpers of the network tests.
#pragma once

#include <random>
#include <utility>
#include <vector>

#include "rgflow/nn/network.hpp"

namespace rgflow::nn::testing {

/// A rows x cols matrix of standard normal values from `seed`.
inline Matrix<double> random_matrix(Eigen::Index rows, Eigen::Index cols, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::normal_distribution<double> normal;
  Matrix<double> m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = normal(random);
  return m;
}

/// A network on 2 x 2 blocks (initialised from `seed`) whose parameters, biases too, are then
/// replaced by `scale` times standard normal values from `parameter_seed`, so no entry is special.
inline Network<double> random_network(ModelKind kind, std::vector<int> hidden,
                                      Activation activation, uint64_t seed, double scale,
                                      uint64_t parameter_seed) {
  ModelSpec spec;
  spec.kind = kind;
  spec.block = {2, 2};
  spec.hidden = std::move(hidden);
  spec.activation = activation;
  spec.seed = seed;
  Network<double> net(spec);
  const Matrix<double> theta = random_matrix(net.parameter_count(), 1, parameter_seed);
  for (Eigen::Index i = 0; i < net.parameter_count(); ++i) net.parameters()[i] = scale * theta(i);
  return net;
}

}  // namespace rgflow::nn::testing
