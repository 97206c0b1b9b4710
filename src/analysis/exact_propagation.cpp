#include "rgflow/analysis/exact_propagation.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>

#include "rgflow/core/error.hpp"

namespace rgflow::analysis {
namespace {

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
    append_sorted_tuples(width, n, tuples);
    const double work =
        n == 2   ? double(tuples.size()) * pair_terms
        : n == 3 ? double(tuples.size()) * pair_terms * monomials(moments.inputs, unit_degree)
                 : double(tuples.size()) * pair_terms * pair_terms;
    if (work > kExactBudget) break;
    auto& tensor = out.kappa[static_cast<size_t>(n - 1)];
    tensor.assign(static_cast<size_t>(tensor_size(width, n)), 0.0);
    for (const auto& t : tuples)
      scatter_symmetric(tensor, t, width, cumulant_from_central(t, central));
  }
  return out;
}

}  // namespace

int exact_moments_needed(const AffineChain& chain, int max_order) {
  const int per_layer = activation_degree(chain.activation);
  if (per_layer < 0) return -1;
  int degree = 1;
  for (const auto& layer : chain.layers) {
    if (layer.activate) degree *= per_layer;
  }
  return degree * max_order;
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

}  // namespace rgflow::analysis
