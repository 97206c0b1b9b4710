// The closures' predictions against slow reference implementations kept here: the Gaussian
// closure as it was first written (one eigen-decomposition and one quadrature per sorted tuple),
// and the Taylor closure with every mixed moment of the deviations from a plain recursion over
// the blocks holding the first factor (independent of the closure's moment tables). The closures
// now share work between the tuples over the same distinct units; their predictions must not
// change.
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <map>

#include "nn_test_util.hpp"
#include "rgflow/analysis/propagation.hpp"
#include "rgflow/nn/symmetry_group.hpp"

namespace rgflow::analysis {
namespace {

using nn::Matrix;
using nn::Vector;

// Joint cumulant of the units in `units` (any order, 1..4 of them) from the full tensors.
double kappa_of(const JointCumulants& z, const std::vector<int>& units) {
  const auto& tensor = z.kappa[units.size() - 1];
  return tensor.empty() ? 0.0 : tensor[static_cast<size_t>(flat_index(units, z.width))];
}

// E[prod_k delta_{s_k}] (delta = z - E z), cumulants above order 4 zero: the first factor lies
// in a block of 2 to 4 factors (a cumulant) times the moment of the others. Memoised by the
// sorted multiset.
double deviation_moment(const JointCumulants& z, std::vector<int> s,
                        std::map<std::vector<int>, double>& memo) {
  std::sort(s.begin(), s.end());
  if (s.empty()) return 1.0;
  if (s.size() == 1) return 0.0;
  const auto found = memo.find(s);
  if (found != memo.end()) return found->second;
  const size_t n = s.size();
  double total = 0;
  // Subsets of the other n - 1 factors of size 1..3, by bit mask.
  for (uint32_t mask = 1; mask < (1u << (n - 1)); ++mask) {
    const int size = __builtin_popcount(mask);
    if (size > 3) continue;
    std::vector<int> block{s[0]}, rest;
    for (size_t k = 1; k < n; ++k) ((mask >> (k - 1)) & 1u ? block : rest).push_back(s[k]);
    const double kappa = kappa_of(z, block);
    if (kappa != 0) total += kappa * deviation_moment(z, rest, memo);
  }
  memo.emplace(s, total);
  return total;
}

JointCumulants reference_taylor(const JointCumulants& z, nn::Activation activation, int order,
                                int max_order) {
  const int w = z.width;
  std::map<std::vector<int>, double> memo;
  std::vector<std::vector<double>> c(static_cast<size_t>(w));
  std::vector<double> mean(static_cast<size_t>(w));
  for (int a = 0; a < w; ++a) {
    c[static_cast<size_t>(a)] =
        taylor_coefficients(activation, z.kappa[0][static_cast<size_t>(a)], order);
    double m = 0;
    for (int j = 0; j <= order; ++j) {
      m += c[static_cast<size_t>(a)][static_cast<size_t>(j)] *
           deviation_moment(z, std::vector<int>(static_cast<size_t>(j), a), memo);
    }
    mean[static_cast<size_t>(a)] = m;
    c[static_cast<size_t>(a)][0] -= m;
  }
  auto central = [&](const std::vector<int>& t) {
    double total = 0;
    std::vector<int> powers(t.size(), 0);
    while (true) {
      double product = 1;
      std::vector<int> factors;
      for (size_t i = 0; i < t.size(); ++i) {
        product *= c[static_cast<size_t>(t[i])][static_cast<size_t>(powers[i])];
        factors.insert(factors.end(), static_cast<size_t>(powers[i]), t[i]);
      }
      total += product * deviation_moment(z, factors, memo);
      size_t next = 0;
      while (next < t.size() && ++powers[next] > order) powers[next++] = 0;
      if (next == t.size()) break;
    }
    return total;
  };
  return joint_cumulants_from_central(mean, max_order, central);
}

JointCumulants reference_gauss(const JointCumulants& z, nn::Activation activation, int points,
                               int max_order) {
  std::vector<double> nodes, weights;
  gauss_hermite_rule(points, nodes, weights);
  const std::vector<double> mean = gauss_unit_means(z, activation, nodes, weights);
  const int w = z.width;
  const auto& mu = z.kappa[0];
  const auto& cov = z.kappa[1];
  auto central = [&](const std::vector<int>& t) {
    std::vector<int> distinct(t);
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    const int r = static_cast<int>(distinct.size());
    // The same directions as the closure (their own test is below): what this reference checks
    // is the closure's grid over them, its patterns and its symmetry orbits, by brute force.
    const std::vector<Vector<double>> directions = gaussian_directions(cov, w, distinct);
    const int q = static_cast<int>(directions.size());
    double total = 0;
    std::vector<int> grid(static_cast<size_t>(q), 0);
    while (true) {
      double weight = 1;
      Vector<double> point(r);
      for (int i = 0; i < r; ++i)
        point(i) = mu[static_cast<size_t>(distinct[static_cast<size_t>(i)])];
      for (int d = 0; d < q; ++d) {
        weight *= weights[static_cast<size_t>(grid[static_cast<size_t>(d)])];
        point += directions[static_cast<size_t>(d)] *
                 nodes[static_cast<size_t>(grid[static_cast<size_t>(d)])];
      }
      double product = weight;
      for (int a : t) {
        const size_t i = static_cast<size_t>(std::lower_bound(distinct.begin(), distinct.end(), a) -
                                             distinct.begin());
        product *= nn::activation_value(activation, point(static_cast<Eigen::Index>(i))) -
                   mean[static_cast<size_t>(a)];
      }
      total += product;
      int d = 0;
      while (d < q && ++grid[static_cast<size_t>(d)] == points) grid[static_cast<size_t>(d++)] = 0;
      if (d == q) break;
    }
    return total;
  };
  return joint_cumulants_from_central(mean, max_order, central);
}

// Pre-activation cumulants of every layer of a random tanh network on uniform sites, each layer
// fed the closure's own output (so the later layers' inputs carry full joint tensors).
AffineChain random_chain(std::vector<int> hidden, nn::Activation activation, uint64_t seed,
                         double scale) {
  return affine_chain(nn::testing::random_network(nn::ModelKind::kMlp, std::move(hidden),
                                                  activation, seed, scale, seed + 3));
}

void expect_same(const JointCumulants& got, const JointCumulants& expected, const std::string& what,
                 double tolerance = 1e-12) {
  ASSERT_EQ(got.kappa.size(), expected.kappa.size()) << what;
  for (size_t k = 0; k < expected.kappa.size(); ++k) {
    ASSERT_EQ(got.kappa[k].size(), expected.kappa[k].size()) << what;
    // Relative to the largest entry, or to the natural size sd^(k+1) of a cumulant of that order
    // where the entries are all near zero (odd orders of a symmetric rule on one unit).
    double scale = 0, variance = 0;
    for (double v : expected.kappa[k]) scale = std::max(scale, std::abs(v));
    for (double v : expected.kappa[1]) variance = std::max(variance, std::abs(v));
    scale = std::max(scale, std::pow(variance, 0.5 * double(k + 1)));
    for (size_t i = 0; i < got.kappa[k].size(); ++i) {
      ASSERT_NEAR(got.kappa[k][i], expected.kappa[k][i], tolerance * scale)
          << what << " order " << k + 1 << " entry " << i;
    }
  }
}

TEST(Closures, SharedWorkGivesTheReferencePredictions) {
  const auto moments =
      field::site_raw_moments({field::DistributionKind::kUniform}, 0, 2, 2, 1.0, 8);
  const std::vector<double> site_kappa = field::cumulants_from_raw_moments(moments, 4);
  for (auto activation : {nn::Activation::kTanh, nn::Activation::kGelu}) {
    const AffineChain chain = random_chain({6, 5}, activation, 31, 0.7);
    for (int max_order : {2, 3, 4}) {
      JointCumulants taylor_in = iid_cumulants(chain.inputs(), site_kappa, 4);
      JointCumulants gauss_in = taylor_in;
      for (size_t l = 0; l < chain.layers.size(); ++l) {
        const std::string where = nn::activation_name(activation) + " layer " + std::to_string(l) +
                                  " max_order " + std::to_string(max_order);
        const JointCumulants zt = affine_cumulants(taylor_in, chain.layers[l]);
        const JointCumulants zg = affine_cumulants(gauss_in, chain.layers[l]);
        for (int order : {1, 2, 3}) {
          expect_same(taylor_closure(zt, activation, order, max_order),
                      reference_taylor(zt, activation, order, max_order),
                      "taylor " + std::to_string(order) + " " + where);
        }
        for (int points : {2, 5}) {
          expect_same(gauss_closure(zg, activation, points, max_order),
                      reference_gauss(zg, activation, points, max_order),
                      "gauss " + std::to_string(points) + " " + where);
        }
        taylor_in = taylor_closure(zt, activation, 3, 4);
        gauss_in = gauss_closure(zg, activation, 5, 4);
      }
    }
  }
}

TEST(Closures, TiedUnitsIntegrateOverFewerDimensions) {
  // Two units with the same weights and bias are perfectly correlated: the Gaussian closure's
  // covariance of a set holding both is singular, and the shared grid must drop that direction
  // exactly as the per-tuple quadrature did; their joint cumulants equal their own ones.
  const auto moments =
      field::site_raw_moments({field::DistributionKind::kLaplace}, 0, 2, 2, 1.0, 8);
  const std::vector<double> site_kappa = field::cumulants_from_raw_moments(moments, 4);
  AffineChain chain = random_chain({4}, nn::Activation::kTanh, 5, 0.8);
  chain.layers[0].weight.row(2) = chain.layers[0].weight.row(0);
  chain.layers[0].bias(2) = chain.layers[0].bias(0);
  const JointCumulants z = affine_cumulants(iid_cumulants(4, site_kappa, 4), chain.layers[0]);
  const JointCumulants got = gauss_closure(z, nn::Activation::kTanh, 6, 4);
  expect_same(got, reference_gauss(z, nn::Activation::kTanh, 6, 4), "tied gauss");
  expect_same(taylor_closure(z, nn::Activation::kTanh, 3, 4),
              reference_taylor(z, nn::Activation::kTanh, 3, 4), "tied taylor");
  const int w = 4;
  EXPECT_NEAR(got.kappa[3][static_cast<size_t>(flat_index(std::vector<int>{0, 2, 0, 2}, w))],
              got.kappa[3][static_cast<size_t>(flat_index(std::vector<int>{0, 0, 0, 0}, w))],
              1e-12);
}

// A graph network's layers are equivariant under the block's graph symmetries, which the chain
// lists per layer; the closures compute one unit set per orbit and copy it: the predictions must
// equal those computed set by set.
TEST(Closures, GraphLayerSymmetriesAreExactAndGiveTheSamePredictions) {
  const auto moments =
      field::site_raw_moments({field::DistributionKind::kUniform}, 0, 2, 2, 1.0, 8);
  const std::vector<double> site_kappa = field::cumulants_from_raw_moments(moments, 4);
  struct Case {
    nn::BlockShape block;
    size_t symmetries;  // graph-preserving point-group elements besides the identity
  };
  for (const Case& c : {Case{{1, 4}, 1}, Case{{2, 2}, 7}}) {
    nn::ModelSpec spec;
    spec.kind = nn::ModelKind::kGnn;
    spec.block = c.block;
    spec.hidden = {3, 3};
    spec.activation = nn::Activation::kGelu;
    spec.seed = 3;
    nn::Network<double> net(spec);
    const nn::Matrix<double> theta = nn::testing::random_matrix(net.parameter_count(), 1, 8);
    for (Eigen::Index i = 0; i < net.parameter_count(); ++i) net.parameters()[i] = 0.6 * theta(i);
    const AffineChain chain = affine_chain(net);
    const std::string block = std::to_string(c.block.dim) + "D b = " + std::to_string(c.block.side);
    // Every listed unit permutation is what some site permutation of the block does to the
    // layer's outputs.
    const auto group = nn::point_group(c.block);
    const nn::Vector<double> x = nn::testing::random_matrix(c.block.sites(), 1, 21);
    const auto y = chain.forward(x);
    for (size_t l = 0; l + 1 < chain.layers.size(); ++l) {
      ASSERT_EQ(chain.layers[l].symmetries.size(), c.symmetries) << block;
      for (const auto& image : chain.layers[l].symmetries) {
        bool found = false;
        for (const auto& g : group) {
          nn::Vector<double> gx(x.size());
          nn::permute_block(g, x.data(), gx.data());
          const nn::Vector<double> gy = chain.forward(gx)[l];
          bool same = true;
          for (Eigen::Index a = 0; a < gy.size(); ++a) {
            same = same && std::abs(gy(image[static_cast<size_t>(a)]) - y[l](a)) < 1e-12;
          }
          found = found || same;
        }
        EXPECT_TRUE(found) << block << " layer " << l;
      }
    }
    EXPECT_TRUE(chain.layers.back().symmetries.empty());
    // The closures with and without the symmetries, layer after layer.
    JointCumulants taylor_in = iid_cumulants(chain.inputs(), site_kappa, 4);
    JointCumulants gauss_in = taylor_in;
    for (const auto& layer : chain.layers) {
      if (!layer.activate) break;
      const JointCumulants zt = affine_cumulants(taylor_in, layer);
      const JointCumulants zg = affine_cumulants(gauss_in, layer);
      taylor_in = taylor_closure(zt, spec.activation, 3, 4, layer.symmetries);
      gauss_in = gauss_closure(zg, spec.activation, 5, 4, layer.symmetries);
      // Taylor: symmetric units' means differ in the last bits, and the finite-difference
      // coefficients amplify that to about 1e-8 relative (their stated accuracy: 1e-6).
      expect_same(taylor_in, taylor_closure(zt, spec.activation, 3, 4), "taylor " + block, 1e-6);
      expect_same(gauss_in, gauss_closure(zg, spec.activation, 5, 4), "gauss " + block);
    }
  }
}

}  // namespace
// The directions reproduce the covariance of the chosen units (sum of d d^T), and a degenerate
// covariance (two units that are the same variable) gives one direction fewer.
TEST(Closures, GaussianDirectionsReproduceTheCovarianceAndDropDegenerateOnes) {
  const int w = 3;
  // Units 0 and 2 are one variable (equal variances, covariance 1): rank 2 over {0, 1, 2}.
  const std::vector<double> cov{1.0, 0.3, 1.0, 0.3, 2.0, 0.3, 1.0, 0.3, 1.0};
  for (const std::vector<int>& units :
       {std::vector<int>{0, 1}, std::vector<int>{1, 2}, std::vector<int>{0, 1, 2}}) {
    const auto directions = gaussian_directions(cov, w, units);
    EXPECT_EQ(directions.size(), 2u);  // {0, 2, 1}: rank 2; the pairs: full rank
    const int r = static_cast<int>(units.size());
    for (int i = 0; i < r; ++i) {
      for (int j = 0; j < r; ++j) {
        double sum = 0;
        for (const auto& d : directions) sum += d(i) * d(j);
        EXPECT_NEAR(sum,
                    cov[static_cast<size_t>(units[static_cast<size_t>(i)] * w +
                                            units[static_cast<size_t>(j)])],
                    1e-12)
            << "units of size " << r << ", entry (" << i << ", " << j << ")";
      }
    }
  }
  EXPECT_EQ(gaussian_directions(cov, w, {0, 2}).size(), 1u);
}

}  // namespace rgflow::analysis
