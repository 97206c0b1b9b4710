// results.h5 (docs/schema.md) and the CSV tables beside it, written by `rgflow analyze`.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rgflow/analysis/cumulant_flow.hpp"
#include "rgflow/analysis/model_propagation.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/nn/metrics.hpp"

namespace rgflow::io {

/// The root attributes of results.h5.
struct ResultsAttributes {
  std::string dataset_path, command_line, created;
  int64_t jackknife_groups = 0;
  // Root attribute `jackknife`: "samples" (groups of consecutive samples) or "space" (slabs of
  // whole top-level block rows of every sample).
  std::string jackknife = "samples";
  // Root attribute `network_precision`: "model:float32,model:float64,...", how each model's
  // network was applied in generalisation and learned flows (float32 when the model and the data
  // are both stored as float32); omitted without models.
  std::string precision;
};

/// results.h5 being written: created (truncating) at `path` with the root attributes on
/// construction, closed (and checked) by close(). Serial HDF5: one rank.
class ResultsFile {
 public:
  ResultsFile(const std::string& path, const ResultsAttributes& attributes);
  hid_t id() const { return file_.get(); }
  void close() { file_.close(); }

 private:
  h5::Hid file_;
};

/// Writes group /cumulants: every array with an `axes` attribute naming its dimensions.
/// Serial HDF5 (one rank).
void write_cumulant_flow(hid_t file, const analysis::CumulantFlow& flow, const DatasetSpec& data);

/// One row per (level, n): level, n, kappa, error, exact, z_exact, recursion_difference and its
/// error, eigenvalue and its error (empty at level 0), expected eigenvalue.
void write_cumulant_csv(const std::string& path, const analysis::CumulantFlow& flow);

/// Group /generalisation: dataset `mse` (models x test sets) with the names as attributes,
/// `description` (what each column means) and `notes` (why an entry is NaN: "model/test: why",
/// separated by "; "; empty when every entry has a value). Serial HDF5 (one rank).
void write_generalisation(hid_t file, const std::vector<std::string>& models,
                          const std::vector<std::string>& tests,
                          const std::vector<std::vector<double>>& mse,
                          const std::string& description, const std::string& notes);
void write_generalisation_csv(const std::string& path, const std::vector<std::string>& models,
                              const std::vector<std::string>& tests,
                              const std::vector<std::vector<double>>& mse);
/// A model's learned flow: row j of its tables is the data's level first_level + j after j
/// applications of the model (row 0 is the data itself); `note` says why there is none.
struct LearnedFlow {
  int first_level = 0;
  std::string note;
  analysis::CumulantFlow flow;
};
/// Group /flow/<model>: the cumulant tables of the model's learned levels (as /cumulants), with
/// attributes `first_level` and `note`. Serial HDF5 (one rank).
void write_learned_flows(hid_t file, const std::vector<std::string>& models,
                         const std::vector<LearnedFlow>& flows);

/// Symmetry metrics of one model (docs/science.md section 5), measured on the wrapped network.
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

/// Cumulant propagation through one model (docs/science.md section 4), made by the analysis layer.
using PropagationReport = analysis::PropagationReport;
/// Group /propagation/<model>.
void write_propagation(hid_t file, const std::string& model, const PropagationReport& report);
/// One row per (model, mode, layer, order): relative error against Monte Carlo and the Monte
/// Carlo estimate's own relative error.
void write_propagation_csv(const std::string& path, const std::vector<std::string>& models,
                           const std::vector<PropagationReport>& reports);

}  // namespace rgflow::io
