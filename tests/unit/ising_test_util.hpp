// Statistics and exact references shared by the Ising tests: chi-square against exact
// enumeration, binned errors, boxes cut from a lattice. Independent of the kernels under test.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include "rgflow/field/ising.hpp"

namespace rgflow::field::ising_test {

// K(k) by composite Simpson on the integral of its definition, substituting theta = pi/2 (1 - t^2)
// near the end is unnecessary for k <= 0.99: plain Simpson with many panels suffices.
inline double elliptic_k_simpson(double k) {
  const int panels = 20000;
  const double h = (M_PI / 2) / panels;
  double sum = 0;
  for (int i = 0; i <= panels; ++i) {
    const double s = std::sin(i * h);
    const double f = 1.0 / std::sqrt(1.0 - k * k * s * s);
    sum += f * (i == 0 || i == panels ? 1 : (i % 2 ? 4 : 2));
  }
  return sum * h / 3;
}

// Chi-square critical value at upper tail alpha = 0.001 (z = 3.0902) by Wilson-Hilferty:
// k (1 - 2/(9k) + z sqrt(2/(9k)))^3, within 1% of the exact quantile for k >= 3.
inline double chi_square_critical_0001(int dof) {
  const double k = dof, z = 3.0902;
  const double c = 1.0 - 2.0 / (9.0 * k) + z * std::sqrt(2.0 / (9.0 * k));
  return k * c * c * c;
}

struct ChiSquare {
  double statistic = 0;
  int dof = 0;
};

// Pearson's chi-square of counts against probabilities, adjacent bins merged until every merged
// bin expects at least 5 (a short tail merged into the last group).
inline ChiSquare chi_square(const std::vector<double>& counts,
                            const std::vector<double>& probability) {
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  std::vector<double> observed_groups, expected_groups;
  double observed = 0, expected = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    observed += counts[i];
    expected += total * probability[i];
    if (expected >= 5) {
      observed_groups.push_back(observed);
      expected_groups.push_back(expected);
      observed = expected = 0;
    }
  }
  observed_groups.back() += observed;
  expected_groups.back() += expected;
  ChiSquare result;
  for (size_t i = 0; i < observed_groups.size(); ++i) {
    const double diff = observed_groups[i] - expected_groups[i];
    result.statistic += diff * diff / expected_groups[i];
  }
  result.dof = static_cast<int>(observed_groups.size()) - 1;
  return result;
}

struct MeanError {
  double mean = 0;
  double error = 0;
};

// Mean and its error from `bins` consecutive bins (each much longer than tau_int).
inline MeanError binned_mean(const std::vector<double>& series, int bins) {
  const size_t per_bin = series.size() / static_cast<size_t>(bins);
  std::vector<double> means(static_cast<size_t>(bins), 0.0);
  for (int b = 0; b < bins; ++b) {
    for (size_t i = 0; i < per_bin; ++i) means[b] += series[b * per_bin + i];
    means[b] /= static_cast<double>(per_bin);
  }
  MeanError result;
  for (double m : means) result.mean += m / bins;
  double variance = 0;
  for (double m : means) variance += (m - result.mean) * (m - result.mean);
  result.error = std::sqrt(variance / (bins - 1) / bins);
  return result;
}

// Binder cumulant U = 1 - <m^4> / (3 <m^2>^2) of the series m2 = m^2, m4 = m^4, its error by
// jackknife over `blocks` blocks of consecutive measurements.
inline MeanError binder_cumulant(const std::vector<double>& m2, const std::vector<double>& m4,
                                 int blocks) {
  const auto binder = [](double s2, double s4, double n) {
    return 1 - (s4 / n) / (3 * (s2 / n) * (s2 / n));
  };
  const double s2 = std::accumulate(m2.begin(), m2.end(), 0.0);
  const double s4 = std::accumulate(m4.begin(), m4.end(), 0.0);
  const size_t per_block = m2.size() / static_cast<size_t>(blocks);
  std::vector<double> leave_out(static_cast<size_t>(blocks));
  for (int b = 0; b < blocks; ++b) {
    double b2 = s2, b4 = s4;
    for (size_t i = b * per_block; i < (b + 1) * per_block; ++i) {
      b2 -= m2[i];
      b4 -= m4[i];
    }
    leave_out[b] = binder(b2, b4, static_cast<double>(m2.size() - per_block));
  }
  const double mean = std::accumulate(leave_out.begin(), leave_out.end(), 0.0) / blocks;
  double variance = 0;
  for (double u : leave_out) variance += (u - mean) * (u - mean);
  return {binder(s2, s4, static_cast<double>(m2.size())),
          std::sqrt(variance * (blocks - 1) / blocks)};
}

// Exact distribution of the bond sum B = sum_<ij> s_i s_j (and of |M|) on a periodic lattice of
// side `side` (every state enumerated), computed here independently of the kernels.
struct ExactDistribution {
  std::map<int, double> bonds, abs_magnetisation;
};

inline ExactDistribution enumerate_states(int dim, int side, double beta) {
  const int sites = dim == 2 ? side * side : side * side * side;
  ExactDistribution exact;
  double z = 0;
  for (uint32_t state = 0; state < (1u << sites); ++state) {
    auto spin = [&](int x, int y, int w) {
      const int site = dim == 2 ? y * side + x : (w * side + y) * side + x;
      return (state >> site) & 1 ? 1 : -1;
    };
    int bonds = 0, magnetisation = 0;
    for (int w = 0; w < (dim == 3 ? side : 1); ++w) {
      for (int y = 0; y < side; ++y) {
        for (int x = 0; x < side; ++x) {
          const int s = spin(x, y, w);
          magnetisation += s;
          bonds += s * spin((x + 1) % side, y, w) + s * spin(x, (y + 1) % side, w);
          if (dim == 3) bonds += s * spin(x, y, (w + 1) % side);
        }
      }
    }
    const double weight = std::exp(beta * bonds);
    exact.bonds[bonds] += weight;
    exact.abs_magnetisation[std::abs(magnetisation)] += weight;
    z += weight;
  }
  for (auto& [key, value] : exact.bonds) value /= z;
  for (auto& [key, value] : exact.abs_magnetisation) value /= z;
  return exact;
}

inline ChiSquare histogram_test(const std::map<int, double>& exact,
                                const std::vector<int>& samples) {
  std::map<int, double> counts;
  for (int v : samples) counts[v] += 1;
  std::vector<double> observed, probability;
  for (const auto& [value, p] : exact) {
    observed.push_back(counts.count(value) ? counts[value] : 0.0);
    probability.push_back(p);
  }
  // A value the exact distribution gives probability 0 would be a failure by itself.
  for (const auto& [value, count] : counts) EXPECT_TRUE(exact.count(value)) << value;
  return chi_square(observed, probability);
}

// The boxes of a grid cut at `cuts` per axis (first 0, last side), in row-major order.
inline std::vector<IsingBox> grid_boxes(int dim, int64_t side,
                                        const std::vector<std::vector<int64_t>>& cuts) {
  std::vector<IsingBox> boxes;
  std::vector<size_t> index(static_cast<size_t>(dim), 0);
  while (true) {
    IsingBox box;
    box.dim = dim;
    box.side = side;
    for (int a = 0; a < dim; ++a) {
      box.origin[a] = cuts[a][index[a]];
      box.extent[a] = cuts[a][index[a] + 1] - cuts[a][index[a]];
    }
    check_box(box);
    boxes.push_back(box);
    int a = dim - 1;
    while (a >= 0 && ++index[a] + 1 == cuts[a].size()) index[a--] = 0;
    if (a < 0) break;
  }
  return boxes;
}

// A lattice of side `side` cut into boxes at `cuts` per axis.
struct BoxSplit {
  int dim;
  int64_t side;
  std::vector<std::vector<int64_t>> cuts;
};

// The splits the box-by-box tests run (even sides, for the checkerboard).
inline std::vector<BoxSplit> box_splits() {
  return {
      {2, 12, {{0, 12}, {0, 5, 12}}},              // 2 boxes, odd cut
      {2, 12, {{0, 3, 12}, {0, 12}}},              // 2 boxes along the slow axis
      {2, 12, {{0, 12}, {0, 1, 8, 12}}},           // 3 boxes, one a single column
      {2, 12, {{0, 7, 12}, {0, 6, 12}}},           // 4 boxes
      {3, 8, {{0, 3, 8}, {0, 8}, {0, 8}}},         // 2 boxes
      {3, 8, {{0, 8}, {0, 1, 4, 8}, {0, 8}}},      // 3 boxes
      {3, 8, {{0, 5, 8}, {0, 8}, {0, 3, 8}}},      // 4 boxes
      {3, 10, {{0, 10}, {0, 4, 10}, {0, 5, 10}}},  // 4 boxes, side not a multiple of 8
  };
}

}  // namespace rgflow::field::ising_test
