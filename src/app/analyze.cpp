// rgflow analyze: cumulants across scales from a dataset (the model parts come with the train
// and network analyses). Jackknife groups of consecutive samples are shared out over ranks; each
// group's moments are computed by one rank in sample order and merged in group order, so the
// results are bit-identical for any rank count.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "commands.hpp"
#include "rgflow/analysis/cumulant_flow.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/io/results_file.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::app {
namespace {

std::string csv_path(const std::string& output) {
  const auto dot = output.rfind(".h5");
  const std::string stem = dot == std::string::npos ? output : output.substr(0, dot);
  return stem + "_cumulants.csv";
}

}  // namespace

int run_analyze(const Comm& world, const Invocation& invocation) {
  OptionReader options(invocation.prefix, invocation.help);
  const std::string data = options.get_string("data", "", "dataset to analyse (required)");
  const std::string models =
      options.get_string("models", "", "trained models (not implemented yet)");
  const std::string eval_data = options.get_string(
      "eval_data", "", "datasets for generalisation tests (not implemented yet)");
  const int order =
      static_cast<int>(options.get_int("order", 8, "highest cumulant order P", 2, 12));
  int64_t groups = options.get_int("groups", 16, "jackknife groups of samples", 2, 1 << 20);
  const std::string output = options.get_string("o", "results.h5", "output results file");
  const bool force = options.get_flag("force", "overwrite an existing output");
  const bool quiet = options.get_flag("quiet", "no table on stdout");
  if (invocation.help) {
    if (world.rank() == 0) options.print_help("rgflow analyze -data FILE [options]");
    return 0;
  }
  if (invocation.prefix.empty()) require_all_options_used();
  if (data.empty()) throw UsageError("option " + options.full_name("data") + " is required");
  if (!models.empty() || !eval_data.empty()) {
    throw UsageError("options -models and -eval_data are not implemented yet");
  }
  const io::DatasetReader reader(data);
  const auto& spec = reader.spec();
  const auto& g = spec.geometry;
  if (!reader.complete()) throw UsageError("dataset '" + data + "' is incomplete");
  if (spec.samples < groups) {
    throw UsageError("option " + options.full_name("groups") + ": " + std::to_string(groups) +
                     " jackknife groups need at least as many samples; '" + data + "' has " +
                     std::to_string(spec.samples));
  }
  io::prepare_output(world, output, options.full_name("o"), force, false);

  // moments[level][group], each group filled by the rank that owns it; the others leave zeros,
  // so the sum over ranks reproduces every entry exactly.
  const size_t width = analysis::CentralMoments(order).to_buffer().size();
  std::vector<double> buffer(static_cast<size_t>((g.levels + 1) * groups) * width, 0.0);
  for (int64_t group = world.rank(); group < groups; group += world.size()) {
    const auto range =
        lattice::piece_range(spec.samples, static_cast<int>(groups), static_cast<int>(group));
    for (int level = 0; level <= g.levels; ++level) {
      analysis::CentralMoments moments(order);
      for (int64_t sample = range[0]; sample < range[1]; ++sample) {
        const auto values = reader.read(level, sample, 1);
        moments.add(values.data(), values.size());
      }
      const auto flat = moments.to_buffer();
      std::copy(flat.begin(), flat.end(),
                buffer.begin() +
                    static_cast<long>((level * groups + group) * static_cast<int64_t>(width)));
    }
  }
  RGFLOW_MPI(MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(buffer.size()), MPI_DOUBLE,
                           MPI_SUM, world.get()));
  std::vector<std::vector<analysis::CentralMoments>> moments(static_cast<size_t>(g.levels + 1));
  for (int level = 0; level <= g.levels; ++level) {
    for (int64_t group = 0; group < groups; ++group) {
      const auto begin = buffer.begin() +
                         static_cast<long>((level * groups + group) * static_cast<int64_t>(width));
      moments[static_cast<size_t>(level)].push_back(analysis::CentralMoments::from_buffer(
          std::vector<double>(begin, begin + static_cast<long>(width))));
    }
  }
  const auto flow = analysis::cumulant_flow(
      moments, static_cast<double>(g.sites_per_block()), static_cast<double>(g.block_side),
      spec.scaling_dimension,
      [&](int n) { return n <= 8 ? spec.distribution.exact_cumulant(n) : NAN; });

  std::string error;
  if (world.rank() == 0) {
    try {
      {
        const std::string partial = io::partial_path(output);
        h5::Hid file =
            h5::file_id(H5Fcreate(partial.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
        h5::write_attribute(file.get(), "format", std::string("rgflow results"));
        h5::write_attribute(file.get(), "schema_version", int64_t{1});
        h5::write_attribute(file.get(), "dataset_path", data);
        h5::write_attribute(file.get(), "command_line", invocation.command_line);
        h5::write_attribute(file.get(), "created", utc_timestamp());
        h5::write_attribute(file.get(), "jackknife_groups", groups);
        io::write_cumulant_flow(file.get(), flow, spec);
      }
      io::write_cumulant_csv(csv_path(output), flow);
    } catch (const std::exception& failure) {
      error = failure.what();
    }
  }
  world.raise_if_any(error);
  io::commit_output(world, output);
  if (world.rank() == 0 && !quiet) {
    std::printf("%5s %3s %14s %11s %14s %8s %12s\n", "level", "n", "kappa", "error", "exact", "z",
                "eigenvalue");
    for (size_t k = 0; k < flow.kappa.size(); ++k) {
      for (int n = 2; n <= std::min(order, 6); n += 2) {
        const size_t i = static_cast<size_t>(n - 1);
        std::printf("%5zu %3d %14.6g %11.3g %14.6g %8.2f", k, n, flow.kappa[k][i].value,
                    flow.kappa[k][i].error, flow.exact[k][i], flow.z_exact[k][i]);
        if (k > 0) std::printf(" %12.5g", flow.eigenvalue[k - 1][i].value);
        std::printf("\n");
      }
    }
    std::printf("rgflow analyze: results in %s, table in %s\n", output.c_str(),
                csv_path(output).c_str());
  }
  return 0;
}

}  // namespace rgflow::app
