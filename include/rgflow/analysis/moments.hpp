// Streaming central moments and cumulants (SCIENCE.md section 3): count, mean and central power
// sums M_p = sum (x - mean)^p, p = 2..P, merged across chunks and ranks with Pebay's one-pass
// formula, which stays accurate where raw power sums lose every digit of kappa_6..kappa_8.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

namespace rgflow::analysis {

class CentralMoments {
 public:
  /// 2 <= max_order <= 12, else std::invalid_argument.
  explicit CentralMoments(int max_order = 8);

  void add(double x);
  /// A block of values: its own mean and central sums in two passes, then one merge.
  void add(const double* values, std::size_t n);
  void add(const float* values, std::size_t n);
  /// Pebay's merge; std::invalid_argument if the orders differ.
  void merge(const CentralMoments& other);

  int max_order() const { return max_order_; }
  double count() const { return count_; }
  double mean() const { return mean_; }
  /// M_p for 2 <= p <= max_order.
  double central_sum(int p) const;
  /// mu_p = M_p / n.
  double central_moment(int p) const;
  /// kappa_1..kappa_P (index 0 holds kappa_1), from
  /// kappa_n = mu_n - sum_{m=2}^{n-2} C(n-1, m-1) kappa_m mu_{n-m}.
  std::vector<double> cumulants() const;

  /// (count, mean, M_2..M_P), for reductions by a caller; from_buffer inverts it.
  std::vector<double> to_buffer() const;
  static CentralMoments from_buffer(const std::vector<double>& buffer);

 private:
  template <typename T>
  void add_block(const T* values, std::size_t n);

  int max_order_;
  double count_ = 0;
  double mean_ = 0;
  std::vector<double> sums_;  // sums_[p] = M_p; entries 0 and 1 unused (M_1 = 0)
};

/// Fisher's unbiased k-statistics k_1..k_4; needs count >= 4 (std::invalid_argument otherwise).
std::array<double, 4> k_statistics(const CentralMoments& moments);

}  // namespace rgflow::analysis
