// Closures for a non-polynomial activation phi (docs/science.md section 4): the joint cumulants of
// phi(z), up to order 4, from those of z = W h + b, approximately.
// - Taylor: phi expanded about each unit's mean to a chosen order; moments of the deviations
//   from their cumulants up to order 4 (higher ones taken as zero);
// - Gauss-Hermite: the units taken as jointly Gaussian (their means and covariance), moments of
//   phi by Gauss-Hermite quadrature over up to four correlated units.
#pragma once

#include <vector>

#include "rgflow/analysis/cumulant_tensor.hpp"
#include "rgflow/nn/activation.hpp"
#include "rgflow/nn/network.hpp"

namespace rgflow::analysis {

/// The Taylor coefficients phi^(j)(x) / j!, j = 0..order: exact for the polynomials, the linear
/// piece for relu, five-point finite differences otherwise (errors of order h^2 ~ 1e-6
/// relative, far below the closure's own).
std::vector<double> taylor_coefficients(nn::Activation activation, double x, int order);

/// Joint cumulants of phi(z) of orders 1..max_order (<= 4) by the Taylor closure of order
/// `order` (1..3); `z` must carry every order 1..4. `symmetries`: unit permutations that leave
/// z's law invariant (AffineLayer::symmetries); each orbit of unit sets is computed once and
/// copied to the others (the same values up to rounding, a fraction of the work).
JointCumulants taylor_closure(const JointCumulants& z, nn::Activation activation, int order,
                              int max_order, const std::vector<std::vector<int>>& symmetries = {});

/// The covariance of `units` (rows and columns of the width x width row-major `covariance`) as
/// a sum of outer products d d^T, one d per eigenvalue above 1e-13 of the largest: a Gaussian
/// vector with that covariance is mean + sum_k d_k u_k, u_k independent N(0, 1). Eigenvalues
/// below the threshold (a degenerate law) drop out, so the Gauss-Hermite grid is over fewer
/// directions.
std::vector<nn::Vector<double>> gaussian_directions(const std::vector<double>& covariance,
                                                    int width, const std::vector<int>& units);

/// E[phi(z_a)] for every unit a of z, each z_a taken as N(mean, variance) of its cumulants, by
/// the Gauss-Hermite rule (`nodes`, `weights`: gauss_hermite_rule).
std::vector<double> gauss_unit_means(const JointCumulants& z, nn::Activation activation,
                                     const std::vector<double>& nodes,
                                     const std::vector<double>& weights);

/// Gauss-Hermite nodes and weights for E[f(u)], u ~ N(0, 1) (probabilists' normalisation).
void gauss_hermite_rule(int points, std::vector<double>& nodes, std::vector<double>& weights);

/// Joint cumulants of phi(z) of orders 1..max_order (<= 4) by the Gaussian closure with
/// `points` Gauss-Hermite points per dimension; uses z's orders 1 and 2. `symmetries`: as for
/// taylor_closure.
JointCumulants gauss_closure(const JointCumulants& z, nn::Activation activation, int points,
                             int max_order, const std::vector<std::vector<int>>& symmetries = {});

}  // namespace rgflow::analysis
