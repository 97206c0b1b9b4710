// Joint cumulant tensors of a layer's units (docs/science.md section 4) and the index arithmetic
// the propagation modes and the Monte Carlo share: full symmetric tensors stored flat, sorted index
// tuples (one per distinct entry), and cumulants of order 2..4 from central moments.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace rgflow::analysis {

/// Joint cumulants of the W units of a layer up to order 4, as full symmetric tensors
/// (order n: W^n entries, index ((a * W + b) * W + c) ...). Orders not computed are empty.
struct JointCumulants {
  int width = 0;
  std::vector<std::vector<double>> kappa;  // kappa[n - 1], n = 1..4
};

/// width^order: the number of entries of an order-`order` tensor over `width` units.
int64_t tensor_size(int width, int order);

/// The flat index ((i1 * W + i2) * W + i3) ... of an entry of a tensor over W = `width` units.
template <typename Indices>
int64_t flat_index(const Indices& indices, int width) {
  int64_t index = 0;
  for (int a : indices) index = index * width + a;
  return index;
}

/// Steps `tuple` (order entries, a1 <= ... <= a_order < width) to the next sorted tuple in
/// lexicographic order; false after the last.
bool next_sorted_tuple(int* tuple, int order, int width);

/// Appends to `out` every sorted tuple a1 <= ... <= a_order of `width` units, lexicographic.
void append_sorted_tuples(int width, int order, std::vector<std::vector<int>>& out);

/// The sorted index tuples a1 <= ... <= an of every order n = 1..max_order of `width` units, in
/// the order used by tuple sums (order by order, lexicographic).
std::vector<std::vector<int>> sorted_tuples(int width, int max_order);

/// Writes `value` at every permutation of `tuple` in the flat symmetric tensor.
void scatter_symmetric(std::vector<double>& tensor, std::vector<int> tuple, int width,
                       double value);

/// E[prod_i (u_{t_i} - mean_{t_i})] of the units of a sorted tuple t (2 to 4 entries).
using CentralMoment = std::function<double(const std::vector<int>&)>;

/// The joint cumulant of a sorted tuple of 2 to 4 units from the central moments of its
/// sub-tuples (kappa_2,3 = the central moment; kappa_4 subtracts the three pairings).
double cumulant_from_central(const std::vector<int>& tuple, const CentralMoment& central);

/// kappa_1 = `mean` and the full tensors of orders 2..max_order (max_order <= 4) of a layer
/// from its central moments, each distinct entry computed once.
JointCumulants joint_cumulants_from_central(const std::vector<double>& mean, int max_order,
                                            const CentralMoment& central);

/// The diagonal cumulant tensors of orders 1..max_order of `width` i.i.d. inputs with cumulants
/// kappa[n - 1] (missing ones zero).
JointCumulants iid_cumulants(int width, const std::vector<double>& kappa, int max_order);

/// Relative difference ||a - b|| / ||b|| (Euclidean, over every entry) of one order's tensors;
/// ||a - b|| when b = 0. std::invalid_argument if the sizes differ.
double relative_difference(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace rgflow::analysis
