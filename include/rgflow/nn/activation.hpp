// Element-wise activations phi with their derivatives, applied to whole batches.
#pragma once

#include <Eigen/Core>

#include <optional>
#include <string>
#include <vector>

namespace rgflow::nn {

enum class Activation {
  kIdentity,
  kRelu,
  kTanh,
  kSigmoid,
  kGelu,  // z Phi(z) with the normal CDF Phi (the exact form, not the tanh approximation)
  kSilu,  // z sigmoid(z)
  kSoftplus,
  kQuadratic,  // z^2
  kCubic,      // z^3
};

const std::vector<std::string>& activation_names();
std::optional<Activation> parse_activation(const std::string& name);
std::string activation_name(Activation activation);

/// z[i] <- phi(z[i]) in place and derivative[i] <- phi'(z[i]) for i < count, the derivative kept
/// for the backward pass; derivative = nullptr computes the values only (inference).
template <typename Scalar>
void apply_activation(Activation activation, Scalar* z, Scalar* derivative, Eigen::Index count);

/// values[i] <- tanh(values[i]) in vector lanes, to a few ulp (Eigen's double tanh is scalar).
void tanh_in_place(double* values, Eigen::Index count);

/// phi(z) for one value (reference for tests and for cumulant propagation).
double activation_value(Activation activation, double z);

}  // namespace rgflow::nn
