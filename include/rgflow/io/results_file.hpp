// results.h5 (docs/schema.md) and the CSV tables beside it, written by `rgflow analyze`.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "rgflow/analysis/cumulant_flow.hpp"
#include "rgflow/analysis/generalisation.hpp"
#include "rgflow/analysis/model_propagation.hpp"
#include "rgflow/analysis/spin_observables.hpp"
#include "rgflow/analysis/symmetry_metrics.hpp"
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
/// A model's learned flow (made by the analysis layer).
using LearnedFlow = analysis::LearnedFlow;

/// Group /flow/<model>: the cumulant tables of the model's learned levels (as /cumulants), with
/// attributes `first_level` and `note`. Serial HDF5 (one rank).
void write_learned_flows(hid_t file, const std::vector<std::string>& models,
                         const std::vector<LearnedFlow>& flows);

/// Group `spin_observables` below `location` (the file for the data's levels, /flow/<model> for
/// a model's learned levels, first_level..): tables `value`, `error`, `exact`, `z_exact` (level x
/// observable, docs/schema.md "Spin observables") and `sites` (per level), with the dimensions
/// `level` and `observable`; attribute `description` says what the rows hold.
void write_spin_observables(hid_t location, const analysis::SpinObservableFlow& flow,
                            int first_level, const std::string& description);
/// One row per (level, observable): level, observable, sites, value, error, exact, z_exact.
void write_spin_observables_csv(const std::string& path, const analysis::SpinObservableFlow& flow);

/// Symmetry metrics of one model (docs/science.md section 5), made by the analysis layer.
using SymmetryReport = analysis::SymmetryReport;

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

/// The name a model or test set has in results.h5 and its tables: its file name without the
/// folder and without ".h5".
std::string results_name(const std::string& path);

/// Why the models `paths` cannot be stored by results_name ("'a' and 'b' have the same name
/// ..."), or "" when their names differ.
std::string model_names_problem(const std::vector<std::string>& paths);

/// Why the test sets `paths` cannot be columns of the generalisation table by results_name (a
/// name used twice, or one of the data's own columns: data, data_x2, data_x0.5), or "".
std::string test_set_names_problem(const std::vector<std::string>& paths);

/// The CSV table beside the results file `output`: its path without ".h5", then `suffix`
/// (e.g. "_cumulants.csv").
std::string results_table_path(const std::string& output, const std::string& suffix);

/// Everything `rgflow analyze` writes and prints.
struct AnalysisResults {
  analysis::CumulantFlow flow;  // the data's cumulants across levels
  std::vector<std::string> models;
  analysis::GeneralisationPlan plan;     // its tests name the table's columns
  std::vector<std::vector<double>> mse;  // [model][test]
  std::string notes;                     // why entries of mse are NaN
  std::vector<LearnedFlow> learned_flows;
  std::vector<SymmetryReport> symmetry;
  std::vector<PropagationReport> propagation;  // per model, or empty (-propagation none)
  analysis::SpinObservableFlow spins;          // the data's, for fields of spins (else no levels)
  double beta = 0;                             // the coupling of those spins
};

/// Writes results.h5 at `path` (the partial file, renamed by commit_output) with root
/// attributes `attributes`, and the CSV tables beside `output` (results_table_path): cumulants,
/// and with models generalisation and propagation. Serial HDF5 and files: one rank.
void write_analysis_results(const std::string& path, const std::string& output,
                            const ResultsAttributes& attributes, const DatasetSpec& data,
                            const AnalysisResults& results);

/// Prints the tables of `results` to `out` (kappa_n for even n up to min(order, 6) at every
/// level, generalisation, propagation) and where the files are. Local.
void print_analysis_summary(std::FILE* out, const std::string& output, int order,
                            const AnalysisResults& results);

}  // namespace rgflow::io
