#include "rgflow/analysis/propagation.hpp"

#include <stdexcept>

#include "rgflow/core/error.hpp"

namespace rgflow::analysis {

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
  const std::vector<double> site_kappa = field::cumulants_from_raw_moments(site_moments, 4);
  JointCumulants current = iid_cumulants(chain.inputs(), site_kappa, 4);
  std::vector<JointCumulants> results;
  for (const auto& layer : chain.layers) {
    JointCumulants z = affine_cumulants(current, layer);
    if (layer.activate) {
      z = settings.mode == PropagationMode::kTaylor
              ? taylor_closure(z, chain.activation, settings.taylor_order, 4, layer.symmetries)
              : gauss_closure(z, chain.activation, settings.quadrature_points, 4, layer.symmetries);
    }
    current = z;
    JointCumulants reported = z;
    reported.kappa.resize(static_cast<size_t>(settings.max_order));
    results.push_back(std::move(reported));
  }
  return results;
}

}  // namespace rgflow::analysis
