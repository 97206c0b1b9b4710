#include "rgflow/nn/activation.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "rgflow/core/text.hpp"

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
  return parse_name<Activation>(activation_names(), name);
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

void tanh_in_place(double* values, Eigen::Index count) {
  // The series to x^15 below |x| = 1/8 (truncation below 1e-18 relative), 1 - 2 / (e^{2|x|} + 1)
  // with the vectorised exp above it (relative error a few ulp), |x| clamped at 20 where tanh is
  // 1 in double. In chunks through two small buffers: each exp evaluated once, nothing
  // allocated per call.
  constexpr Eigen::Index kChunk = 256;
  Eigen::Array<double, kChunk, 1> magnitude, large;
  for (Eigen::Index start = 0; start < count; start += kChunk) {
    const Eigen::Index length = std::min(kChunk, count - start);
    Eigen::Map<Eigen::ArrayXd> x(values + start, length);
    auto a = magnitude.head(length);
    auto e = large.head(length);
    a = x.abs().min(20.0);
    e = 1.0 - 2.0 / ((2.0 * a).exp() + 1.0);
    e = (x < 0).select(-e, e);
    const auto s = x.square();
    const auto series =
        x * (1.0 + s * (-1.0 / 3 +
                        s * (2.0 / 15 +
                             s * (-17.0 / 315 +
                                  s * (62.0 / 2835 + s * (-1382.0 / 155925 +
                                                          s * (21844.0 / 6081075 +
                                                               s * (-929569.0 / 638512875))))))));
    x = (a < 0.125).select(series, e);
  }
}

namespace {

// Eigen's tanh is vectorised for float; for double it is scalar std::tanh.
template <typename Scalar>
void tanh_values(Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>& h) {
  if constexpr (std::is_same_v<Scalar, double>) {
    tanh_in_place(h.data(), h.size());
  } else {
    h = h.tanh();
  }
}

}  // namespace

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
      tanh_values(h);
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
