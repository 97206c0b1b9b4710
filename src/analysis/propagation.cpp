#include "rgflow/analysis/propagation.hpp"

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>
#include <unordered_map>

#include "rgflow/core/error.hpp"

namespace rgflow::analysis {
namespace {

using nn::Matrix;
using nn::Vector;

// ---------------------------------------------------------------------------------------------
// Tensors and tuples

int64_t power(int base, int exponent) {
  int64_t value = 1;
  for (int k = 0; k < exponent; ++k) value *= base;
  return value;
}

// Every sorted tuple of one order, lexicographic.
void tuples_of_order(int width, int order, std::vector<std::vector<int>>& out) {
  std::vector<int> tuple(static_cast<size_t>(order), 0);
  std::function<void(int, int)> fill = [&](int position, int first) {
    if (position == order) {
      out.push_back(tuple);
      return;
    }
    for (int a = first; a < width; ++a) {
      tuple[static_cast<size_t>(position)] = a;
      fill(position + 1, a);
    }
  };
  fill(0, 0);
}

template <typename Indices>
int64_t flat_index(const Indices& indices, int width) {
  int64_t index = 0;
  for (int a : indices) index = index * width + a;
  return index;
}

// Writes `value` at every permutation of the sorted tuple.
void scatter(std::vector<double>& tensor, std::vector<int> tuple, int width, double value) {
  std::sort(tuple.begin(), tuple.end());
  do {
    tensor[static_cast<size_t>(flat_index(tuple, width))] = value;
  } while (std::next_permutation(tuple.begin(), tuple.end()));
}

// Joint cumulants of order 2..4 of one tuple from the central moments of its sub-tuples.
// `central(indices)` returns E[prod (u_i - mean_i)] of the listed units.
double cumulant_from_central(const std::vector<int>& t,
                             const std::function<double(const std::vector<int>&)>& central) {
  switch (t.size()) {
    case 2:
    case 3:
      return central(t);
    case 4:
      return central(t) - central({t[0], t[1]}) * central({t[2], t[3]}) -
             central({t[0], t[2]}) * central({t[1], t[3]}) -
             central({t[0], t[3]}) * central({t[1], t[2]});
    default:
      throw std::invalid_argument("cumulant_from_central: order 2 to 4");
  }
}

// Kappa_1 = `mean` and the full tensors of orders 2..max_order from a layer's central moments.
JointCumulants from_central_moments(const std::vector<double>& mean, int max_order,
                                    const std::function<double(const std::vector<int>&)>& central) {
  const int w = static_cast<int>(mean.size());
  JointCumulants out;
  out.width = w;
  out.kappa.resize(static_cast<size_t>(max_order));
  out.kappa[0] = mean;
  for (int n = 2; n <= max_order; ++n) {
    auto& tensor = out.kappa[static_cast<size_t>(n - 1)];
    tensor.assign(static_cast<size_t>(power(w, n)), 0.0);
    std::vector<std::vector<int>> tuples;
    tuples_of_order(w, n, tuples);
    for (const auto& t : tuples) scatter(tensor, t, w, cumulant_from_central(t, central));
  }
  return out;
}

// kappa_n(W x + b) from kappa_n(x) for n = 1..4 (full tensors), by successive mode products.
JointCumulants affine_map(const JointCumulants& in, const AffineLayer& layer) {
  const Matrix<double>& w = layer.weight;
  const int out_width = static_cast<int>(w.rows());
  const int in_width = static_cast<int>(w.cols());
  JointCumulants out;
  out.width = out_width;
  out.kappa.resize(in.kappa.size());
  for (size_t k = 0; k < in.kappa.size(); ++k) {
    const int order = static_cast<int>(k) + 1;
    if (in.kappa[k].empty()) continue;
    // Apply W along one axis at a time: axis j of (out^j x in^(order-j)) becomes an out axis.
    std::vector<double> current = in.kappa[k];
    for (int axis = 0; axis < order; ++axis) {
      const int64_t before = power(out_width, axis);
      const int64_t after = power(in_width, order - axis - 1);
      std::vector<double> next(static_cast<size_t>(before * out_width * after), 0.0);
      for (int64_t p = 0; p < before; ++p) {
        for (int a = 0; a < out_width; ++a) {
          double* target = next.data() + (p * out_width + a) * after;
          for (int i = 0; i < in_width; ++i) {
            const double weight = w(a, i);
            if (weight == 0) continue;
            const double* source = current.data() + (p * in_width + i) * after;
            for (int64_t q = 0; q < after; ++q) target[q] += weight * source[q];
          }
        }
      }
      current.swap(next);
    }
    if (order == 1) {
      for (int a = 0; a < out_width; ++a) current[static_cast<size_t>(a)] += layer.bias(a);
    }
    out.kappa[k] = std::move(current);
  }
  return out;
}

// Diagonal cumulant tensors of `width` i.i.d. inputs.
JointCumulants iid_inputs(int width, const std::vector<double>& kappa, int max_order) {
  JointCumulants in;
  in.width = width;
  in.kappa.resize(static_cast<size_t>(max_order));
  for (int n = 1; n <= max_order; ++n) {
    auto& tensor = in.kappa[static_cast<size_t>(n - 1)];
    tensor.assign(static_cast<size_t>(power(width, n)), 0.0);
    for (int i = 0; i < width; ++i) {
      tensor[static_cast<size_t>(flat_index(std::vector<int>(static_cast<size_t>(n), i), width))] =
          n - 1 < static_cast<int>(kappa.size()) ? kappa[static_cast<size_t>(n - 1)] : 0.0;
    }
  }
  return in;
}

std::vector<double> cumulants_from_raw(const std::vector<double>& moments, int orders) {
  // kappa_n = m_n - sum_{j=1}^{n-1} C(n-1, j-1) kappa_j m_{n-j}
  std::vector<double> kappa(static_cast<size_t>(orders), 0.0);
  for (int n = 1; n <= orders; ++n) {
    double value = moments[static_cast<size_t>(n)];
    double binomial = 1;  // C(n-1, j-1)
    for (int j = 1; j < n; ++j) {
      value -= binomial * kappa[static_cast<size_t>(j - 1)] * moments[static_cast<size_t>(n - j)];
      binomial = binomial * double(n - j) / double(j);
    }
    kappa[static_cast<size_t>(n - 1)] = value;
  }
  return kappa;
}

// ---------------------------------------------------------------------------------------------
// Exact mode: units as polynomials of the inputs.

// A monomial's exponents packed 7 bits per input (at most 9 inputs, degrees below 128), so that
// multiplying monomials adds their codes.
constexpr int kExponentBits = 7;
constexpr int kMaxInputs = 9;
constexpr int kMaxDegree = (1 << kExponentBits) - 1;

// Terms (code, coefficient), sorted by code, codes distinct.
using Polynomial = std::vector<std::pair<uint64_t, double>>;

Polynomial from_terms(const std::unordered_map<uint64_t, double>& terms) {
  Polynomial p(terms.begin(), terms.end());
  std::sort(p.begin(), p.end());
  return p;
}

int exponent(uint64_t code, int input) {
  return static_cast<int>((code >> (kExponentBits * input)) & kMaxDegree);
}

Polynomial multiply(const Polynomial& a, const Polynomial& b) {
  std::unordered_map<uint64_t, double> product;
  product.reserve(a.size() * b.size());
  for (const auto& [ca, va] : a) {
    for (const auto& [cb, vb] : b) product[ca + cb] += va * vb;
  }
  return from_terms(product);
}

// The number of monomials of degree at most d in n variables, C(n + d, n).
double monomials(int n, int d) {
  double count = 1;
  for (int k = 1; k <= n; ++k) count = count * double(d + k) / double(k);
  return count;
}

// Work allowed for one layer's joint moments of order 3 and 4 (multiply-adds): above it those
// orders are left out for that layer, which says so through empty tensors.
constexpr double kExactBudget = 4e8;

int degree(const Polynomial& p, int inputs) {
  int best = 0;
  for (const auto& [code, value] : p) {
    int total = 0;
    for (int i = 0; i < inputs; ++i) total += exponent(code, i);
    best = std::max(best, total);
  }
  return best;
}

struct MomentTable {
  int inputs = 0;
  std::vector<double> site;  // E[x^k]

  double operator()(uint64_t code) const {
    double value = 1;
    for (int i = 0; i < inputs; ++i) value *= site[static_cast<size_t>(exponent(code, i))];
    return value;
  }
};

double expectation(const Polynomial& p, const MomentTable& moments) {
  double sum = 0;
  for (const auto& [code, value] : p) sum += value * moments(code);
  return sum;
}

// E[p q] without forming the product.
double expectation_of_product(const Polynomial& p, const Polynomial& q,
                              const MomentTable& moments) {
  double sum = 0;
  for (const auto& [cp, vp] : p) {
    for (const auto& [cq, vq] : q) sum += vp * vq * moments(cp + cq);
  }
  return sum;
}

Polynomial apply_polynomial_activation(nn::Activation activation, const Polynomial& z) {
  switch (activation) {
    case nn::Activation::kIdentity:
      return z;
    case nn::Activation::kQuadratic:
      return multiply(z, z);
    case nn::Activation::kCubic:
      return multiply(multiply(z, z), z);
    default:
      throw UsageError("exact propagation needs a polynomial activation");
  }
}

int activation_degree(nn::Activation activation) {
  switch (activation) {
    case nn::Activation::kIdentity:
      return 1;
    case nn::Activation::kQuadratic:
      return 2;
    case nn::Activation::kCubic:
      return 3;
    default:
      return -1;
  }
}

// Joint cumulants of polynomial units from their centred forms.
JointCumulants polynomial_cumulants(const std::vector<Polynomial>& units,
                                    const MomentTable& moments, int max_order) {
  const int width = static_cast<int>(units.size());
  int unit_degree = 0;
  for (const auto& unit : units) unit_degree = std::max(unit_degree, degree(unit, moments.inputs));
  JointCumulants out;
  out.width = width;
  out.kappa.resize(static_cast<size_t>(max_order));
  std::vector<double> mean(static_cast<size_t>(width));
  std::vector<Polynomial> centred(units);
  for (int a = 0; a < width; ++a) {
    mean[static_cast<size_t>(a)] = expectation(units[static_cast<size_t>(a)], moments);
    auto& terms = centred[static_cast<size_t>(a)];
    if (terms.empty() || terms.front().first != 0) terms.insert(terms.begin(), {0, 0.0});
    terms.front().second -= mean[static_cast<size_t>(a)];
  }
  out.kappa[0] = mean;
  if (max_order < 2) return out;
  // Products of pairs, shared by the moments of order 2 to 4.
  std::map<std::pair<int, int>, Polynomial> pairs;
  auto pair = [&](int a, int b) -> const Polynomial& {
    const auto key = std::make_pair(std::min(a, b), std::max(a, b));
    auto found = pairs.find(key);
    if (found == pairs.end()) {
      found = pairs
                  .emplace(key, multiply(centred[static_cast<size_t>(key.first)],
                                         centred[static_cast<size_t>(key.second)]))
                  .first;
    }
    return found->second;
  };
  auto central = [&](const std::vector<int>& t) -> double {
    switch (t.size()) {
      case 2:
        return expectation(pair(t[0], t[1]), moments);
      case 3:
        return expectation_of_product(pair(t[0], t[1]), centred[static_cast<size_t>(t[2])],
                                      moments);
      default:
        return expectation_of_product(pair(t[0], t[1]), pair(t[2], t[3]), moments);
    }
  };
  const double pair_terms = monomials(moments.inputs, 2 * unit_degree);
  for (int n = 2; n <= max_order; ++n) {
    std::vector<std::vector<int>> tuples;
    tuples_of_order(width, n, tuples);
    const double work =
        n == 2   ? double(tuples.size()) * pair_terms
        : n == 3 ? double(tuples.size()) * pair_terms * monomials(moments.inputs, unit_degree)
                 : double(tuples.size()) * pair_terms * pair_terms;
    if (work > kExactBudget) break;
    auto& tensor = out.kappa[static_cast<size_t>(n - 1)];
    tensor.assign(static_cast<size_t>(power(width, n)), 0.0);
    for (const auto& t : tuples) scatter(tensor, t, width, cumulant_from_central(t, central));
  }
  return out;
}

std::vector<JointCumulants> propagate_exact(const AffineChain& chain,
                                            const std::vector<double>& site_moments,
                                            int max_order) {
  const int inputs = chain.inputs();
  if (inputs > kMaxInputs) {
    throw UsageError("exact propagation handles blocks of at most " + std::to_string(kMaxInputs) +
                     " sites, not " + std::to_string(inputs));
  }
  const int needed = exact_moments_needed(chain, max_order);
  if (needed < 0) {
    throw UsageError(
        "exact propagation needs a polynomial activation (identity, quadratic, "
        "cubic), not " +
        nn::activation_name(chain.activation));
  }
  if (needed > kMaxDegree || needed >= static_cast<int>(site_moments.size())) {
    throw UsageError("exact propagation to order " + std::to_string(max_order) +
                     " needs input moments up to degree " + std::to_string(needed) + " (at most " +
                     std::to_string(std::min<int>(kMaxDegree, site_moments.size() - 1)) +
                     " here): the network is too deep for it");
  }
  MomentTable moments{inputs, site_moments};
  std::vector<Polynomial> units(static_cast<size_t>(inputs));
  for (int i = 0; i < inputs; ++i) {
    units[static_cast<size_t>(i)] = {{uint64_t{1} << (kExponentBits * i), 1.0}};
  }
  std::vector<JointCumulants> results;
  for (const auto& layer : chain.layers) {
    std::vector<Polynomial> next(static_cast<size_t>(layer.weight.rows()));
    for (Eigen::Index a = 0; a < layer.weight.rows(); ++a) {
      std::unordered_map<uint64_t, double> terms;
      if (layer.bias(a) != 0) terms[0] = layer.bias(a);
      for (Eigen::Index i = 0; i < layer.weight.cols(); ++i) {
        const double w = layer.weight(a, i);
        if (w == 0) continue;
        for (const auto& [code, value] : units[static_cast<size_t>(i)]) terms[code] += w * value;
      }
      Polynomial z = from_terms(terms);
      next[static_cast<size_t>(a)] =
          layer.activate ? apply_polynomial_activation(chain.activation, z) : std::move(z);
    }
    units = std::move(next);
    results.push_back(polynomial_cumulants(units, moments, max_order));
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Closures: from the cumulants of z = W h + b to those of phi(z).

// Derivatives phi^(j)(x) / j!, j = 0..order: exact for the polynomials, five-point finite
// differences otherwise (errors of order h^2 ~ 1e-6 relative, far below the closure's own).
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

// E[prod_i delta_{D_i}^{e_i}] for up to four distinct units D, from their joint cumulants of
// order 2..4 (higher ones zero), memoised over exponent vectors (each exponent below `base`).
// The recursion takes one factor of the last unit present and sums over the block of the set
// partition holding it: 1 to 3 further factors, chosen among the remaining ones.
class MixedMoments {
 public:
  MixedMoments(const JointCumulants& z, std::vector<int> units, int base)
      : z_(z), units_(std::move(units)), base_(base) {
    memo_.assign(static_cast<size_t>(power(base_, static_cast<int>(units_.size()))), kUnknown);
  }

  double operator()(std::array<int, 4> e) {
    const int r = static_cast<int>(units_.size());
    int total = 0, key = 0;
    for (int i = r - 1; i >= 0; --i) {
      total += e[static_cast<size_t>(i)];
      key = key * base_ + e[static_cast<size_t>(i)];
    }
    if (total == 0) return 1;
    if (total == 1) return 0;
    double& slot = memo_[static_cast<size_t>(key)];
    if (slot != kUnknown) return slot;
    int p = r - 1;
    while (e[static_cast<size_t>(p)] == 0) --p;
    --e[static_cast<size_t>(p)];
    double sum = 0;
    // Every choice c <= e of 1 to 3 further factors, counted C(e_i, c_i) ways.
    std::array<int, 4> c{0, 0, 0, 0};
    const int unit_p = units_[static_cast<size_t>(p)];
    for (c[0] = 0; c[0] <= (r > 0 ? std::min(e[0], 3) : 0); ++c[0]) {
      for (c[1] = 0; c[1] <= (r > 1 ? std::min(e[1], 3 - c[0]) : 0); ++c[1]) {
        for (c[2] = 0; c[2] <= (r > 2 ? std::min(e[2], 3 - c[0] - c[1]) : 0); ++c[2]) {
          for (c[3] = 0; c[3] <= (r > 3 ? std::min(e[3], 3 - c[0] - c[1] - c[2]) : 0); ++c[3]) {
            const int taken = c[0] + c[1] + c[2] + c[3];
            if (taken == 0) continue;
            const auto& tensor = z_.kappa[static_cast<size_t>(taken)];
            if (tensor.empty()) continue;
            int64_t index = unit_p;
            double ways = 1;
            std::array<int, 4> rest = e;
            for (int i = 0; i < r; ++i) {
              for (int k = 0; k < c[static_cast<size_t>(i)]; ++k) {
                index = index * z_.width + units_[static_cast<size_t>(i)];
              }
              ways *= binomial(e[static_cast<size_t>(i)], c[static_cast<size_t>(i)]);
              rest[static_cast<size_t>(i)] -= c[static_cast<size_t>(i)];
            }
            const double kappa = tensor[static_cast<size_t>(index)];
            if (kappa != 0) sum += ways * kappa * (*this)(rest);
          }
        }
      }
    }
    slot = sum;
    return sum;
  }

 private:
  static constexpr double kUnknown = -1e308;
  static double binomial(int n, int k) {
    double value = 1;
    for (int i = 1; i <= k; ++i) value = value * double(n - k + i) / double(i);
    return value;
  }

  const JointCumulants& z_;
  std::vector<int> units_;
  int base_;
  std::vector<double> memo_;
};

JointCumulants taylor_activation(const JointCumulants& z, nn::Activation activation, int order,
                                 int max_order) {
  const int w = z.width;
  std::vector<std::vector<double>> coefficients(static_cast<size_t>(w));
  std::vector<double> mean(static_cast<size_t>(w));
  for (int a = 0; a < w; ++a) {
    auto& c = coefficients[static_cast<size_t>(a)];
    c = taylor_coefficients(activation, z.kappa[0][static_cast<size_t>(a)], order);
    MixedMoments moments(z, {a}, order + 1);
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
    int most = 0;
    for (size_t i = 0; i < t.size(); ++i) {
      position[i] = static_cast<int>(std::find(units.begin(), units.end(), t[i]) - units.begin());
      most = std::max(most, static_cast<int>(std::count(t.begin(), t.end(), t[i])));
    }
    MixedMoments moments(z, units, most * order + 1);
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
  return from_central_moments(mean, max_order, central);
}

// Gauss-Hermite nodes and weights for E[f(u)], u ~ N(0, 1) (probabilists' normalisation), by
// the Golub-Welsch eigenvalue method.
void gauss_hermite(int points, std::vector<double>& nodes, std::vector<double>& weights) {
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

JointCumulants gauss_activation(const JointCumulants& z, nn::Activation activation, int points,
                                int max_order) {
  const int w = z.width;
  std::vector<double> nodes, weights;
  gauss_hermite(points, nodes, weights);
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
  return from_central_moments(mean, max_order, central);
}

}  // namespace

std::vector<Vector<double>> AffineChain::forward(const Vector<double>& x) const {
  std::vector<Vector<double>> outputs;
  Vector<double> h = x;
  for (const auto& layer : layers) {
    Vector<double> z = layer.weight * h + layer.bias;
    if (layer.activate) {
      for (Eigen::Index a = 0; a < z.size(); ++a) z(a) = nn::activation_value(activation, z(a));
    }
    outputs.push_back(z);
    h = z;
  }
  return outputs;
}

AffineChain affine_chain(const nn::Network<double>& network) {
  const auto& spec = network.spec();
  AffineChain chain;
  chain.activation = spec.activation;
  const int layers = network.layer_count();
  auto bias_of = [&](int layer, Eigen::Index rows) {
    return spec.bias ? network.bias(layer) : Vector<double>(Vector<double>::Zero(rows));
  };
  if (spec.kind == nn::ModelKind::kMlp) {
    for (int l = 0; l < layers; ++l) {
      AffineLayer layer;
      layer.weight = network.weight(l);
      layer.bias = bias_of(l, layer.weight.rows());
      layer.activate = l + 1 < layers;
      chain.layers.push_back(layer);
    }
    return chain;
  }
  // Graph network on node-major stacked features.
  const int nodes = network.inputs();
  const auto& neighbours = network.neighbours();
  for (int l = 0; l + 1 < layers; ++l) {
    const Matrix<double> self = network.weight(l);
    const Matrix<double> other = network.neighbour_weight(l);
    const Eigen::Index out = self.rows(), in = self.cols();
    AffineLayer layer;
    layer.weight = Matrix<double>::Zero(nodes * out, nodes * in);
    layer.bias = Vector<double>(nodes * out);
    const Vector<double> b = bias_of(l, out);
    for (int i = 0; i < nodes; ++i) {
      layer.weight.block(i * out, i * in, out, in) += self;
      const auto& list = neighbours[static_cast<size_t>(i)];
      const double scale = spec.mean_aggregation && !list.empty() ? 1.0 / double(list.size()) : 1.0;
      for (int j : list) layer.weight.block(i * out, j * in, out, in) += scale * other;
      layer.bias.segment(i * out, out) = b;
    }
    layer.activate = true;
    chain.layers.push_back(layer);
  }
  const Matrix<double> readout = network.weight(layers - 1);
  const Eigen::Index width = readout.cols();
  AffineLayer last;
  last.weight = Matrix<double>(readout.rows(), nodes * width);
  for (int i = 0; i < nodes; ++i) {
    last.weight.block(0, i * width, readout.rows(), width) =
        spec.mean_pooling ? Matrix<double>(readout / double(nodes)) : readout;
  }
  last.bias = bias_of(layers - 1, readout.rows());
  chain.layers.push_back(last);
  return chain;
}

Matrix<double> chain_activations(const nn::Network<double>& network,
                                 const nn::Network<double>::Tape& tape, int layer) {
  const int layers = network.layer_count();
  if (layer + 1 == layers) return tape.output;
  const Matrix<double>& h = tape.h[static_cast<size_t>(layer + 1)];
  if (network.spec().kind == nn::ModelKind::kMlp) return h;
  // Graph features: width x (B N), column s N + i; the chain's unit (i, f) is i * width + f,
  // which is the memory order of the block's N columns.
  const Eigen::Index nodes = network.inputs();
  const Eigen::Index blocks = h.cols() / nodes;
  return Eigen::Map<const Matrix<double>>(h.data(), h.rows() * nodes, blocks);
}

std::vector<std::vector<int>> sorted_tuples(int width, int max_order) {
  std::vector<std::vector<int>> tuples;
  for (int n = 1; n <= max_order; ++n) tuples_of_order(width, n, tuples);
  return tuples;
}

namespace {

// sum_s a[s] b[s] in a fixed order: 8 interleaved partial sums (independent chains the compiler
// can vectorise), combined pairwise. The order depends only on n, so sums are reproducible.
double dot(const double* a, const double* b, Eigen::Index n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Eigen::Index s = 0;
  for (; s + 8 <= n; s += 8) {
    for (int j = 0; j < 8; ++j) lane[j] += a[s + j] * b[s + j];
  }
  for (int j = 0; s < n; ++s, ++j) lane[j] += a[s] * b[s];
  return ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
}

}  // namespace

void add_tuple_sums(const Matrix<double>& centered, int max_order, std::vector<double>& sums) {
  const int width = static_cast<int>(centered.rows());
  const size_t total = sorted_tuples(width, max_order).size();
  if (sums.size() != total) sums.assign(total, 0.0);
  // The tuples a1 <= .. <= an of each order are visited as nested loops, which is their
  // lexicographic order; the product of a tuple's first n - 1 columns is kept per depth and
  // reused by every extension, so each tuple costs one multiply-add per sample.
  const Eigen::Index count = centered.cols();
  const Matrix<double> transposed = centered.transpose();  // samples x units: columns contiguous
  const std::vector<double> ones(static_cast<size_t>(count), 1.0);
  std::vector<std::vector<double>> prefix(static_cast<size_t>(max_order),
                                          std::vector<double>(static_cast<size_t>(count)));
  std::vector<size_t> next(static_cast<size_t>(max_order + 1), 0);  // next slot per order
  for (int n = 1, offset = 0; n <= max_order; ++n) {
    next[static_cast<size_t>(n)] = static_cast<size_t>(offset);
    std::vector<std::vector<int>> tuples;
    tuples_of_order(width, n, tuples);
    offset += static_cast<int>(tuples.size());
  }
  // depth d: prefix[d - 1] holds the product of the tuple's first d columns.
  std::function<void(int, int, const double*)> visit = [&](int depth, int first,
                                                           const double* product) {
    for (int a = first; a < width; ++a) {
      const double* column = transposed.col(a).data();
      sums[next[static_cast<size_t>(depth + 1)]++] += dot(product, column, count);
      if (depth + 1 < max_order) {
        double* extended = prefix[static_cast<size_t>(depth)].data();
        for (Eigen::Index s = 0; s < count; ++s) extended[s] = product[s] * column[s];
        visit(depth + 1, a, extended);
      }
    }
  };
  visit(0, 0, ones.data());
}

JointCumulants cumulants_from_tuple_sums(const std::vector<double>& sums, double count,
                                         const std::vector<double>& centre, int max_order) {
  const int w = static_cast<int>(centre.size());
  const auto tuples = sorted_tuples(w, max_order);
  if (sums.size() != tuples.size()) throw std::invalid_argument("tuple sums: wrong size");
  // Full tensors of the moments about the centre, then central moments by the binomial
  // expansion of prod ((x - c) - d), d = E[x - c], and cumulants from those.
  std::vector<std::vector<double>> raw(static_cast<size_t>(max_order));
  for (int n = 1; n <= max_order; ++n)
    raw[static_cast<size_t>(n - 1)].assign(static_cast<size_t>(power(w, n)), 0.0);
  for (size_t k = 0; k < tuples.size(); ++k) {
    scatter(raw[tuples[k].size() - 1], tuples[k], w, sums[k] / count);
  }
  const std::vector<double>& d = raw[0];
  auto r2 = [&](int a, int b) { return raw[1][static_cast<size_t>(a * w + b)]; };
  auto r3 = [&](int a, int b, int c) { return raw[2][static_cast<size_t>((a * w + b) * w + c)]; };
  auto c2 = [&](int a, int b) {
    return r2(a, b) - d[static_cast<size_t>(a)] * d[static_cast<size_t>(b)];
  };
  auto central = [&](const std::vector<int>& t) {
    const size_t a = static_cast<size_t>(t[0]), b = static_cast<size_t>(t[1]);
    if (t.size() == 2) return c2(t[0], t[1]);
    const size_t c = static_cast<size_t>(t[2]);
    if (t.size() == 3) {
      return r3(t[0], t[1], t[2]) - r2(t[0], t[1]) * d[c] - r2(t[0], t[2]) * d[b] -
             r2(t[1], t[2]) * d[a] + 2 * d[a] * d[b] * d[c];
    }
    const size_t e = static_cast<size_t>(t[3]);
    const double r4 = raw[3][static_cast<size_t>(flat_index(t, w))];
    return r4 - r3(t[0], t[1], t[2]) * d[e] - r3(t[0], t[1], t[3]) * d[c] -
           r3(t[0], t[2], t[3]) * d[b] - r3(t[1], t[2], t[3]) * d[a] +
           r2(t[0], t[1]) * d[c] * d[e] + r2(t[0], t[2]) * d[b] * d[e] +
           r2(t[0], t[3]) * d[b] * d[c] + r2(t[1], t[2]) * d[a] * d[e] +
           r2(t[1], t[3]) * d[a] * d[c] + r2(t[2], t[3]) * d[a] * d[b] -
           3 * d[a] * d[b] * d[c] * d[e];
  };
  JointCumulants out;
  out.width = w;
  out.kappa.resize(static_cast<size_t>(max_order));
  out.kappa[0].resize(static_cast<size_t>(w));
  for (int a = 0; a < w; ++a) {
    out.kappa[0][static_cast<size_t>(a)] =
        centre[static_cast<size_t>(a)] + d[static_cast<size_t>(a)];
  }
  for (int n = 2; n <= max_order; ++n) {
    auto& tensor = out.kappa[static_cast<size_t>(n - 1)];
    tensor.assign(static_cast<size_t>(power(w, n)), 0.0);
    std::vector<std::vector<int>> order_tuples;
    tuples_of_order(w, n, order_tuples);
    for (const auto& t : order_tuples) {
      const double value = n < 4 ? central(t)
                                 : central(t) - c2(t[0], t[1]) * c2(t[2], t[3]) -
                                       c2(t[0], t[2]) * c2(t[1], t[3]) -
                                       c2(t[0], t[3]) * c2(t[1], t[2]);
      scatter(tensor, t, w, value);
    }
  }
  return out;
}

std::string propagation_mode_name(PropagationMode mode) {
  switch (mode) {
    case PropagationMode::kExact:
      return "exact";
    case PropagationMode::kTaylor:
      return "taylor";
    case PropagationMode::kGauss:
      return "gauss";
  }
  return "?";
}

std::vector<double> raw_moments_from_cumulants(const std::vector<double>& kappa, int max_power) {
  // m_n = sum_{j=1}^{n} C(n-1, j-1) kappa_j m_{n-j}
  std::vector<double> m(static_cast<size_t>(max_power) + 1, 0.0);
  m[0] = 1;
  for (int n = 1; n <= max_power; ++n) {
    double value = 0, binomial = 1;  // C(n-1, j-1)
    for (int j = 1; j <= n; ++j) {
      const double k =
          j - 1 < static_cast<int>(kappa.size()) ? kappa[static_cast<size_t>(j - 1)] : 0.0;
      value += binomial * k * m[static_cast<size_t>(n - j)];
      binomial = binomial * double(n - j) / double(j);
    }
    m[static_cast<size_t>(n)] = value;
  }
  return m;
}

std::vector<double> site_raw_moments(const field::Distribution& distribution, int level,
                                     int block_side, int dim, double scaling_dimension,
                                     int max_power) {
  std::vector<double> m(static_cast<size_t>(max_power) + 1, 0.0);
  m[0] = 1;
  using Kind = field::DistributionKind;
  for (int k = 1; k <= max_power; ++k) {
    const bool even = k % 2 == 0;
    double value = 0;
    switch (distribution.kind) {
      case Kind::kGaussian:  // (k - 1)!!
        value = even ? (k == 2 ? 1.0 : double(k - 1) * m[static_cast<size_t>(k - 2)]) : 0.0;
        break;
      case Kind::kUniform:  // on [-sqrt 3, sqrt 3]
        value = even ? std::pow(3.0, k / 2) / double(k + 1) : 0.0;
        break;
      case Kind::kRademacher:
        value = even ? 1.0 : 0.0;
        break;
      case Kind::kLaplace:  // scale 2^(-1/2): k! / 2^(k/2)
        value = even ? std::tgamma(double(k) + 1) / std::pow(2.0, k / 2) : 0.0;
        break;
      case Kind::kExponential: {  // E[(E - 1)^k] = sum_j C(k, j) j! (-1)^(k-j)
        double binomial = 1, factorial = 1;
        for (int j = 0; j <= k; ++j) {
          if (j > 0) {
            binomial = binomial * double(k - j + 1) / double(j);
            factorial *= double(j);
          }
          value += binomial * factorial * ((k - j) % 2 == 0 ? 1.0 : -1.0);
        }
        break;
      }
      case Kind::kGamma: {  // ((G - a) / sqrt a)^k with E[G^j] = a (a + 1) ... (a + j - 1)
        const double a = distribution.gamma_shape;
        double binomial = 1, rising = 1;
        for (int j = 0; j <= k; ++j) {
          if (j > 0) {
            binomial = binomial * double(k - j + 1) / double(j);
            rising *= a + double(j - 1);
          }
          value += binomial * rising * std::pow(-a, k - j);
        }
        value /= std::pow(a, 0.5 * k);
        break;
      }
    }
    m[static_cast<size_t>(k)] = value;
  }
  if (level == 0) return m;
  std::vector<double> kappa = cumulants_from_raw(m, max_power);
  const double sites = std::pow(double(block_side), dim);
  for (int n = 1; n <= max_power; ++n) {
    const double factor = sites * std::pow(double(block_side), -n * scaling_dimension);
    kappa[static_cast<size_t>(n - 1)] *= std::pow(factor, level);
  }
  return raw_moments_from_cumulants(kappa, max_power);
}

int exact_moments_needed(const AffineChain& chain, int max_order) {
  const int per_layer = activation_degree(chain.activation);
  if (per_layer < 0) return -1;
  int degree = 1;
  for (const auto& layer : chain.layers) {
    if (layer.activate) degree *= per_layer;
  }
  return degree * max_order;
}

std::vector<JointCumulants> propagate(const AffineChain& chain,
                                      const std::vector<double>& site_moments,
                                      const PropagationSettings& settings) {
  if (settings.max_order < 1 || settings.max_order > 4) {
    throw std::invalid_argument("propagation: max_order must be 1 to 4");
  }
  if (settings.mode == PropagationMode::kExact) {
    return propagate_exact(chain, site_moments, settings.max_order);
  }
  if (settings.mode == PropagationMode::kTaylor &&
      (settings.taylor_order < 1 || settings.taylor_order > 3)) {
    throw UsageError("the Taylor order must be 1, 2 or 3, not " +
                     std::to_string(settings.taylor_order));
  }
  if (settings.mode == PropagationMode::kGauss &&
      (settings.quadrature_points < 2 || settings.quadrature_points > 20)) {
    throw UsageError("the number of Gauss-Hermite points must be 2 to 20, not " +
                     std::to_string(settings.quadrature_points));
  }
  if (site_moments.size() < 5) {
    throw std::invalid_argument("propagation: the closures need site moments up to order 4");
  }
  // The closures carry every order up to 4 between layers (the Taylor closure uses them all).
  const std::vector<double> site_kappa = cumulants_from_raw(site_moments, 4);
  JointCumulants current = iid_inputs(chain.inputs(), site_kappa, 4);
  std::vector<JointCumulants> results;
  for (const auto& layer : chain.layers) {
    JointCumulants z = affine_map(current, layer);
    if (layer.activate) {
      z = settings.mode == PropagationMode::kTaylor
              ? taylor_activation(z, chain.activation, settings.taylor_order, 4)
              : gauss_activation(z, chain.activation, settings.quadrature_points, 4);
    }
    current = z;
    JointCumulants reported = z;
    reported.kappa.resize(static_cast<size_t>(settings.max_order));
    results.push_back(std::move(reported));
  }
  return results;
}

double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw std::invalid_argument("relative_difference: sizes differ");
  double difference = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return norm > 0 ? std::sqrt(difference / norm) : std::sqrt(difference);
}

std::vector<double> linear_weight_power_sums(const AffineChain& chain, int orders) {
  Matrix<double> effective = Matrix<double>::Identity(chain.inputs(), chain.inputs());
  for (const auto& layer : chain.layers) effective = layer.weight * effective;
  std::vector<double> sums(static_cast<size_t>(orders), 0.0);
  for (int n = 1; n <= orders; ++n) {
    for (Eigen::Index i = 0; i < effective.cols(); ++i) {
      sums[static_cast<size_t>(n - 1)] += std::pow(effective(0, i), n);
    }
  }
  return sums;
}

}  // namespace rgflow::analysis
