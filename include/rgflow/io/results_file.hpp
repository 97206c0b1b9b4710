// results.h5 (docs/schema.md) and the CSV tables beside it, written by `rgflow analyze`.
#pragma once

#include <hdf5.h>

#include <string>

#include "rgflow/analysis/cumulant_flow.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/nn/metrics.hpp"

namespace rgflow::io {

/// Writes group /cumulants: every array with an `axes` attribute naming its dimensions.
/// Serial HDF5 (one rank).
void write_cumulant_flow(hid_t file, const analysis::CumulantFlow& flow, const DatasetSpec& data);

/// One row per (level, n): level, n, kappa, error, exact, z_exact, recursion_difference and its
/// error, eigenvalue and its error (empty at level 0), expected eigenvalue.
void write_cumulant_csv(const std::string& path, const analysis::CumulantFlow& flow);

/// Group /generalisation: dataset `mse` (models x test sets) with the names as attributes.
void write_generalisation(hid_t file, const std::vector<std::string>& models,
                          const std::vector<std::string>& tests,
                          const std::vector<std::vector<double>>& mse);
void write_generalisation_csv(const std::string& path, const std::vector<std::string>& models,
                              const std::vector<std::string>& tests,
                              const std::vector<std::vector<double>>& mse);
/// Group /flow/<model>: the cumulant table of the model's learned levels (as /cumulants).
void write_learned_flows(hid_t file, const std::vector<std::string>& models,
                         const std::vector<analysis::CumulantFlow>& flows);

/// Symmetry metrics of one model (SCIENCE.md section 5), measured on the wrapped network.
struct SymmetryReport {
  nn::OutputSymmetryErrors errors;
  std::vector<double> invariant_fraction;  // per hidden layer, point group
  std::vector<double> equivariance_error;  // per graph layer (graph networks only)
  std::vector<double> order_parameter;     // per hidden layer, trained weights
  std::vector<double> order_history;       // records x hidden layers, from /history
  std::vector<double> history_epochs;      // records
};
/// Group /symmetry/<model>.
void write_symmetry(hid_t file, const std::string& model, const SymmetryReport& report);

/// Cumulant propagation through one model (SCIENCE.md section 4): predictions of every mode next
/// to the Monte Carlo estimates from the network's own activations.
struct PropagationReport {
  std::string skipped;  // why no propagation was done ("" if it was)
  int input_level = 0;
  int64_t blocks = 0;                   // Monte Carlo sample size
  std::vector<std::string> modes;       // exact, taylor, gauss (those that applied)
  std::vector<std::string> mode_notes;  // per mode: "" or why it was not done
  std::vector<std::string> layers;      // hidden_1, ..., output
  std::vector<double> widths;           // per layer
  std::vector<std::vector<std::vector<double>>>
      relative_error;                                   // mode, layer, order 1..4 (NaN: none)
  std::vector<std::vector<double>> mc_relative_error;   // layers x 4: ||MC error|| / ||MC||
  std::vector<std::vector<double>> output_predicted;    // per mode: kappa_1..4 of the output
  std::vector<double> output_mc, output_mc_error;       // kappa_1..4
  std::vector<std::vector<double>> marginal_predicted;  // per mode: units x 4, flattened
  std::vector<double> marginal_mc, marginal_mc_error;   // units x 4, flattened
  std::vector<double> marginal_layer;                   // per unit: its layer (0-based)
  std::vector<double> linear_power_sums;                // identity networks: sum_i w_i^n, n = 1..8
  std::vector<double> linear_expected;                  // N^(1 - n/2)
};
/// Group /propagation/<model>.
void write_propagation(hid_t file, const std::string& model, const PropagationReport& report);
/// One row per (model, mode, layer, order): relative error against Monte Carlo and the Monte
/// Carlo estimate's own relative error.
void write_propagation_csv(const std::string& path, const std::vector<std::string>& models,
                           const std::vector<PropagationReport>& reports);

}  // namespace rgflow::io
