#include "rgflow/analysis/symmetry_metrics.hpp"

#include <algorithm>

#include "rgflow/core/error.hpp"
#include "rgflow/nn/symmetry_group.hpp"

namespace rgflow::analysis {

SymmetryReport symmetry_report(const nn::Network<double>& network, const nn::Matrix<double>& blocks,
                               uint64_t seed) {
  SymmetryReport report;
  report.errors = nn::output_symmetry_errors(network, blocks, 16, seed);
  const auto group = nn::point_group(network.spec().block);
  report.invariant_fraction = nn::invariant_fraction(network, blocks, group);
  if (network.spec().kind == nn::ModelKind::kGnn) {
    report.equivariance_error = nn::equivariance_error(network, blocks, group);
  }
  report.order_parameter = nn::unit_order_parameter(network);
  return report;
}

SymmetrySums::SymmetrySums(const std::vector<size_t>& hidden_layers) : start_{0} {
  for (const size_t hidden : hidden_layers) start_.push_back(start_.back() + 4 + 3 * hidden);
  slots_.assign(start_.back(), 0.0);
}

void SymmetrySums::set(size_t model, const SymmetryReport& report) {
  const size_t hidden = (start_[model + 1] - start_[model] - 4) / 3;
  double* out = slots_.data() + start_[model];
  out[0] = report.errors.permutation;
  out[1] = report.errors.point_group;
  out[2] = report.errors.sign;
  out[3] = report.errors.scale;
  const std::vector<double>* parts[] = {&report.invariant_fraction, &report.equivariance_error,
                                        &report.order_parameter};
  for (size_t p = 0; p < 3; ++p) {
    if (parts[p]->size() > hidden) throw LibraryError("symmetry metrics: unexpected size");
    std::copy(parts[p]->begin(), parts[p]->end(), out + 4 + p * hidden);
  }
}

SymmetryReport SymmetrySums::report(size_t model, bool graph) const {
  const double* in = slots_.data() + start_[model];
  const size_t hidden = (start_[model + 1] - start_[model] - 4) / 3;
  SymmetryReport report;
  report.errors = {in[0], in[1], in[2], in[3]};
  report.invariant_fraction.assign(in + 4, in + 4 + hidden);
  if (graph) report.equivariance_error.assign(in + 4 + hidden, in + 4 + 2 * hidden);
  report.order_parameter.assign(in + 4 + 2 * hidden, in + 4 + 3 * hidden);
  return report;
}

}  // namespace rgflow::analysis
