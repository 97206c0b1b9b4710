#include "rgflow/io/results_file.hpp"
#include "rgflow/core/text.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"

namespace rgflow::io {
namespace {

// Every helper below that takes a hid_t does HDF5 metadata work (creating or opening groups,
// datasets and attributes) on a file that one process opened with serial HDF5: local, one rank.

// The coordinates (h5::coordinate, in the table's group) that name a table's rows and columns.
struct TableAxes {
  hid_t rows, columns;
};

void write_table(hid_t group, const std::string& name, const std::vector<std::vector<double>>& rows,
                 const std::string& axes, TableAxes coordinates) {
  const size_t columns = rows.empty() ? 0 : rows.front().size();
  std::vector<double> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  h5::Hid space =
      h5::simple_space({static_cast<hsize_t>(rows.size()), static_cast<hsize_t>(columns)});
  h5::Hid dataset = h5::dataset_id(H5Dcreate2(group, name.c_str(), H5T_IEEE_F64LE, space.get(),
                                              H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!flat.empty()) {
    RGFLOW_H5(
        H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, flat.data()));
  }
  h5::write_attribute(dataset.get(), "axes", axes);
  // A table without rows has no columns either (shape 0 x 0): its columns get a dimension of
  // their own, `empty`, so that the group's other tables keep theirs.
  h5::Hid empty;
  if (rows.empty()) empty = h5::coordinate(group, "empty", std::vector<int64_t>{}, "no values");
  h5::attach_coordinates(dataset.get(),
                         {coordinates.rows, rows.empty() ? empty.get() : coordinates.columns});
}

// The coordinate `row` (the single value 0) of tables that hold one row.
h5::Hid single_row(hid_t group) {
  return h5::coordinate(group, "row", std::vector<int64_t>{0}, "the table's only row");
}

std::vector<std::vector<double>> values(const std::vector<std::vector<analysis::Estimate>>& table,
                                        bool errors) {
  std::vector<std::vector<double>> out;
  for (const auto& row : table) {
    out.emplace_back();
    for (const auto& e : row) out.back().push_back(errors ? e.error : e.value);
  }
  return out;
}

}  // namespace

namespace {

// The cumulant tables of levels first_level, first_level + 1, .. (one row each), with their
// coordinates: level, order (n = 1..P), k_order (1..4), ratio_level (the upper level of each
// eigenvalue row), row.
void write_flow_tables(hid_t g, const analysis::CumulantFlow& flow, int first_level) {
  const int64_t levels = static_cast<int64_t>(flow.kappa.size());
  const int64_t orders = static_cast<int64_t>(flow.kappa.empty() ? 0 : flow.kappa.front().size());
  const h5::Hid level =
      h5::coordinate(g, "level", h5::index_range(first_level, levels), "level k of the row");
  const h5::Hid order =
      h5::coordinate(g, "order", h5::index_range(1, orders), "cumulant order n of the column");
  const h5::Hid k_order =
      h5::coordinate(g, "k_order", h5::index_range(1, 4), "order of Fisher's k-statistic k_n");
  const h5::Hid ratio_level =
      h5::coordinate(g, "ratio_level",
                     h5::index_range(first_level + 1, static_cast<int64_t>(flow.eigenvalue.size())),
                     "level k of an eigenvalue row: kappa_n(k) / kappa_n(k-1)");
  const h5::Hid row = single_row(g);
  const TableAxes by_level_order{level.get(), order.get()};
  const std::string by_level = "level k (row), cumulant order n = 1.. (column)";
  write_table(g, "kappa", values(flow.kappa, false), by_level, by_level_order);
  write_table(g, "kappa_error", values(flow.kappa, true), by_level, by_level_order);
  std::vector<std::vector<double>> k_stats;
  for (const auto& r : flow.k_statistics) k_stats.emplace_back(r.begin(), r.end());
  write_table(g, "k_statistics", k_stats, "level k (row), order 1..4 (column): Fisher's k_n",
              {level.get(), k_order.get()});
  write_table(g, "exact", flow.exact,
              by_level + ": lambda_n^k kappa_n(distribution), NaN if unknown", by_level_order);
  write_table(g, "z_exact", flow.z_exact, by_level + ": (kappa - exact) / error", by_level_order);
  write_table(g, "recursion_difference", values(flow.recursion_difference, false),
              by_level + ": kappa_n(k) - lambda_n^k kappa_n(0), both measured", by_level_order);
  write_table(g, "recursion_difference_error", values(flow.recursion_difference, true), by_level,
              by_level_order);
  write_table(g, "eigenvalue", values(flow.eigenvalue, false),
              "level k = 1.. (row), order n (column): kappa_n(k) / kappa_n(k-1)",
              {ratio_level.get(), order.get()});
  write_table(g, "eigenvalue_error", values(flow.eigenvalue, true),
              "level k = 1.. (row), order n (column)", {ratio_level.get(), order.get()});
  write_table(g, "expected_eigenvalue", {flow.expected_eigenvalue},
              "one row, order n (column): lambda_n", {row.get(), order.get()});
}

}  // namespace

void write_spin_observables(hid_t location, const analysis::SpinObservableFlow& flow,
                            int first_level, const std::string& description) {
  h5::Hid group = h5::create_group(location, "spin_observables");
  const hid_t g = group.get();
  h5::write_attribute(g, "description", description);
  h5::write_attribute(
      g, "susceptibility",
      std::string("N (<m^2> - <|m|>^2), N the sites of the level, without the factor beta"));
  const h5::Hid level = h5::coordinate(
      g, "level", h5::index_range(first_level, int64_t(flow.sites.size())), "level k of the row");
  const h5::Hid observable =
      h5::coordinate(g, "observable", analysis::spin_observable_names(), "observable");
  const TableAxes axes{level.get(), observable.get()};
  const std::string by_level = "level k (row), observable (column)";
  write_table(g, "value", values(flow.estimates, false), by_level, axes);
  write_table(g, "error", values(flow.estimates, true), by_level + ": jackknife error", axes);
  write_table(g, "exact", flow.exact, by_level + ": exact value, NaN where none is known", axes);
  write_table(g, "z_exact", flow.z_exact, by_level + ": (value - exact) / error", axes);
  h5::Hid space = h5::simple_space({static_cast<hsize_t>(flow.sites.size())});
  h5::Hid sites = h5::dataset_id(
      H5Dcreate2(g, "sites", H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!flow.sites.empty()) {
    RGFLOW_H5(
        H5Dwrite(sites.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, flow.sites.data()));
  }
  h5::write_attribute(sites.get(), "axes", std::string("level k: sites N_k of the level"));
  h5::attach_coordinates(sites.get(), {level.get()});
}

void write_spin_observables_csv(const std::string& path, const analysis::SpinObservableFlow& flow) {
  FILE* out = std::fopen(path.c_str(), "w");
  if (!out) throw LibraryError("cannot write '" + path + "': " + std::strerror(errno));
  std::fprintf(out, "level,observable,sites,value,error,exact,z_exact\n");
  const auto names = analysis::spin_observable_names();
  for (size_t k = 0; k < flow.estimates.size(); ++k) {
    for (size_t o = 0; o < names.size(); ++o) {
      std::fprintf(out, "%zu,%s,%lld,%.17g,%.17g,%.17g,%.6g\n", k, names[o].c_str(),
                   static_cast<long long>(flow.sites[k]), flow.estimates[k][o].value,
                   flow.estimates[k][o].error, flow.exact[k][o], flow.z_exact[k][o]);
    }
  }
  if (std::fclose(out) != 0) throw LibraryError("cannot write '" + path + "'");
}

ResultsFile::ResultsFile(const std::string& path, const ResultsAttributes& attributes)
    : file_(h5::file_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT))) {
  const hid_t f = file_.get();
  h5::write_attribute(f, "format", std::string("rgflow results"));
  h5::write_attribute(f, "schema_version", int64_t{1});
  h5::write_attribute(f, "rgflow_version", std::string(RGFLOW_VERSION));
  h5::write_attribute(f, "dataset_path", attributes.dataset_path);
  h5::write_attribute(f, "command_line", attributes.command_line);
  h5::write_attribute(f, "created", attributes.created);
  h5::write_attribute(f, "jackknife_groups", attributes.jackknife_groups);
  h5::write_attribute(f, "jackknife", attributes.jackknife);
  if (!attributes.precision.empty()) {
    h5::write_attribute(f, "network_precision", attributes.precision);
  }
}

void write_generalisation(hid_t file, const std::vector<std::string>& models,
                          const std::vector<std::string>& tests,
                          const std::vector<std::vector<double>>& mse,
                          const std::string& description, const std::string& notes) {
  h5::Hid group = h5::create_group(file, "/generalisation");
  h5::write_attribute(group.get(), "models", join_list(models));
  h5::write_attribute(group.get(), "test_sets", join_list(tests));
  h5::write_attribute(group.get(), "description", description);
  h5::write_attribute(group.get(), "notes", notes);
  const h5::Hid model = h5::coordinate(group.get(), "model", models, "model (file stem)");
  const h5::Hid test_set = h5::coordinate(group.get(), "test_set", tests, "test set");
  write_table(group.get(), "mse", mse, "model (row, see models), test set (column, see test_sets)",
              {model.get(), test_set.get()});
}

void write_generalisation_csv(const std::string& path, const std::vector<std::string>& models,
                              const std::vector<std::string>& tests,
                              const std::vector<std::vector<double>>& mse) {
  FILE* out = std::fopen(path.c_str(), "w");
  if (!out) throw LibraryError("cannot write '" + path + "': " + std::strerror(errno));
  std::fprintf(out, "model");
  for (const auto& t : tests) std::fprintf(out, ",%s", t.c_str());
  std::fprintf(out, "\n");
  for (size_t m = 0; m < models.size(); ++m) {
    std::fprintf(out, "%s", models[m].c_str());
    for (double v : mse[m]) std::fprintf(out, ",%.17g", v);
    std::fprintf(out, "\n");
  }
  if (std::fclose(out) != 0) throw LibraryError("cannot write '" + path + "'");
}

void write_learned_flows(hid_t file, const std::vector<std::string>& models,
                         const std::vector<LearnedFlow>& flows) {
  h5::Hid group = h5::create_group(file, "/flow");
  h5::write_attribute(
      group.get(), "description",
      std::string("per model: cumulants of the levels the model makes by applying itself again "
                  "and again, starting from the data's level first_level (the model's "
                  "level_input k): row j is level k + j made by j applications (row 0 is the "
                  "data's level k itself), against the exact recursion at levels k + j"));
  for (size_t m = 0; m < models.size(); ++m) {
    h5::Hid sub = h5::create_group(group.get(), models[m]);
    h5::write_attribute(sub.get(), "first_level", int64_t{flows[m].first_level});
    h5::write_attribute(sub.get(), "note", flows[m].note);
    if (flows[m].note.empty()) write_flow_tables(sub.get(), flows[m].flow, flows[m].first_level);
    if (!flows[m].spins.sites.empty()) {
      write_spin_observables(sub.get(), flows[m].spins, flows[m].first_level,
                             "the model's learned levels: row j is the model applied j times to "
                             "the data's level first_level");
    }
  }
}

void write_cumulant_flow(hid_t file, const analysis::CumulantFlow& flow, const DatasetSpec& data) {
  h5::Hid group = h5::create_group(file, "/cumulants");
  const hid_t g = group.get();
  h5::write_attribute(g, "description",
                      std::string("cumulants kappa_n of every level with delete-one jackknife "
                                  "errors, against the exact recursion kappa_n(k+1) = lambda_n "
                                  "kappa_n(k), lambda_n = N b^(-n Delta)"));
  h5::write_attribute(g, "distribution", data.distribution.name());
  h5::write_attribute(g, "sites_per_block", data.geometry.sites_per_block());
  write_flow_tables(g, flow, 0);
}

void write_symmetry(hid_t file, const std::string& model, const SymmetryReport& report) {
  if (!h5::link_exists(file, "/symmetry")) {
    h5::Hid top = h5::create_group(file, "/symmetry");
    h5::write_attribute(top.get(), "description",
                        std::string("symmetry metrics of docs/science.md section 5 of each model's "
                                    "network on up to 4096 blocks of the data's first samples"));
  }
  h5::Hid group = h5::create_group(file, "/symmetry/" + model);
  const hid_t g = group.get();
  h5::write_attribute(g, "output_error_permutation", report.errors.permutation);
  h5::write_attribute(g, "output_error_point_group", report.errors.point_group);
  h5::write_attribute(g, "output_error_sign", report.errors.sign);
  h5::write_attribute(g, "output_error_scale", report.errors.scale);
  const h5::Hid row = single_row(g);
  const h5::Hid hidden_layer = h5::coordinate(
      g, "hidden_layer", h5::hidden_layer_names(report.invariant_fraction.size()), "hidden layer");
  write_table(g, "invariant_fraction", {report.invariant_fraction},
              "one row, hidden layer (column): invariant fraction under the point group",
              {row.get(), hidden_layer.get()});
  write_table(g, "order_parameter", {report.order_parameter},
              "one row, hidden layer (column): unit order parameter D of the trained weights",
              {row.get(), hidden_layer.get()});
  if (!report.equivariance_error.empty()) {
    const h5::Hid graph_layer = h5::coordinate(
        g, "graph_layer", h5::hidden_layer_names(report.equivariance_error.size()), "graph layer");
    write_table(g, "equivariance_error", {report.equivariance_error},
                "one row, graph layer (column): equivariance error under the point group",
                {row.get(), graph_layer.get()});
  }
  const size_t records = report.history_epochs.size();
  if (records > 0 && report.order_history.size() % records == 0) {
    std::vector<std::vector<double>> rows;
    const size_t layers = report.order_history.size() / records;
    for (size_t r = 0; r < records; ++r) {
      rows.emplace_back(1, report.history_epochs[r]);
      rows.back().insert(rows.back().end(),
                         report.order_history.begin() + static_cast<long>(r * layers),
                         report.order_history.begin() + static_cast<long>((r + 1) * layers));
    }
    std::vector<std::string> columns = h5::hidden_layer_names(layers);
    columns.insert(columns.begin(), "epoch");
    const h5::Hid record = h5::coordinate(g, "record", h5::index_range(0, int64_t(records)),
                                          "training record (the model's /history)");
    const h5::Hid column =
        h5::coordinate(g, "history_column", columns, "epoch, then D of each hidden layer");
    write_table(g, "order_parameter_history", rows,
                "training record (row); columns: epoch, then D per hidden layer",
                {record.get(), column.get()});
  }
}

void write_propagation(hid_t file, const std::string& model, const PropagationReport& report) {
  if (!h5::link_exists(file, "/propagation")) {
    h5::Hid top = h5::create_group(file, "/propagation");
    h5::write_attribute(
        top.get(), "description",
        std::string("cumulant propagation of docs/science.md section 4: each model's "
                    "predicted joint cumulants (orders 1-4) of every layer next "
                    "to Monte Carlo estimates from its own activations"));
  }
  h5::Hid group = h5::create_group(file, "/propagation/" + model);
  const hid_t g = group.get();
  h5::write_attribute(g, "skipped", report.skipped);
  if (!report.skipped.empty()) return;
  h5::write_attribute(g, "input_level", int64_t{report.input_level});
  h5::write_attribute(g, "monte_carlo_blocks", report.blocks);
  h5::write_attribute(g, "modes", join_list(report.modes));
  h5::write_attribute(g, "mode_notes", join_list(report.mode_notes));
  h5::write_attribute(g, "layers", join_list(report.layers));
  const h5::Hid row = single_row(g);
  const h5::Hid layer = h5::coordinate(g, "layer", report.layers, "layer (as in `layers`)");
  const h5::Hid order =
      h5::coordinate(g, "order", h5::index_range(1, 4), "cumulant order n of the column");
  const h5::Hid unit =
      h5::coordinate(g, "unit", h5::index_range(0, int64_t(report.marginal_layer.size())),
                     "unit, the layers' units in order (node-major in graph layers)");
  write_table(g, "widths", {report.widths}, "one row, layer (column): number of units",
              {row.get(), layer.get()});
  for (size_t m = 0; m < report.modes.size(); ++m) {
    const std::string& mode = report.modes[m];
    write_table(g, "relative_error_" + mode, report.relative_error[m],
                "layer (row), order n = 1..4 (column): ||predicted - MC|| / ||MC|| over the "
                "joint cumulant tensor (NaN: not computed)",
                {layer.get(), order.get()});
    write_table(g, "output_" + mode, {report.output_predicted[m]},
                "one row, order n = 1..4 (column): predicted kappa_n of the output",
                {row.get(), order.get()});
    std::vector<std::vector<double>> rows;
    for (size_t u = 0; u < report.marginal_layer.size(); ++u) {
      rows.emplace_back(report.marginal_predicted[m].begin() + static_cast<long>(4 * u),
                        report.marginal_predicted[m].begin() + static_cast<long>(4 * u + 4));
    }
    write_table(g, "marginal_" + mode, rows,
                "unit (row, layers in order), order n = 1..4 (column): predicted kappa_n of the "
                "unit alone",
                {unit.get(), order.get()});
  }
  write_table(g, "mc_relative_error", report.mc_relative_error,
              "layer (row), order n = 1..4 (column): jackknife error of the Monte Carlo tensor "
              "relative to its norm",
              {layer.get(), order.get()});
  const h5::Hid estimate = h5::coordinate(g, "estimate", std::vector<std::string>{"kappa", "error"},
                                          "Monte Carlo kappa_n, then its jackknife error");
  write_table(g, "output_mc", {report.output_mc, report.output_mc_error},
              "row 0 kappa_n, row 1 its jackknife error; order n = 1..4 (column)",
              {estimate.get(), order.get()});
  std::vector<std::vector<double>> mc, mc_error;
  for (size_t u = 0; u < report.marginal_layer.size(); ++u) {
    mc.emplace_back(report.marginal_mc.begin() + static_cast<long>(4 * u),
                    report.marginal_mc.begin() + static_cast<long>(4 * u + 4));
    mc_error.emplace_back(report.marginal_mc_error.begin() + static_cast<long>(4 * u),
                          report.marginal_mc_error.begin() + static_cast<long>(4 * u + 4));
  }
  write_table(g, "marginal_mc", mc, "unit (row), order n = 1..4 (column): Monte Carlo kappa_n",
              {unit.get(), order.get()});
  write_table(g, "marginal_mc_error", mc_error,
              "unit (row), order n = 1..4 (column): jackknife error of marginal_mc",
              {unit.get(), order.get()});
  write_table(g, "marginal_layer", {report.marginal_layer},
              "one row, unit (column): the layer (0-based, as in `layers`) of each unit",
              {row.get(), unit.get()});
  if (!report.linear_power_sums.empty()) {
    const h5::Hid quantity = h5::coordinate(
        g, "linear_quantity", std::vector<std::string>{"sum_i w_i^n", "N b^(-n Delta)"},
        "power sum of the effective weights, then the exact map's");
    const h5::Hid power = h5::coordinate(
        g, "power", h5::index_range(1, int64_t(report.linear_power_sums.size())), "power n");
    write_table(g, "linear_diagnostic", {report.linear_power_sums, report.linear_expected},
                "row 0: sum_i w_i^n of the effective weights, row 1: N^(1-n/2) of the exact "
                "map; order n = 1..8 (column)",
                {quantity.get(), power.get()});
  }
}

void write_propagation_csv(const std::string& path, const std::vector<std::string>& models,
                           const std::vector<PropagationReport>& reports) {
  FILE* out = std::fopen(path.c_str(), "w");
  if (!out) throw LibraryError("cannot write '" + path + "': " + std::strerror(errno));
  std::fprintf(out, "model,mode,layer,width,n,relative_error,mc_relative_error,note\n");
  for (size_t k = 0; k < models.size(); ++k) {
    const auto& r = reports[k];
    if (!r.skipped.empty()) {
      std::fprintf(out, "%s,,,,,,,\"skipped: %s\"\n", models[k].c_str(), r.skipped.c_str());
      continue;
    }
    for (size_t m = 0; m < r.modes.size(); ++m) {
      for (size_t l = 0; l < r.layers.size(); ++l) {
        for (int n = 1; n <= 4; ++n) {
          std::fprintf(out, "%s,%s,%s,%.0f,%d,%.6e,%.6e,\"%s\"\n", models[k].c_str(),
                       r.modes[m].c_str(), r.layers[l].c_str(), r.widths[l], n,
                       r.relative_error[m][l][static_cast<size_t>(n - 1)],
                       r.mc_relative_error[l][static_cast<size_t>(n - 1)], r.mode_notes[m].c_str());
        }
      }
    }
  }
  if (std::fclose(out) != 0) throw LibraryError("cannot write '" + path + "'");
}

void write_cumulant_csv(const std::string& path, const analysis::CumulantFlow& flow) {
  FILE* out = std::fopen(path.c_str(), "w");
  if (!out) throw LibraryError("cannot write '" + path + "': " + std::strerror(errno));
  std::fprintf(out,
               "level,n,kappa,error,exact,z_exact,recursion_difference,"
               "recursion_difference_error,eigenvalue,eigenvalue_error,expected_eigenvalue\n");
  for (size_t k = 0; k < flow.kappa.size(); ++k) {
    for (size_t i = 0; i < flow.kappa[k].size(); ++i) {
      std::fprintf(out, "%zu,%zu,%.17g,%.17g,%.17g,%.6g,%.17g,%.17g,", k, i + 1,
                   flow.kappa[k][i].value, flow.kappa[k][i].error, flow.exact[k][i],
                   flow.z_exact[k][i], flow.recursion_difference[k][i].value,
                   flow.recursion_difference[k][i].error);
      if (k > 0) {
        std::fprintf(out, "%.17g,%.17g,", flow.eigenvalue[k - 1][i].value,
                     flow.eigenvalue[k - 1][i].error);
      } else {
        std::fprintf(out, ",,");
      }
      std::fprintf(out, "%.17g\n", flow.expected_eigenvalue[i]);
    }
  }
  if (std::fclose(out) != 0) throw LibraryError("cannot write '" + path + "'");
}

std::string results_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const auto dot = name.rfind(".h5");
  return dot == std::string::npos ? name : name.substr(0, dot);
}

std::string model_names_problem(const std::vector<std::string>& paths) {
  for (size_t i = 0; i < paths.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (results_name(paths[i]) == results_name(paths[j])) {
        return "'" + paths[j] + "' and '" + paths[i] + "' have the same name '" +
               results_name(paths[i]) + "' (results are stored by file name): rename one";
      }
    }
  }
  return "";
}

std::string test_set_names_problem(const std::vector<std::string>& paths) {
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string name = results_name(paths[i]);
    bool clash = name == "data" || name == "data_x2" || name == "data_x0.5";
    for (size_t j = 0; j < i; ++j) clash = clash || results_name(paths[j]) == name;
    if (clash) {
      return "test set name '" + name +
             "' is used twice (test sets are named by file name): rename one";
    }
  }
  return "";
}

std::string results_table_path(const std::string& output, const std::string& suffix) {
  const auto dot = output.rfind(".h5");
  return (dot == std::string::npos ? output : output.substr(0, dot)) + suffix;
}

void write_analysis_results(const std::string& path, const std::string& output,
                            const ResultsAttributes& attributes, const DatasetSpec& data,
                            const AnalysisResults& results) {
  ResultsFile file(path, attributes);
  write_cumulant_flow(file.id(), results.flow, data);
  if (!results.spins.sites.empty()) {
    char description[96];
    std::snprintf(description, sizeof description,
                  "the data's levels 0..K, Ising spins at beta = %.17g", results.beta);
    write_spin_observables(file.id(), results.spins, 0, description);
    write_spin_observables_csv(results_table_path(output, "_spin_observables.csv"), results.spins);
  }
  const auto& names = results.models;
  if (!names.empty()) {
    write_generalisation(file.id(), names, results.plan.tests, results.mse,
                         analysis::generalisation_description(), results.notes);
    write_learned_flows(file.id(), names, results.learned_flows);
    write_generalisation_csv(results_table_path(output, "_generalisation.csv"), names,
                             results.plan.tests, results.mse);
    for (size_t k = 0; k < names.size(); ++k) {
      write_symmetry(file.id(), names[k], results.symmetry[k]);
    }
    if (!results.propagation.empty()) {
      for (size_t k = 0; k < names.size(); ++k) {
        write_propagation(file.id(), names[k], results.propagation[k]);
      }
      write_propagation_csv(results_table_path(output, "_propagation.csv"), names,
                            results.propagation);
    }
  }
  file.close();
  write_cumulant_csv(results_table_path(output, "_cumulants.csv"), results.flow);
}

namespace {

// The data's spin observables per level, and z against the exact values where there are any.
void print_spin_observables(std::FILE* out, const std::string& table,
                            const analysis::SpinObservableFlow& f) {
  using analysis::SpinObservable;
  std::fprintf(out, "\nspin observables (all: %s):\n%5s %23s %23s %12s %23s\n", table.c_str(),
               "level", "<|m|>", "U (Binder)", "chi", "<e>");
  for (size_t k = 0; k < f.estimates.size(); ++k) {
    std::fprintf(out, "%5zu", k);
    for (const SpinObservable o : {SpinObservable::kAbsMagnetisation, SpinObservable::kBinder,
                                   SpinObservable::kSusceptibility, SpinObservable::kEnergy}) {
      const auto& e = f.estimates[k][static_cast<size_t>(o)];
      if (o == SpinObservable::kSusceptibility) {
        std::fprintf(out, " %12.4g", e.value);
      } else {
        std::fprintf(out, " %10.6f +- %-8.2g", e.value, e.error);
      }
    }
    std::fprintf(out, "\n");
  }
  const auto names = analysis::spin_observable_names();
  for (size_t o = 0; o < names.size(); ++o) {
    if (std::isnan(f.exact[0][o])) continue;
    std::fprintf(out, "level 0 %s: exact %.6f, z = %.2f\n", names[o].c_str(), f.exact[0][o],
                 f.z_exact[0][o]);
  }
}

}  // namespace

void print_analysis_summary(std::FILE* out, const std::string& output, int order,
                            const AnalysisResults& results) {
  const auto& flow = results.flow;
  const auto& names = results.models;
  const auto& plan = results.plan;
  std::fprintf(out, "%5s %3s %14s %11s %14s %8s %12s\n", "level", "n", "kappa", "error", "exact",
               "z", "eigenvalue");
  for (size_t k = 0; k < flow.kappa.size(); ++k) {
    for (int n = 2; n <= std::min(order, 6); n += 2) {
      const size_t i = static_cast<size_t>(n - 1);
      std::fprintf(out, "%5zu %3d %14.6g %11.3g %14.6g %8.2f", k, n, flow.kappa[k][i].value,
                   flow.kappa[k][i].error, flow.exact[k][i], flow.z_exact[k][i]);
      if (k > 0) std::fprintf(out, " %12.5g", flow.eigenvalue[k - 1][i].value);
      std::fprintf(out, "\n");
    }
  }
  if (!results.spins.sites.empty()) {
    print_spin_observables(out, results_table_path(output, "_spin_observables.csv"), results.spins);
  }
  if (!names.empty()) {
    std::fprintf(out, "\ngeneralisation (MSE on each model's level pair):\n%-24s", "model");
    for (const auto& t : plan.tests) std::fprintf(out, " %12s", t.c_str());
    std::fprintf(out, "\n");
    for (size_t m = 0; m < names.size(); ++m) {
      std::fprintf(out, "%-24s", names[m].c_str());
      for (double v : results.mse[m]) std::fprintf(out, " %12.4g", v);
      std::fprintf(out, "\n");
    }
    for (size_t m = 0; m < names.size(); ++m) {
      for (size_t t = 0; t < plan.tests.size(); ++t) {
        const auto& note = plan.cells[m][t].note;
        if (!note.empty())
          std::fprintf(out, "  %s/%s: NaN, %s\n", names[m].c_str(), plan.tests[t].c_str(),
                       note.c_str());
      }
    }
  }
  for (size_t k = 0; k < results.propagation.size(); ++k) {
    const auto& r = results.propagation[k];
    if (k == 0) {
      std::fprintf(out,
                   "\npropagation: the output's kappa_n predicted, against Monte Carlo +- its "
                   "jackknife error (every layer: %s):\n",
                   results_table_path(output, "_propagation.csv").c_str());
    }
    if (!r.skipped.empty()) {
      std::fprintf(out, "%-16s skipped: %s\n", names[k].c_str(), r.skipped.c_str());
      continue;
    }
    for (size_t m = 0; m < r.modes.size(); ++m) {
      std::fprintf(out, "%-16s %-6s", names[k].c_str(), r.modes[m].c_str());
      if (!r.mode_notes[m].empty()) {
        std::fprintf(out, " not done: %s\n", r.mode_notes[m].c_str());
        continue;
      }
      for (size_t n = 0; n < 4; ++n) {
        std::fprintf(out, "  k%zu %+.3e vs %+.3e+-%.1e", n + 1, r.output_predicted[m][n],
                     r.output_mc[n], r.output_mc_error[n]);
      }
      std::fprintf(out, "\n");
    }
  }
  std::fprintf(out, "rgflow analyze: results in %s, table in %s\n", output.c_str(),
               results_table_path(output, "_cumulants.csv").c_str());
}

}  // namespace rgflow::io
