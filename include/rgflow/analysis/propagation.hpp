// Cumulant propagation through a network (docs/science.md section 4): the joint cumulants, up to
// order 4, of every layer's units when the block's sites are i.i.d., predicted layer by layer,
// and the same cumulants estimated from the network's own activations (Monte Carlo).
//
// This header gathers the pieces, each in its own header:
// - cumulant_tensor.hpp: joint cumulant tensors, sorted index tuples, cumulants from central
//   moments;
// - affine_chain.hpp: the network as a chain of affine maps (graph layers on the node-major
//   stacked features) and the exact propagation through one affine map;
// - exact_propagation.hpp: the exact mode (identity, quadratic, cubic), units as explicit
//   polynomials of the N block inputs;
// - closures.hpp: the Taylor and Gauss-Hermite closures for other activations;
// - tuple_sums.hpp: the Monte Carlo estimates from tuple sums;
// and propagate(), which runs one mode through a whole chain.
#pragma once

#include <string>
#include <vector>

#include "rgflow/analysis/affine_chain.hpp"
#include "rgflow/analysis/closures.hpp"
#include "rgflow/analysis/cumulant_tensor.hpp"
#include "rgflow/analysis/exact_propagation.hpp"
#include "rgflow/analysis/tuple_sums.hpp"
#include "rgflow/field/distribution.hpp"

namespace rgflow::analysis {

enum class PropagationMode { kExact, kTaylor, kGauss };
std::string propagation_mode_name(PropagationMode mode);

struct PropagationSettings {
  PropagationMode mode = PropagationMode::kGauss;
  int taylor_order = 2;       // 1..3
  int quadrature_points = 8;  // Gauss-Hermite points per dimension, 2..20
  int max_order = 4;          // joint cumulants up to this order (1..4)
};

/// The predicted joint cumulants of every layer of the chain (hidden layers after their
/// activation, then the output) when its inputs are i.i.d. with raw moments `site_moments`
/// (E[x^k], k = 0..; exact mode needs as many as the polynomial degree requires, the closures
/// four). UsageError naming the reason when the mode does not apply (exact with a non-polynomial
/// activation, a degree beyond the moments given, more than 9 inputs).
std::vector<JointCumulants> propagate(const AffineChain& chain,
                                      const std::vector<double>& site_moments,
                                      const PropagationSettings& settings);

}  // namespace rgflow::analysis
