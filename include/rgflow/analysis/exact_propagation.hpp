// Exact cumulant propagation through networks with a polynomial activation (identity,
// quadratic, cubic): every unit is an explicit polynomial of the N <= 9 block inputs, and its
// joint moments follow from the inputs' raw moments (independence makes them products), with no
// truncation at any order.
#pragma once

#include <vector>

#include "rgflow/analysis/affine_chain.hpp"

namespace rgflow::analysis {

/// The highest raw moment of a site that exact propagation through `chain` up to `max_order`
/// needs (the degree of the output's max_order-th power), or -1 if the activation is not a
/// polynomial.
int exact_moments_needed(const AffineChain& chain, int max_order);

/// Joint cumulants up to `max_order` (1..4) of every layer of the chain when its inputs are
/// i.i.d. with raw moments site_moments[k] = E[x^k]. A layer whose order 3-4 tensors would
/// exceed the work budget leaves them empty (the output's never do in practice). UsageError
/// when the activation is not a polynomial, the block has more than 9 sites, or the moments
/// given do not reach exact_moments_needed.
std::vector<JointCumulants> propagate_exact(const AffineChain& chain,
                                            const std::vector<double>& site_moments, int max_order);

}  // namespace rgflow::analysis
