#include "rgflow/analysis/moments.hpp"

#include <cmath>
#include <stdexcept>

namespace rgflow::analysis {
namespace {

constexpr int kMaxSupportedOrder = 12;

double binomial(int n, int k) {
  double result = 1;
  for (int i = 1; i <= k; ++i) result = result * (n - k + i) / i;  // exact for n <= 12
  return std::round(result);
}

}  // namespace

CentralMoments::CentralMoments(int max_order)
    : max_order_(max_order), sums_(static_cast<size_t>(max_order) + 1, 0.0) {
  if (max_order < 2 || max_order > kMaxSupportedOrder) {
    throw std::invalid_argument("moment order must be between 2 and 12");
  }
}

void CentralMoments::add(double x) {
  CentralMoments single(max_order_);
  single.count_ = 1;
  single.mean_ = x;
  merge(single);
}

template <typename T>
void CentralMoments::add_block(const T* values, std::size_t n) {
  if (n == 0) return;
  CentralMoments block(max_order_);
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += values[i];
  block.count_ = static_cast<double>(n);
  block.mean_ = sum / block.count_;
  // Central sums with one running power per value.
  std::vector<double>& sums = block.sums_;
  for (std::size_t i = 0; i < n; ++i) {
    const double deviation = values[i] - block.mean_;
    double power = deviation;
    for (int p = 2; p <= max_order_; ++p) {
      power *= deviation;
      sums[static_cast<size_t>(p)] += power;
    }
  }
  merge(block);
}

void CentralMoments::add(const double* values, std::size_t n) {
  add_block(values, n);
}
void CentralMoments::add(const float* values, std::size_t n) {
  add_block(values, n);
}

void CentralMoments::merge(const CentralMoments& other) {
  if (other.max_order_ != max_order_) {
    throw std::invalid_argument("cannot merge moments of different orders");
  }
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  const double na = count_, nb = other.count_, n = na + nb;
  const double delta = other.mean_ - mean_;
  const std::vector<double>& a = sums_;
  const std::vector<double>& b = other.sums_;
  std::vector<double> merged(a.size(), 0.0);
  // M_p = M_p,A + M_p,B
  //     + sum_{k=1}^{p-2} C(p,k) delta^k [(-n_B/n)^k M_{p-k,A} + (n_A/n)^k M_{p-k,B}]
  //     + (n_A n_B delta / n)^p [1/n_B^(p-1) - (-1/n_A)^(p-1)]
  for (int p = 2; p <= max_order_; ++p) {
    double value = a[static_cast<size_t>(p)] + b[static_cast<size_t>(p)];
    for (int k = 1; k <= p - 2; ++k) {
      const size_t rest = static_cast<size_t>(p - k);
      value += binomial(p, k) * std::pow(delta, k) *
               (std::pow(-nb / n, k) * a[rest] + std::pow(na / n, k) * b[rest]);
    }
    value +=
        std::pow(na * nb * delta / n, p) * (1.0 / std::pow(nb, p - 1) - std::pow(-1.0 / na, p - 1));
    merged[static_cast<size_t>(p)] = value;
  }
  sums_ = std::move(merged);
  mean_ += delta * nb / n;
  count_ = n;
}

double CentralMoments::central_sum(int p) const {
  if (p < 2 || p > max_order_) throw std::invalid_argument("central sum order out of range");
  return sums_[static_cast<size_t>(p)];
}

double CentralMoments::central_moment(int p) const {
  return central_sum(p) / count_;
}

std::vector<double> CentralMoments::cumulants() const {
  std::vector<double> mu(static_cast<size_t>(max_order_) + 1, 0.0);
  for (int p = 2; p <= max_order_; ++p) mu[static_cast<size_t>(p)] = central_moment(p);
  std::vector<double> kappa(static_cast<size_t>(max_order_) + 1, 0.0);
  kappa[1] = mean_;
  for (int n = 2; n <= max_order_; ++n) {
    double value = mu[static_cast<size_t>(n)];
    for (int m = 2; m <= n - 2; ++m) {
      value -=
          binomial(n - 1, m - 1) * kappa[static_cast<size_t>(m)] * mu[static_cast<size_t>(n - m)];
    }
    kappa[static_cast<size_t>(n)] = value;
  }
  return std::vector<double>(kappa.begin() + 1, kappa.end());
}

std::vector<double> CentralMoments::to_buffer() const {
  std::vector<double> buffer{count_, mean_};
  buffer.insert(buffer.end(), sums_.begin() + 2, sums_.end());
  return buffer;
}

CentralMoments CentralMoments::from_buffer(const std::vector<double>& buffer) {
  if (buffer.size() < 3) throw std::invalid_argument("moment buffer too short");
  CentralMoments result(static_cast<int>(buffer.size()) - 1);
  result.count_ = buffer[0];
  result.mean_ = buffer[1];
  for (size_t i = 2; i < buffer.size(); ++i) result.sums_[i] = buffer[i];
  return result;
}

std::array<double, 4> k_statistics(const CentralMoments& moments) {
  const double n = moments.count();
  if (n < 4) throw std::invalid_argument("k-statistics up to order 4 need at least 4 values");
  const double m2 = moments.central_moment(2),
               m4 = moments.max_order() >= 4 ? moments.central_moment(4) : NAN;
  const double m3 = moments.max_order() >= 3 ? moments.central_moment(3) : NAN;
  const double k2 = n / (n - 1) * m2;
  const double k3 = n * n / ((n - 1) * (n - 2)) * m3;
  const double k4 = n * n * ((n + 1) * m4 - 3 * (n - 1) * m2 * m2) / ((n - 1) * (n - 2) * (n - 3));
  return {moments.mean(), k2, k3, k4};
}

}  // namespace rgflow::analysis
