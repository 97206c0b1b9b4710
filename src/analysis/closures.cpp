#include "rgflow/analysis/closures.hpp"

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

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
  auto central = [&](const std::vector<int>& t) {
    // Sum over the powers (j_1..j_k) of prod c_{t_i, j_i} E[prod delta_{t_i}^{j_i}].
    std::vector<int> units(t);
    units.erase(std::unique(units.begin(), units.end()), units.end());  // t is sorted
    std::vector<int> position(t.size());
    std::vector<int> limits(units.size(), 0);  // a unit's exponent is at most order x its count
    for (size_t i = 0; i < t.size(); ++i) {
      position[i] = static_cast<int>(std::find(units.begin(), units.end(), t[i]) - units.begin());
      limits[static_cast<size_t>(position[i])] += order;
    }
    const MixedMoments moments(z, units, limits);
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
    return total;
  };
  return joint_cumulants_from_central(mean, max_order, central);
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
  // Central moments of phi over the distinct units of each tuple: z_D = mu_D + V sqrt(L) u with
  // the eigen-decomposition of the covariance of D (rank-deficient ones integrate over fewer
  // dimensions: tied units are perfectly correlated).
  std::map<std::vector<int>, double> cache;
  auto central = [&](const std::vector<int>& t) {
    const auto found = cache.find(t);
    if (found != cache.end()) return found->second;
    std::vector<int> distinct(t);
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    const int r = static_cast<int>(distinct.size());
    Matrix<double> sub(r, r);
    for (int i = 0; i < r; ++i)
      for (int j = 0; j < r; ++j)
        sub(i, j) = cov[static_cast<size_t>(distinct[static_cast<size_t>(i)] * w +
                                            distinct[static_cast<size_t>(j)])];
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
    std::vector<int> multiplicity(static_cast<size_t>(r), 0);
    for (int a : t) {
      ++multiplicity[static_cast<size_t>(std::lower_bound(distinct.begin(), distinct.end(), a) -
                                         distinct.begin())];
    }
    double total = 0;
    std::vector<int> grid(static_cast<size_t>(q), 0);
    Vector<double> point(r);
    while (true) {
      double weight = 1;
      for (int i = 0; i < r; ++i)
        point(i) = mu[static_cast<size_t>(distinct[static_cast<size_t>(i)])];
      for (int d = 0; d < q; ++d) {
        weight *= weights[static_cast<size_t>(grid[static_cast<size_t>(d)])];
        point += directions[static_cast<size_t>(d)] *
                 nodes[static_cast<size_t>(grid[static_cast<size_t>(d)])];
      }
      double product = weight;
      for (int i = 0; i < r; ++i) {
        const double centred = nn::activation_value(activation, point(i)) -
                               mean[static_cast<size_t>(distinct[static_cast<size_t>(i)])];
        for (int k = 0; k < multiplicity[static_cast<size_t>(i)]; ++k) product *= centred;
      }
      total += product;
      int d = 0;
      while (d < q && ++grid[static_cast<size_t>(d)] == points) grid[static_cast<size_t>(d++)] = 0;
      if (d == q) break;
    }
    cache.emplace(t, total);
    return total;
  };
  return joint_cumulants_from_central(mean, max_order, central);
}

}  // namespace rgflow::analysis
