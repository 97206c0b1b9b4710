// The Monte Carlo side of the propagation: joint cumulants of a layer's units estimated from its
// activations on sampled inputs, through sums over the samples of products of the units of each
// sorted tuple (sorted_tuples), taken about a fixed centre. Sums of disjoint sample sets add, so
// they can be accumulated per jackknife group and merged in a fixed order.
#pragma once

#include <vector>

#include "rgflow/analysis/cumulant_tensor.hpp"
#include "rgflow/nn/network.hpp"

namespace rgflow::analysis {

/// Adds, for every sorted tuple, the sum over the columns of `centered` of the product of its
/// entries (`sums` has one slot per tuple of sorted_tuples(rows, max_order); resized to that,
/// zero-filled, when its size differs).
void add_tuple_sums(const nn::Matrix<double>& centered, int max_order, std::vector<double>& sums);

/// Joint cumulants from tuple sums of `count` samples taken about a centre c, one per sorted tuple
/// (the layout of the sums: kappa_1 of each unit, then the distinct entries of orders 2..4).
std::vector<double> tuple_cumulants_from_sums(const std::vector<double>& sums, double count,
                                              const std::vector<double>& centre, int max_order);

/// The full symmetric tensors of values given one per sorted tuple (sorted_tuples order).
JointCumulants scatter_tuple_values(const std::vector<double>& values, int width, int max_order);

/// Joint cumulants from tuple sums of `count` samples taken about a centre c (the sample mean
/// need not be c): cumulants of the samples, plain (not bias-corrected) estimators.
JointCumulants cumulants_from_tuple_sums(const std::vector<double>& sums, double count,
                                         const std::vector<double>& centre, int max_order);

}  // namespace rgflow::analysis
