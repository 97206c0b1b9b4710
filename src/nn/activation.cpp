#include "rgflow/nn/activation.hpp"

#include <cmath>

namespace rgflow::nn {
namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

}  // namespace

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names{
      "identity", "relu", "tanh", "sigmoid", "gelu", "silu", "softplus", "quadratic", "cubic"};
  return names;
}

std::optional<Activation> parse_activation(const std::string& name) {
  const auto& names = activation_names();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<Activation>(i);
  }
  return std::nullopt;
}

std::string activation_name(Activation activation) {
  return activation_names()[static_cast<size_t>(activation)];
}

double activation_value(Activation activation, double z) {
  switch (activation) {
    case Activation::kIdentity:
      return z;
    case Activation::kRelu:
      return z > 0 ? z : 0;
    case Activation::kTanh:
      return std::tanh(z);
    case Activation::kSigmoid:
      return 1 / (1 + std::exp(-z));
    case Activation::kGelu:
      return z * 0.5 * (1 + std::erf(z * kInvSqrt2));
    case Activation::kSilu:
      return z / (1 + std::exp(-z));
    case Activation::kSoftplus:
      return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)));
    case Activation::kQuadratic:
      return z * z;
    case Activation::kCubic:
      return z * z * z;
  }
  return z;
}

template <typename Scalar>
void apply_activation(Activation activation, Scalar* z_data, Scalar* derivative_data,
                      Eigen::Index count) {
  using Array = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  Eigen::Map<Array> h(z_data, count);
  // Without a derivative buffer (inference) the map is empty and never written.
  const bool keep = derivative_data != nullptr;
  Eigen::Map<Array> d(derivative_data, keep ? count : 0);
  Scalar* z = z_data;
  Scalar* derivative = derivative_data;
  const Scalar one(1), half(0.5);
  switch (activation) {
    case Activation::kIdentity:
      if (keep) d.setConstant(one);
      return;
    case Activation::kRelu:
      if (keep) d = (h > Scalar(0)).template cast<Scalar>();
      h = h.max(Scalar(0));
      return;
    case Activation::kTanh:
      h = h.tanh();
      if (keep) d = one - h.square();
      return;
    case Activation::kSigmoid:
      h = one / (one + (-h).exp());
      if (keep) d = h * (one - h);
      return;
    case Activation::kGelu:
      for (Eigen::Index i = 0; i < count; ++i) {
        const Scalar x = z[i];
        const Scalar cdf = half * (one + std::erf(x * Scalar(kInvSqrt2)));
        if (keep) derivative[i] = cdf + x * Scalar(kInvSqrt2Pi) * std::exp(-half * x * x);
        z[i] = x * cdf;
      }
      return;
    case Activation::kSilu: {
      // d/dz z s(z) = s + z s (1 - s), with s the sigmoid.
      for (Eigen::Index i = 0; i < count; ++i) {
        const Scalar x = z[i];
        const Scalar s = one / (one + std::exp(-x));
        if (keep) derivative[i] = s + x * s * (one - s);
        z[i] = x * s;
      }
      return;
    }
    case Activation::kSoftplus:
      for (Eigen::Index i = 0; i < count; ++i) {
        const Scalar x = z[i];
        if (keep) derivative[i] = one / (one + std::exp(-x));
        z[i] = std::max(x, Scalar(0)) + std::log1p(std::exp(-std::abs(x)));
      }
      return;
    case Activation::kQuadratic:
      if (keep) d = Scalar(2) * h;
      h = h.square();
      return;
    case Activation::kCubic:
      if (keep) d = Scalar(3) * h.square();
      h = h.cube();
      return;
  }
}

template void apply_activation<float>(Activation, float*, float*, Eigen::Index);
template void apply_activation<double>(Activation, double*, double*, Eigen::Index);

}  // namespace rgflow::nn
