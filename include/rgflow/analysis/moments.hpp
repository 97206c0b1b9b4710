// Streaming central moments and cumulants (docs/science.md section 3): count, mean and central
// power sums M_p = sum (x - mean)^p, p = 2..P, merged across chunks and ranks with Pebay's one-pass
// formula, which stays accurate where raw power sums lose every digit of kappa_6..kappa_8.
// Pure numerics: no MPI, no I/O; a caller reduces to_buffer() across ranks and merges in a fixed
// order.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

namespace rgflow::analysis {

/// Count n, mean and central power sums M_p = sum (x - mean)^p, p = 2..max_order, of a stream of
/// values. Partial results merge with Pebay's formula (docs/science.md section 3), exact in exact
/// arithmetic, so any split of the data gives the same moments up to rounding. Non-finite input
/// values propagate into NaN moments; they are not filtered.
class CentralMoments {
 public:
  /// Highest supported order; beyond it the sample moments are too noisy to be useful and the
  /// powers delta^p, (n_A n_B delta / n)^p of the merge grow towards overflow.
  static constexpr int kMaxOrder = 12;

  /// An empty accumulator (count 0). 2 <= max_order <= kMaxOrder, else std::invalid_argument.
  explicit CentralMoments(int max_order = 8);

  /// One value: Pebay's update with n_B = 1, M_{p,B} = 0.
  void add(double x);
  /// `values[0..n)`, in segments of 2^18 values: power sums about a provisional centre (the
  /// running mean; the first chunk's mean while empty) in vector lanes, re-centred exactly on the
  /// segment's mean by the binomial theorem, then one Pebay merge per segment. A segment whose
  /// mean lies more than sigma / 8 from the provisional centre is summed again about its own
  /// mean, so drifting data lose no accuracy. Much faster than n single updates and as accurate.
  /// The result depends only on the values and on how they were split into calls. n = 0 is a
  /// no-op.
  void add(const double* values, std::size_t n);
  /// As above; values are widened to double before any arithmetic.
  void add(const float* values, std::size_t n);
  /// Pebay's merge of `other` into this; either side may be empty. std::invalid_argument if the
  /// orders differ.
  void merge(const CentralMoments& other);

  int max_order() const { return max_order_; }
  /// n, as a double (exact up to 2^53 values).
  double count() const { return count_; }
  /// kappa_1; 0 while empty.
  double mean() const { return mean_; }
  /// M_p for 1 <= p <= max_order (M_1 = 0 by construction); std::out_of_range otherwise.
  double central_sum(int p) const;
  /// mu_p = M_p / n for 1 <= p <= max_order; std::out_of_range for other p, std::domain_error
  /// while empty.
  double central_moment(int p) const;
  /// kappa_1..kappa_P (size P, index n - 1 holds kappa_n): kappa_1 = mean, and for n >= 2
  ///   kappa_n = mu_n - sum_{m=2}^{n-2} C(n-1, m-1) kappa_m mu_{n-m}.
  /// These are the cumulants of the empirical distribution (no bias correction; see
  /// k_statistics). std::domain_error while empty.
  std::vector<double> cumulants() const;

  /// Flat state (count, mean, M_2..M_P), size P + 1, for a reduction by the caller (an
  /// all-reduce with MPI_SUM of buffers that are all zero but one reproduces that one exactly).
  std::vector<double> to_buffer() const;
  /// Inverse of to_buffer: the order is buffer.size() - 1. std::invalid_argument if that order is
  /// unsupported or the count is negative or not finite.
  static CentralMoments from_buffer(const std::vector<double>& buffer);

 private:
  /// Pebay's merge of a partial result B = (count_b, mean_b, sums_b[p] = M_{p,B} for
  /// p = 0..max_order_) into this.
  void merge_state(double count_b, double mean_b, const double* sums_b);
  template <typename T>
  void add_block(const T* values, std::size_t n);

  int max_order_;
  double count_ = 0;
  double mean_ = 0;
  std::array<double, kMaxOrder + 1> sums_{};  // sums_[p] = M_p for p = 2..max_order_, else 0
};

/// Fisher's unbiased k-statistics k_1..k_4 (index n - 1 holds k_n), E[k_n] = kappa_n for i.i.d.
/// data, from the central sums M_p of n values:
///   k_1 = mean,  k_2 = M_2 / (n-1),  k_3 = n M_3 / ((n-1)(n-2)),
///   k_4 = (n (n+1) M_4 - 3 (n-1) M_2^2) / ((n-1)(n-2)(n-3)).
/// std::invalid_argument unless count >= 4 and max_order >= 4.
std::array<double, 4> k_statistics(const CentralMoments& moments);

}  // namespace rgflow::analysis
