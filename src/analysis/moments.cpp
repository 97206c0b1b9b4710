#include "rgflow/analysis/moments.hpp"

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

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

// Values per chunk of the power-sum kernel: its lanes restart from zero every chunk (so no lane
// sums more than 512 terms), and while one chunk (32 KiB of doubles, 16 KiB of floats) is summed
// the next one is prefetched.
constexpr std::size_t kChunk = 4096;

// Eight doubles, one AVX-512 register (two AVX or four SSE2 registers elsewhere: the compiler
// splits it). GCC and Clang vector extensions, not intrinsics: every lane does the same IEEE
// operations in the same order on any instruction set, so results do not depend on -march, and no
// FMA is formed (-ffp-contract=off).
typedef double Lanes __attribute__((vector_size(64)));
typedef float FloatLanes __attribute__((vector_size(32)));
constexpr std::size_t kLanes = 8;

// Vectors go through references only: a vector passed by value changes the calling convention
// with the instruction set, which GCC warns about (-Wpsabi) when AVX-512 is not enabled.
inline void load(const double* from, Lanes& to) {
  std::memcpy(&to, from, sizeof to);
}
// float -> double is exact, so both ways give the same bits; GCC splits the generic conversion
// into 256-bit halves (four instructions instead of one), hence the intrinsic where it exists.
// Its zero-masking form: the plain one starts from _mm512_undefined_pd, which GCC 12 reports as
// maybe uninitialised; with an all-ones mask both are one vcvtps2pd.
inline void load(const float* from, Lanes& to) {
#ifdef __AVX512F__
  to = reinterpret_cast<Lanes>(_mm512_maskz_cvtps_pd(0xff, _mm256_loadu_ps(from)));
#else
  FloatLanes narrow;
  std::memcpy(&narrow, from, sizeof narrow);
  to = __builtin_convertvector(narrow, Lanes);
#endif
}

// Sum of the eight lanes in a fixed pairwise order.
inline double lane_sum(const Lanes& v) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

// sum x[0..length) in double: four vectors of partial sums (so four add chains hide the add
// latency), combined in a fixed order, then the scalar tail.
template <typename T>
double chunk_sum(const T* x, std::size_t length) {
  Lanes partial[4] = {};
  std::size_t i = 0;
  for (; i + 4 * kLanes <= length; i += 4 * kLanes) {
    for (std::size_t v = 0; v < 4; ++v) {
      Lanes value;
      load(x + i + v * kLanes, value);
      partial[v] += value;
    }
  }
  for (; i + kLanes <= length; i += kLanes) {
    Lanes value;
    load(x + i, value);
    partial[0] += value;
  }
  double sum = lane_sum((partial[0] + partial[1]) + (partial[2] + partial[3]));
  for (; i < length; ++i) sum += static_cast<double>(x[i]);
  return sum;
}

// d^p for p = 1..P from d, as d^p = d^(p/2) d^(p - p/2): p <= 12 needs at most four roundings
// in sequence (repeated products need p - 1) and the products of one value run in parallel.
template <int P, typename V>
inline void powers(const V& d, V (&power)[P + 1]) {
  power[1] = d;
  for (int p = 2; p <= P; ++p) power[p] = power[p / 2] * power[p - p / 2];
}

// shifted[p] = sum (x - pivot)^p over x[0..length) for p = 1..P, in eight lanes that stride
// through the chunk, combined in a fixed order, then the scalar tail: a fixed summation order for
// a given chunk, whatever the caller. Per eight values: one conversion, one subtraction, P - 1
// products and P additions, all in vector registers. `next[0..next_length)` (the following
// chunk, if any) is prefetched meanwhile, so that memory delivers it during the arithmetic
// instead of after it (the arithmetic, not memory, is the limit on one core).
template <int P, typename T>
void shifted_power_sums(const T* x, std::size_t length, double pivot, const T* next,
                        std::size_t next_length, double* shifted) {
  Lanes sums[P + 1] = {};
  Lanes centre = {};
  centre += pivot;
  std::size_t i = 0;
  for (; i + kLanes <= length; i += kLanes) {
    // One prefetch per 64-byte line of the next chunk (of floats: every other iteration).
    if (i * sizeof(T) % 64 == 0 && i < next_length) __builtin_prefetch(next + i, 0, 2);
    Lanes d;
    load(x + i, d);
    d -= centre;
    Lanes power[P + 1];
    powers<P>(d, power);
    for (int p = 1; p <= P; ++p) sums[p] += power[p];
  }
  for (int p = 1; p <= P; ++p) shifted[p] = lane_sum(sums[p]);
  for (; i < length; ++i) {
    const double d = static_cast<double>(x[i]) - pivot;
    double power[P + 1];
    powers<P>(d, power);
    for (int p = 1; p <= P; ++p) shifted[p] += power[p];
  }
}

// shifted_power_sums for a run-time order: P is a template argument so that the power and
// accumulation loops unroll and stay in registers.
template <typename T>
using PowerSumsKernel = void (*)(const T*, std::size_t, double, const T*, std::size_t, double*);
template <typename T, int... K>
constexpr std::array<PowerSumsKernel<T>, sizeof...(K)> kernel_table(
    std::integer_sequence<int, K...>) {
  return {&shifted_power_sums<K + 2, T>...};
}
template <typename T>
PowerSumsKernel<T> power_sums_kernel(int order) {
  // Entry k is order k + 2: orders start at 2.
  static constexpr auto table = kernel_table<T>(std::make_integer_sequence<int, kMaxOrder - 1>{});
  return table[static_cast<std::size_t>(order - 2)];
}

// Values per segment in add(values, n): one centre, one re-centring and one Pebay merge per
// segment (1 MiB of floats), so that their cost vanishes next to the power sums.
constexpr std::size_t kSegment = 64 * kChunk;

// shifted[p] = sum (x - centre)^p, p = 1..order, over x[0..length), chunk by chunk: each chunk's
// sums start from zero in the kernel's lanes and are added here in chunk order, so no running sum
// grows over more than a chunk's values per lane or more than a segment's chunks. The prefetch
// runs ahead up to `end`, across the segment's end. shifted[0] = length.
template <typename T>
PowerTable segment_power_sums(PowerSumsKernel<T> kernel, const T* x, std::size_t length,
                              const T* end, double centre, std::size_t order) {
  PowerTable shifted{};
  shifted[0] = static_cast<double>(length);
  for (std::size_t begin = 0; begin < length; begin += kChunk) {
    const T* chunk = x + begin;
    const std::size_t size = std::min(kChunk, length - begin);
    const T* next = chunk + size;
    const std::size_t next_size = std::min(kChunk, static_cast<std::size_t>(end - next));
    PowerTable sums{};
    kernel(chunk, size, centre, next, next_size, sums.data());
    for (std::size_t p = 1; p <= order; ++p) shifted[p] += sums[p];
  }
  return shifted;
}

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

  // Pebay (SAND2008-6212), in the order of docs/science.md section 3:
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
  const PowerSumsKernel<T> kernel = power_sums_kernel<T>(max_order_);
  const T* const end = values + n;
  for (std::size_t begin = 0; begin < n; begin += kSegment) {
    const T* segment = values + begin;
    const std::size_t length = std::min(kSegment, n - begin);
    const double count = static_cast<double>(length);

    // A provisional centre: the running mean, or, for the first values, the mean of the first
    // chunk (the only extra pass over data the kernel makes).
    double centre = mean_;
    if (count_ == 0) {
      const std::size_t first = std::min(kChunk, length);
      centre = chunk_sum(segment, first) / static_cast<double>(first);
    }
    PowerTable shifted = segment_power_sums(kernel, segment, length, end, centre, order);

    // The centre misses the segment's mean by c = shifted[1] / count. Re-centring by c (below)
    // costs accuracy in proportion to (1 + |c| / sigma)^P, so a centre more than sigma / 8 away
    // (data that drift: sorted, or far from what came before) is replaced by the segment's mean
    // and the segment summed again: (1 + 1/8)^8 < 2.6 bounds the loss, and with stationary data
    // |c| is about sigma / sqrt(n) and the second pass never runs. Written so that NaN data take
    // the second pass once and come out NaN.
    double correction = shifted[1] / count;
    if (!(64 * correction * correction <= shifted[2] / count)) {
      centre += correction;
      shifted = segment_power_sums(kernel, segment, length, end, centre, order);
      correction = shifted[1] / count;
    }

    // Re-centre exactly by the binomial theorem (the corrected two-pass algorithm of Chan, Golub
    // and LeVeque):
    //   M_p = sum_{j=0}^{p} C(p,j) (-c)^j shifted[p-j]
    // (M_1 = 0 by construction).
    PowerTable central{};
    for (std::size_t p = 2; p <= order; ++p) {
      double value = 0, correction_power = 1;
      for (std::size_t j = 0; j <= p; ++j) {
        value += kBinomial[p][j] * correction_power * shifted[p - j];
        correction_power *= -correction;
      }
      central[p] = value;
    }
    merge_state(count, centre + correction, central.data());
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
