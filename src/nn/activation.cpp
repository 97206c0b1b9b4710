#include "rgflow/nn/activation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <type_traits>

#include "rgflow/core/text.hpp"

namespace rgflow::nn {
namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

// Chebyshev coefficients of g(s) = log(erfc(a) / t) + a^2, t = 2 / (2 + a), s = 2 t - 1, on
// s in [-1, 1] (a >= 0), made by scripts/fit_erfc.py; the last ones (below 1e-18) bound the
// truncation error.
constexpr std::array<double, 32> kErfcSeries = {
    -6.5132685989085472e-1,  6.4196979235649026e-1,   1.9476473204185836e-2,
    -9.5615147868086316e-3,  -9.4659534448203687e-4,  3.6683949785276145e-4,
    4.2523324806907772e-5,   -2.0278578112534243e-5,  -1.6242900046470255e-6,
    1.3036558355805232e-6,   1.5626441722066143e-8,   -8.5238095914926543e-8,
    6.5290544390988515e-9,   5.0593434955514689e-9,   -9.9136415649303309e-10,
    -2.2736512229318359e-10, 9.6467911020155268e-11,  2.3940380830391161e-12,
    -6.8860275264975625e-12, 8.9448792730909358e-13,  3.1309213993430451e-13,
    -1.1270822361390626e-13, 3.8109052630053813e-16,  7.1060976130216392e-15,
    -1.5230282071072871e-15, -9.4574919071624072e-17, 1.2102368019873181e-16,
    -2.8166766913289696e-17, 5.090847402413455e-20,   2.3264657131527982e-18,
    -8.4799740188425473e-19, 1.0169172227166757e-19};

// Elementwise work on double values in vector lanes, in chunks small enough for two or three
// work buffers to stay in L1: fn(x, length) for consecutive pieces of `values`.
constexpr Eigen::Index kChunk = 256;
using ChunkArray = Eigen::Array<double, kChunk, 1>;

template <typename Fn>
void for_each_chunk(double* values, Eigen::Index count, Fn&& fn) {
  for (Eigen::Index start = 0; start < count; start += kChunk) {
    Eigen::Map<Eigen::ArrayXd> x(values + start, std::min(kChunk, count - start));
    fn(x, start);
  }
}

// cdf[i] <- Phi(x[i]), the normal CDF, for i < x.size() <= kChunk: Phi(-|x|) = erfc(|x| / sqrt 2)
// / 2 from the series above with one vectorised exp, and Phi(|x|) = 1 - Phi(-|x|). The lower
// tail keeps its relative accuracy (about 1e-14 at |x| = 10: the rounding of x^2 in the
// exponent), where 1 + erf(x / sqrt 2) loses it to cancellation.
void normal_cdf(const Eigen::Map<Eigen::ArrayXd>& x, ChunkArray& cdf) {
  const Eigen::Index length = x.size();
  ChunkArray t_buffer, s_buffer, g_buffer;
  auto t = t_buffer.head(length);
  t = 2.0 / (2.0 + x.abs() * kInvSqrt2);
  s_buffer.head(length) = 2.0 * t - 1.0;
  // Clenshaw's recurrence b_k = c_k + 2 s b_{k+1} - b_{k+2}, g = c_0 + s b_1 - b_2, for 8 values
  // at a time kept in registers (a pass over the chunk per coefficient was bound by its stores).
  constexpr Eigen::Index kLanes = 64;
  const Eigen::Index padded = (length + kLanes - 1) / kLanes * kLanes;  // kChunk is a multiple
  s_buffer.segment(length, padded - length).setZero();
  using Lanes = Eigen::Array<double, kLanes, 1>;
  for (Eigen::Index i = 0; i < padded; i += kLanes) {
    const Eigen::Map<const Lanes> s_lanes(s_buffer.data() + i);
    Lanes b1 = Lanes::Zero(), b2 = Lanes::Zero();
    for (size_t k = kErfcSeries.size() - 1; k >= 1; --k) {
      const Lanes b0 = kErfcSeries[k] + 2.0 * s_lanes * b1 - b2;
      b2 = b1;
      b1 = b0;
    }
    g_buffer.segment<kLanes>(i) = kErfcSeries[0] + s_lanes * b1 - b2;
  }
  auto tail = cdf.head(length);
  tail = 0.5 * t * (g_buffer.head(length) - 0.5 * x.square()).exp();
  tail = (x >= 0.0).select(1.0 - tail, tail);
}

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
  // 1 in double. Each exp evaluated once, nothing allocated per call.
  ChunkArray magnitude, large;
  for_each_chunk(values, count, [&](Eigen::Map<Eigen::ArrayXd>& x, Eigen::Index) {
    const Eigen::Index length = x.size();
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
  });
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

// gelu, silu and softplus in double, in vector lanes (libm's scalar erf, exp and log1p at every
// value were most of the Gauss closure's time, and of analysing these networks). derivative =
// nullptr: values only.
void gelu_in_place(double* z, double* derivative, Eigen::Index count) {
  ChunkArray cdf;
  for_each_chunk(z, count, [&](Eigen::Map<Eigen::ArrayXd>& x, Eigen::Index start) {
    const Eigen::Index length = x.size();
    normal_cdf(x, cdf);
    if (derivative != nullptr) {
      Eigen::Map<Eigen::ArrayXd> d(derivative + start, length);
      d = cdf.head(length) + x * kInvSqrt2Pi * (-0.5 * x.square()).exp();
    }
    x *= cdf.head(length);
  });
}

void silu_in_place(double* z, double* derivative, Eigen::Index count) {
  ChunkArray logistic;
  for_each_chunk(z, count, [&](Eigen::Map<Eigen::ArrayXd>& x, Eigen::Index start) {
    const Eigen::Index length = x.size();
    auto s = logistic.head(length);
    s = 1.0 / (1.0 + (-x).exp());
    if (derivative != nullptr) {
      Eigen::Map<Eigen::ArrayXd> d(derivative + start, length);
      d = s + x * s * (1.0 - s);
    }
    x *= s;
  });
}

void softplus_in_place(double* z, double* derivative, Eigen::Index count) {
  // max(x, 0) + log1p(u) with u = e^{-|x|} in (0, 1]; log1p(u) = log(v) u / (v - 1), v = 1 + u,
  // keeps log1p's accuracy with the vectorised log (u itself where v rounds to 1).
  // The logarithm goes to its own buffer first: inside a select (no blend on AVX-512 in Eigen
  // 3.4) it would be evaluated one scalar at a time.
  ChunkArray small, one_plus, logarithm;
  for_each_chunk(z, count, [&](Eigen::Map<Eigen::ArrayXd>& x, Eigen::Index start) {
    const Eigen::Index length = x.size();
    auto u = small.head(length);
    auto v = one_plus.head(length);
    auto log_v = logarithm.head(length);
    u = (-x.abs()).exp();
    v = 1.0 + u;
    log_v = v.log();
    if (derivative != nullptr) {
      Eigen::Map<Eigen::ArrayXd> d(derivative + start, length);
      d = (x >= 0.0).select(1.0 / v, u / v);
    }
    x = x.max(0.0) + (v == 1.0).select(u, log_v * u / (v - 1.0));
  });
}

// kernel(values, derivative, count) of a double kernel above, on Scalar values: float goes
// through double in chunks and is rounded once at the end (more accurate than libm's float erf
// and no slower than its scalar calls).
template <typename Scalar, typename Kernel>
void in_double(Scalar* z, Scalar* derivative, Eigen::Index count, Kernel kernel) {
  if constexpr (std::is_same_v<Scalar, double>) {
    kernel(z, derivative, count);
  } else {
    ChunkArray values, slopes;
    for (Eigen::Index start = 0; start < count; start += kChunk) {
      const Eigen::Index length = std::min(kChunk, count - start);
      Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> x(z + start, length);
      values.head(length) = x.template cast<double>();
      kernel(values.data(), derivative != nullptr ? slopes.data() : nullptr, length);
      x = values.head(length).template cast<Scalar>();
      if (derivative != nullptr) {
        Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>(derivative + start, length) =
            slopes.head(length).template cast<Scalar>();
      }
    }
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
  const Scalar one(1);
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
      return in_double(z_data, derivative_data, count, gelu_in_place);
    case Activation::kSilu:
      return in_double(z_data, derivative_data, count, silu_in_place);
    case Activation::kSoftplus:
      return in_double(z_data, derivative_data, count, softplus_in_place);
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
