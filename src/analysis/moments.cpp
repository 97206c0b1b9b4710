#include "rgflow/analysis/moments.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace rgflow::analysis {
namespace {

constexpr int kMaxOrder = CentralMoments::kMaxOrder;
constexpr std::size_t kTableSize = static_cast<std::size_t>(kMaxOrder) + 1;
using PowerTable = std::array<double, kTableSize>;  // entry p belongs to the p-th power

// C(n, k) for 0 <= k <= n <= 12 from Pascal's triangle: integer additions only, so every entry
// (at most C(12, 6) = 924) is exact in double.
using BinomialTable = std::array<std::array<double, kTableSize>, kTableSize>;
constexpr BinomialTable pascal_triangle() {
  BinomialTable table{};
  for (std::size_t n = 0; n < kTableSize; ++n) {
    table[n][0] = 1;
    for (std::size_t k = 1; k <= n; ++k) table[n][k] = table[n - 1][k - 1] + table[n - 1][k];
  }
  return table;
}
constexpr BinomialTable kBinomial = pascal_triangle();

double binomial(int n, int k) {
  return kBinomial[static_cast<std::size_t>(n)][static_cast<std::size_t>(k)];
}

// A single value is a partial result with M_{p,B} = 0 for every p.
constexpr PowerTable kNoSpread{};

// Values per chunk in add(values, n): 16 KiB of doubles, so the second pass reads from L1.
constexpr std::size_t kChunk = 2048;

}  // namespace

CentralMoments::CentralMoments(int max_order) : max_order_(max_order) {
  if (max_order < 2 || max_order > kMaxOrder) {
    throw std::invalid_argument("moment order " + std::to_string(max_order) +
                                " is not supported: it must be between 2 and " +
                                std::to_string(kMaxOrder));
  }
}

void CentralMoments::merge_state(double count_b, double mean_b, const double* sums_b) {
  if (count_b == 0) return;
  if (count_ == 0) {
    count_ = count_b;
    mean_ = mean_b;
    std::copy(sums_b + 2, sums_b + max_order_ + 1, sums_.begin() + 2);
    return;
  }
  const double count_a = count_;
  const double count = count_a + count_b;
  const double delta = mean_b - mean_;

  // delta^k, (-n_B/n)^k and (n_A/n)^k for k = 0..P, by repeated products so that the result does
  // not depend on how std::pow is implemented.
  PowerTable delta_power{}, weight_a_power{}, weight_b_power{};
  delta_power[0] = weight_a_power[0] = weight_b_power[0] = 1;
  for (std::size_t k = 1; k < kTableSize; ++k) {
    delta_power[k] = delta_power[k - 1] * delta;
    weight_a_power[k] = weight_a_power[k - 1] * (-count_b / count);
    weight_b_power[k] = weight_b_power[k - 1] * (count_a / count);
  }

  // Pebay (SAND2008-6212), in the order of SCIENCE.md section 3:
  //   M_p = M_p,A + M_p,B
  //       + sum_{k=1}^{p-2} C(p,k) delta^k [ (-n_B/n)^k M_{p-k,A} + (n_A/n)^k M_{p-k,B} ]
  //       + (n_A n_B delta / n)^p [ 1/n_B^(p-1) - (-1/n_A)^(p-1) ]
  // Every M_{q,.} on the right has q >= 2; all of them are read before any is overwritten.
  const double* sums_a = sums_.data();
  const double shift = count_a * count_b * delta / count;
  double shift_power = shift;           // (n_A n_B delta / n)^p
  double inverse_b_power = 1;           // 1 / n_B^(p-1)
  double negative_inverse_a_power = 1;  // (-1/n_A)^(p-1)
  PowerTable merged{};
  for (int p = 2; p <= max_order_; ++p) {
    const std::size_t pu = static_cast<std::size_t>(p);
    double value = sums_a[pu] + sums_b[pu];
    for (int k = 1; k <= p - 2; ++k) {
      const std::size_t ku = static_cast<std::size_t>(k), rest = pu - ku;
      value += binomial(p, k) * delta_power[ku] *
               (weight_a_power[ku] * sums_a[rest] + weight_b_power[ku] * sums_b[rest]);
    }
    shift_power *= shift;
    inverse_b_power /= count_b;
    negative_inverse_a_power /= -count_a;
    value += shift_power * (inverse_b_power - negative_inverse_a_power);
    merged[pu] = value;
  }
  sums_ = merged;
  mean_ += delta * count_b / count;
  count_ = count;
}

void CentralMoments::add(double x) {
  merge_state(1, x, kNoSpread.data());
}

template <typename T>
void CentralMoments::add_block(const T* values, std::size_t n) {
  const std::size_t order = static_cast<std::size_t>(max_order_);
  for (std::size_t begin = 0; begin < n; begin += kChunk) {
    const T* chunk = values + begin;
    const std::size_t length = std::min(kChunk, n - begin);
    const double count = static_cast<double>(length);

    // Pass 1: a pivot close to the chunk mean.
    double sum = 0;
    for (std::size_t i = 0; i < length; ++i) sum += static_cast<double>(chunk[i]);
    const double pivot = sum / count;

    // Pass 2: shifted[p] = sum (x - pivot)^p for p = 1..P; shifted[0] = count.
    PowerTable shifted{};
    shifted[0] = count;
    for (std::size_t i = 0; i < length; ++i) {
      const double deviation = static_cast<double>(chunk[i]) - pivot;
      double power = deviation;
      shifted[1] += deviation;
      for (std::size_t p = 2; p <= order; ++p) {
        power *= deviation;
        shifted[p] += power;
      }
    }

    // The pivot misses the mean by the rounding of pass 1, c = shifted[1] / count (the corrected
    // two-pass algorithm of Chan, Golub and LeVeque). Re-centre exactly by the binomial theorem:
    //   M_p = sum_{j=0}^{p} C(p,j) (-c)^j shifted[p-j]
    // (M_1 = 0 by construction). c is tiny, so the j >= 1 terms are small corrections.
    const double correction = shifted[1] / count;
    PowerTable central{};
    for (std::size_t p = 2; p <= order; ++p) {
      double value = 0, correction_power = 1;
      for (std::size_t j = 0; j <= p; ++j) {
        value += kBinomial[p][j] * correction_power * shifted[p - j];
        correction_power *= -correction;
      }
      central[p] = value;
    }
    merge_state(count, pivot + correction, central.data());
  }
}

void CentralMoments::add(const double* values, std::size_t n) {
  add_block(values, n);
}
void CentralMoments::add(const float* values, std::size_t n) {
  add_block(values, n);
}

void CentralMoments::merge(const CentralMoments& other) {
  if (other.max_order_ != max_order_) {
    throw std::invalid_argument("cannot merge central moments up to order " +
                                std::to_string(other.max_order_) + " into moments up to order " +
                                std::to_string(max_order_));
  }
  merge_state(other.count_, other.mean_, other.sums_.data());
}

double CentralMoments::central_sum(int p) const {
  if (p < 1 || p > max_order_) {
    throw std::out_of_range("central sum M_" + std::to_string(p) + " requested; orders 1.." +
                            std::to_string(max_order_) + " are kept");
  }
  return sums_[static_cast<std::size_t>(p)];
}

double CentralMoments::central_moment(int p) const {
  const double sum = central_sum(p);
  if (count_ == 0) throw std::domain_error("central moment of an empty set of values");
  return sum / count_;
}

std::vector<double> CentralMoments::cumulants() const {
  if (count_ == 0) throw std::domain_error("cumulants of an empty set of values");
  PowerTable mu{};  // mu[1] = 0
  for (int p = 2; p <= max_order_; ++p) {
    mu[static_cast<std::size_t>(p)] = sums_[static_cast<std::size_t>(p)] / count_;
  }
  // kappa[n] for n = 2..P; kappa_1 does not enter the recursion for central moments.
  PowerTable kappa{};
  for (int n = 2; n <= max_order_; ++n) {
    double value = mu[static_cast<std::size_t>(n)];
    for (int m = 2; m <= n - 2; ++m) {
      value -= binomial(n - 1, m - 1) * kappa[static_cast<std::size_t>(m)] *
               mu[static_cast<std::size_t>(n - m)];
    }
    kappa[static_cast<std::size_t>(n)] = value;
  }
  kappa[1] = mean_;
  return std::vector<double>(kappa.begin() + 1, kappa.begin() + max_order_ + 1);
}

std::vector<double> CentralMoments::to_buffer() const {
  std::vector<double> buffer{count_, mean_};
  buffer.insert(buffer.end(), sums_.begin() + 2, sums_.begin() + max_order_ + 1);
  return buffer;
}

CentralMoments CentralMoments::from_buffer(const std::vector<double>& buffer) {
  if (buffer.size() < 3 || buffer.size() > kTableSize) {
    throw std::invalid_argument("moment buffer has " + std::to_string(buffer.size()) +
                                " entries; (count, mean, M_2..M_P) needs 3.." +
                                std::to_string(kTableSize));
  }
  if (!std::isfinite(buffer[0]) || buffer[0] < 0) {
    throw std::invalid_argument("moment buffer has count " + std::to_string(buffer[0]) +
                                "; it must be finite and non-negative");
  }
  CentralMoments result(static_cast<int>(buffer.size()) - 1);
  result.count_ = buffer[0];
  result.mean_ = buffer[1];
  std::copy(buffer.begin() + 2, buffer.end(), result.sums_.begin() + 2);
  return result;
}

std::array<double, 4> k_statistics(const CentralMoments& moments) {
  const double n = moments.count();
  if (moments.max_order() < 4 || n < 4) {
    throw std::invalid_argument(
        "k-statistics k_1..k_4 need moments up to order 4 of at least 4 "
        "values; got order " +
        std::to_string(moments.max_order()) + " and " + std::to_string(n) + " values");
  }
  const double sum2 = moments.central_sum(2), sum3 = moments.central_sum(3),
               sum4 = moments.central_sum(4);
  const double k2 = sum2 / (n - 1);
  const double k3 = n * sum3 / ((n - 1) * (n - 2));
  const double k4 =
      (n * (n + 1) * sum4 - 3 * (n - 1) * sum2 * sum2) / ((n - 1) * (n - 2) * (n - 3));
  return {moments.mean(), k2, k3, k4};
}

}  // namespace rgflow::analysis
