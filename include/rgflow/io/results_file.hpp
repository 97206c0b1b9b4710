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

}  // namespace rgflow::io
