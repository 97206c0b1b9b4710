#include "rgflow/analysis/closures.hpp"

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <array>
#include <cmath>

#include "rgflow/nn/network.hpp"

namespace rgflow::analysis {

using nn::Matrix;
using nn::Vector;

std::vector<double> taylor_coefficients(nn::Activation activation, double x, int order) {
  std::vector<double> c(static_cast<size_t>(order) + 1, 0.0);
  if (activation == nn::Activation::kRelu) {
    // Piecewise linear: the expansion about the mean is the line of the side the mean is on
    // (differences across the kink would blow up).
    c[0] = std::max(x, 0.0);
    if (order >= 1) c[1] = x > 0 ? 1.0 : 0.0;
    return c;
  }
  auto f = [&](double v) { return nn::activation_value(activation, v); };
  const double h = 1e-3 * std::max(1.0, std::abs(x));
  const double f0 = f(x), f1 = f(x + h), f_1 = f(x - h), f2 = f(x + 2 * h), f_2 = f(x - 2 * h);
  c[0] = f0;
  if (order >= 1) c[1] = (-f2 + 8 * f1 - 8 * f_1 + f_2) / (12 * h);
  if (order >= 2) c[2] = (-f2 + 16 * f1 - 30 * f0 + 16 * f_1 - f_2) / (12 * h * h) / 2;
  if (order >= 3) c[3] = (f2 - 2 * f1 + 2 * f_1 - f_2) / (2 * h * h * h) / 6;
  return c;
}

namespace {

// E[prod_i delta_{D_i}^{e_i}] for up to four distinct units D (delta = z - E z), from their
// joint cumulants of order 2..4 (higher ones zero), tabulated for every exponent vector with
// e_i <= limits[i]. The recursion takes one factor of the last unit present and sums over the
// block of the set partition holding it: 1 to 3 further factors, chosen among the remaining
// ones. Each entry needs only entries of smaller exponents, which come first in the table's
// mixed-radix order, so one pass fills it: no recursion, no memo look-ups, and the blocks'
// cumulants are gathered once per table rather than once per entry.
class MixedMoments {
 public:
  MixedMoments(const JointCumulants& z, const std::vector<int>& units,
               const std::vector<int>& limits)
      : r_(static_cast<int>(units.size())) {
    int size = 1, largest = 0;
    for (int i = 0; i < r_; ++i) {
      stride_[static_cast<size_t>(i)] = size;
      size *= limits[static_cast<size_t>(i)] + 1;
      largest = std::max(largest, limits[static_cast<size_t>(i)]);
    }
    // binomial_[n * 4 + k] = C(n, k) for k <= 3.
    binomial_.assign(static_cast<size_t>(largest + 1) * 4, 0.0);
    for (int n = 0; n <= largest; ++n) {
      for (int k = 0; k <= std::min(n, 3); ++k) {
        double value = 1;
        for (int i = 1; i <= k; ++i) value = value * double(n - k + i) / double(i);
        binomial_[static_cast<size_t>(n * 4 + k)] = value;
      }
    }
    // For each unit p: every choice c of 1 to 3 further factors whose cumulant is non-zero.
    std::array<std::vector<Block>, 4> blocks;
    for (int p = 0; p < r_; ++p) {
      std::array<int, 4> c{0, 0, 0, 0};
      for (c[0] = 0; c[0] <= (r_ > 0 ? 3 : 0); ++c[0]) {
        for (c[1] = 0; c[1] <= (r_ > 1 ? 3 - c[0] : 0); ++c[1]) {
          for (c[2] = 0; c[2] <= (r_ > 2 ? 3 - c[0] - c[1] : 0); ++c[2]) {
            for (c[3] = 0; c[3] <= (r_ > 3 ? 3 - c[0] - c[1] - c[2] : 0); ++c[3]) {
              const int taken = c[0] + c[1] + c[2] + c[3];
              if (taken == 0) continue;
              bool possible = true;  // otherwise more factors than any entry holds: never fits
              for (int i = 0; i < r_; ++i) {
                possible = possible && c[static_cast<size_t>(i)] + (i == p ? 1 : 0) <=
                                           limits[static_cast<size_t>(i)];
              }
              if (!possible) continue;
              const auto& tensor = z.kappa[static_cast<size_t>(taken)];
              if (tensor.empty()) continue;
              int64_t index = units[static_cast<size_t>(p)];
              int offset = 0;
              for (int i = 0; i < r_; ++i) {
                for (int k = 0; k < c[static_cast<size_t>(i)]; ++k) {
                  index = index * z.width + units[static_cast<size_t>(i)];
                }
                offset += c[static_cast<size_t>(i)] * stride_[static_cast<size_t>(i)];
              }
              const double kappa = tensor[static_cast<size_t>(index)];
              if (kappa != 0) blocks[static_cast<size_t>(p)].push_back({c, kappa, offset});
            }
          }
        }
      }
    }
    table_.assign(static_cast<size_t>(size), 0.0);
    std::array<int, 4> e{0, 0, 0, 0};
    for (int key = 0; key < size; ++key) {
      int total = 0, p = -1;
      for (int i = 0; i < r_; ++i) {
        total += e[static_cast<size_t>(i)];
        if (e[static_cast<size_t>(i)] > 0) p = i;
      }
      double sum = total == 0 ? 1.0 : 0.0;
      if (total >= 2) {
        std::array<int, 4> rest = e;  // one factor of unit p taken
        --rest[static_cast<size_t>(p)];
        const int base = key - stride_[static_cast<size_t>(p)];
        for (const Block& block : blocks[static_cast<size_t>(p)]) {
          double ways = 1;
          bool fits = true;
          for (int i = 0; i < r_ && fits; ++i) {
            const int n = rest[static_cast<size_t>(i)], k = block.c[static_cast<size_t>(i)];
            fits = k <= n;
            ways *= binomial_[static_cast<size_t>(std::min(k, n) + n * 4)];
          }
          if (fits) sum += ways * block.kappa * table_[static_cast<size_t>(base - block.offset)];
        }
      }
      table_[static_cast<size_t>(key)] = sum;
      for (int i = 0; i < r_; ++i) {  // next exponent vector, e_0 fastest
        if (++e[static_cast<size_t>(i)] <= limits[static_cast<size_t>(i)]) break;
        e[static_cast<size_t>(i)] = 0;
      }
    }
  }

  /// The moment of exponents e (e_i <= limits[i]).
  double operator()(const std::array<int, 4>& e) const {
    int key = 0;
    for (int i = 0; i < r_; ++i) key += e[static_cast<size_t>(i)] * stride_[static_cast<size_t>(i)];
    return table_[static_cast<size_t>(key)];
  }

 private:
  struct Block {
    std::array<int, 4> c;  // factors taken from each unit
    double kappa;          // their joint cumulant with one factor of unit p
    int offset;            // table offset of c
  };

  int r_;
  std::array<int, 4> stride_{0, 0, 0, 0};
  std::vector<double> binomial_;
  std::vector<double> table_;
};

// Every sorted tuple of 2..max_order units is a set of r <= 4 distinct units u_1 < ... < u_r
// with multiplicities m_i >= 1. The closures visit each set once and compute the central moments
// of all its tuples from what they share (a moment table, a quadrature grid), writing them into
// dense tables indexed like the cumulant tensors (only sorted tuples' entries are used).
using Pattern = std::array<int, 4>;

std::vector<Pattern> multiplicity_patterns(int r, int max_order) {
  std::vector<Pattern> patterns;
  Pattern m{0, 0, 0, 0};
  for (int i = 0; i < r; ++i) m[static_cast<size_t>(i)] = 1;
  while (true) {
    int total = 0;
    for (int i = 0; i < r; ++i) total += m[static_cast<size_t>(i)];
    if (total >= 2 && total <= max_order) patterns.push_back(m);
    int i = 0;
    while (i < r && ++m[static_cast<size_t>(i)] > max_order) m[static_cast<size_t>(i++)] = 1;
    if (i == r) break;
  }
  return patterns;
}

// Calls visit(units, patterns) for every set of 1..min(4, max_order) distinct units (increasing)
// with the multiplicity patterns of the tuples over it.
template <typename Visit>
void for_each_unit_set(int width, int max_order, Visit&& visit) {
  for (int r = 1; r <= std::min(4, max_order); ++r) {
    const std::vector<Pattern> patterns = multiplicity_patterns(r, max_order);
    std::vector<int> units(static_cast<size_t>(r));
    for (int i = 0; i < r; ++i) units[static_cast<size_t>(i)] = i;
    if (r > width) continue;
    while (true) {
      visit(units, patterns);
      int i = r - 1;  // next r-subset in lexicographic order
      while (i >= 0 && units[static_cast<size_t>(i)] == width - r + i) --i;
      if (i < 0) break;
      ++units[static_cast<size_t>(i)];
      for (int j = i + 1; j < r; ++j)
        units[static_cast<size_t>(j)] = units[static_cast<size_t>(j - 1)] + 1;
    }
  }
}

// The sorted tuple of `units` repeated by `m`.
std::vector<int> expand(const std::vector<int>& units, const Pattern& m) {
  std::vector<int> t;
  for (size_t i = 0; i < units.size(); ++i) t.insert(t.end(), static_cast<size_t>(m[i]), units[i]);
  return t;
}

// values[n] <- phi(values[n]) for a whole quadrature grid. tanh in vector lanes (std::tanh is
// scalar and was most of the Gaussian closure's time): the series to x^15 below |x| = 1/8
// (truncation below 1e-18 relative), 1 - 2 / (e^{2|x|} + 1) with the vectorised exp above it
// (relative error a few ulp), |x| clamped at 20 where tanh is 1 in double. Other activations
// one value at a time.
void activation_values(nn::Activation activation, double* values, size_t count) {
  if (activation != nn::Activation::kTanh) {
    for (size_t n = 0; n < count; ++n) values[n] = nn::activation_value(activation, values[n]);
    return;
  }
  // In chunks through two small buffers: each exp evaluated once, nothing allocated per call
  // (the grids are ~100 KB: one large temporary each would cost page faults).
  constexpr Eigen::Index kChunk = 256;
  Eigen::Array<double, kChunk, 1> magnitude, large;
  for (size_t start = 0; start < count; start += static_cast<size_t>(kChunk)) {
    const Eigen::Index length =
        std::min<Eigen::Index>(kChunk, static_cast<Eigen::Index>(count - start));
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

// Dense central-moment tables of orders 0..max_order (entries at sorted tuples only).
class CentralTables {
 public:
  CentralTables(int width, int max_order)
      : width_(width), tables_(static_cast<size_t>(max_order) + 1) {
    for (int n = 2; n <= max_order; ++n) {
      tables_[static_cast<size_t>(n)].assign(static_cast<size_t>(tensor_size(width, n)), 0.0);
    }
  }
  double& at(const std::vector<int>& t) {
    return tables_[t.size()][static_cast<size_t>(flat_index(t, width_))];
  }
  double operator()(const std::vector<int>& t) const {
    return tables_[t.size()][static_cast<size_t>(flat_index(t, width_))];
  }

 private:
  int width_;
  std::vector<std::vector<double>> tables_;
};

}  // namespace

JointCumulants taylor_closure(const JointCumulants& z, nn::Activation activation, int order,
                              int max_order) {
  const int w = z.width;
  std::vector<std::vector<double>> coefficients(static_cast<size_t>(w));
  std::vector<double> mean(static_cast<size_t>(w));
  for (int a = 0; a < w; ++a) {
    auto& c = coefficients[static_cast<size_t>(a)];
    c = taylor_coefficients(activation, z.kappa[0][static_cast<size_t>(a)], order);
    const MixedMoments moments(z, {a}, {order});
    double m = 0;
    for (int j = 0; j <= order; ++j) m += c[static_cast<size_t>(j)] * moments({j, 0, 0, 0});
    mean[static_cast<size_t>(a)] = m;
    c[0] -= m;  // phi(z_a) - E phi(z_a) as a polynomial in delta_a
  }
  // Per set of distinct units one moment table, large enough for every tuple over the set (an
  // entry does not depend on the table's extent); per tuple the sum over the powers (j_1..j_k)
  // of prod c_{t_i, j_i} E[prod delta_{t_i}^{j_i}].
  CentralTables central(w, max_order);
  for_each_unit_set(
      w, max_order, [&](const std::vector<int>& units, const std::vector<Pattern>& patterns) {
        const size_t r = units.size();
        std::vector<int> limits(r, 0);
        for (const Pattern& m : patterns) {
          for (size_t i = 0; i < r; ++i) limits[i] = std::max(limits[i], order * m[i]);
        }
        const MixedMoments moments(z, units, limits);
        for (const Pattern& m : patterns) {
          const std::vector<int> t = expand(units, m);
          std::vector<int> position;
          for (size_t i = 0; i < r; ++i)
            position.insert(position.end(), static_cast<size_t>(m[i]), int(i));
          double total = 0;
          std::vector<int> powers(t.size(), 0);
          while (true) {
            double product = 1;
            std::array<int, 4> e{0, 0, 0, 0};
            for (size_t i = 0; i < t.size(); ++i) {
              product *= coefficients[static_cast<size_t>(t[i])][static_cast<size_t>(powers[i])];
              e[static_cast<size_t>(position[i])] += powers[i];
            }
            if (product != 0) total += product * moments(e);
            size_t next = 0;
            while (next < t.size() && ++powers[next] > order) powers[next++] = 0;
            if (next == t.size()) break;
          }
          central.at(t) = total;
        }
      });
  return joint_cumulants_from_central(mean, max_order,
                                      [&central](const std::vector<int>& t) { return central(t); });
}

void gauss_hermite_rule(int points, std::vector<double>& nodes, std::vector<double>& weights) {
  Matrix<double> jacobi = Matrix<double>::Zero(points, points);
  for (int k = 1; k < points; ++k) jacobi(k, k - 1) = jacobi(k - 1, k) = std::sqrt(double(k));
  Eigen::SelfAdjointEigenSolver<Matrix<double>> solver(jacobi);
  nodes.resize(static_cast<size_t>(points));
  weights.resize(static_cast<size_t>(points));
  for (int k = 0; k < points; ++k) {
    nodes[static_cast<size_t>(k)] = solver.eigenvalues()(k);
    const double v = solver.eigenvectors()(0, k);
    weights[static_cast<size_t>(k)] = v * v;
  }
}

JointCumulants gauss_closure(const JointCumulants& z, nn::Activation activation, int points,
                             int max_order) {
  const int w = z.width;
  std::vector<double> nodes, weights;
  gauss_hermite_rule(points, nodes, weights);
  const auto& mu = z.kappa[0];
  const auto& cov = z.kappa[1];
  std::vector<double> mean(static_cast<size_t>(w));
  for (int a = 0; a < w; ++a) {
    const double sd = std::sqrt(std::max(0.0, cov[static_cast<size_t>(a * w + a)]));
    double m = 0;
    for (int k = 0; k < points; ++k) {
      m += weights[static_cast<size_t>(k)] *
           nn::activation_value(activation,
                                mu[static_cast<size_t>(a)] + sd * nodes[static_cast<size_t>(k)]);
    }
    mean[static_cast<size_t>(a)] = m;
  }
  // Central moments of phi over each set of distinct units D: z_D = mu_D + V sqrt(L) u with the
  // eigen-decomposition of the covariance of D (rank-deficient ones integrate over fewer
  // dimensions: tied units are perfectly correlated). One decomposition and one grid per set,
  // phi evaluated once per node and unit, every tuple over the set summed from those values.
  // The weight of grid node n = g_0 + P g_1 + ... (P points; dimension 0 fastest) of a q-dim
  // grid, q = 0..4: ((1 w_{g_0}) w_{g_1}) ..., built dimension by dimension.
  std::array<std::vector<double>, 5> grid_weight;
  grid_weight[0] = {1.0};
  for (size_t q = 1; q < grid_weight.size(); ++q) {
    const std::vector<double>& lower = grid_weight[q - 1];
    for (int g = 0; g < points; ++g) {
      for (double v : lower) grid_weight[q].push_back(v * weights[static_cast<size_t>(g)]);
    }
  }
  CentralTables central(w, max_order);
  std::vector<double> centred;
  for_each_unit_set(
      w, max_order, [&](const std::vector<int>& units, const std::vector<Pattern>& patterns) {
        const int r = static_cast<int>(units.size());
        Matrix<double> sub(r, r);
        for (int i = 0; i < r; ++i)
          for (int j = 0; j < r; ++j)
            sub(i, j) = cov[static_cast<size_t>(units[static_cast<size_t>(i)] * w +
                                                units[static_cast<size_t>(j)])];
        Eigen::SelfAdjointEigenSolver<Matrix<double>> solver(sub);
        const double largest = std::max(solver.eigenvalues().maxCoeff(), 0.0);
        std::vector<Vector<double>> directions;
        for (int k = 0; k < r; ++k) {
          const double lambda = solver.eigenvalues()(k);
          if (lambda > 1e-13 * std::max(largest, 1e-300)) {
            directions.push_back(solver.eigenvectors().col(k) * std::sqrt(lambda));
          }
        }
        const int q = static_cast<int>(directions.size());
        const std::vector<double>& node_weight = grid_weight[static_cast<size_t>(q)];
        const size_t count = node_weight.size();
        centred.resize(count * static_cast<size_t>(r));
        // Unit i's coordinate at every node, (mu_i + A_i0 x_{g_0}) + A_i1 x_{g_1} + ...: the
        // first P^(d+1) entries from the first P^d, one dimension at a time (contiguous runs the
        // compiler vectorises), summed in the order of the per-tuple quadrature this replaces.
        for (int i = 0; i < r; ++i) {
          double* coordinate = centred.data() + static_cast<size_t>(i) * count;
          coordinate[0] = mu[static_cast<size_t>(units[static_cast<size_t>(i)])];
          size_t filled = 1;
          for (int d = 0; d < q; ++d) {
            const double direction = directions[static_cast<size_t>(d)](i);
            for (int g = points - 1; g >= 0;
                 --g) {  // the block g = 0 last: it overwrites the source
              const double step = direction * nodes[static_cast<size_t>(g)];
              double* target = coordinate + static_cast<size_t>(g) * filled;
              for (size_t n = 0; n < filled; ++n) target[n] = coordinate[n] + step;
            }
            filled *= static_cast<size_t>(points);
          }
        }
        activation_values(activation, centred.data(), centred.size());
        for (int i = 0; i < r; ++i) {
          double* values = centred.data() + static_cast<size_t>(i) * count;
          const double unit_mean = mean[static_cast<size_t>(units[static_cast<size_t>(i)])];
          for (size_t n = 0; n < count; ++n) values[n] -= unit_mean;
        }
        // Per tuple over the set: sum_n w_n prod_i centred_i(n)^{m_i}, in 8 interleaved partial
        // sums (vector lanes) added at the end.
        constexpr size_t kLanes = 8;
        for (const Pattern& m : patterns) {
          std::array<double, kLanes> lanes{};
          size_t n = 0;
          for (; n + kLanes <= count; n += kLanes) {
            std::array<double, kLanes> product;
            for (size_t l = 0; l < kLanes; ++l) product[l] = node_weight[n + l];
            for (int i = 0; i < r; ++i) {
              const double* values = centred.data() + static_cast<size_t>(i) * count + n;
              for (int k = 0; k < m[static_cast<size_t>(i)]; ++k) {
                for (size_t l = 0; l < kLanes; ++l) product[l] *= values[l];
              }
            }
            for (size_t l = 0; l < kLanes; ++l) lanes[l] += product[l];
          }
          double total = 0;
          for (; n < count; ++n) {
            double product = node_weight[n];
            for (int i = 0; i < r; ++i) {
              for (int k = 0; k < m[static_cast<size_t>(i)]; ++k) {
                product *= centred[static_cast<size_t>(i) * count + n];
              }
            }
            total += product;
          }
          for (double lane : lanes) total += lane;
          central.at(expand(units, m)) = total;
        }
      });
  return joint_cumulants_from_central(mean, max_order,
                                      [&central](const std::vector<int>& t) { return central(t); });
}

}  // namespace rgflow::analysis
