// Shared helpers of the network tests.
#pragma once

#include <random>

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

}  // namespace rgflow::nn::testing
