// rgflow analyze: cumulants across scales from a dataset (the model parts come with the train
// and network analyses). Jackknife groups of consecutive samples are shared out over ranks; each
// group's moments are computed by one rank in sample order and merged in group order, so the
// results are bit-identical for any rank count.
#include <sys/stat.h>
#include <algorithm>

#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "rgflow/analysis/cumulant_flow.hpp"
#include "rgflow/analysis/propagation.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/io/model_file.hpp"
#include "rgflow/io/results_file.hpp"
#include "rgflow/lattice/partition.hpp"
#include "rgflow/nn/metrics.hpp"
#include "rgflow/nn/symmetric_model.hpp"
#include "rgflow/train/pairs.hpp"

namespace rgflow::app {
namespace {

std::string generalisation_csv_path(const std::string& output) {
  const auto dot = output.rfind(".h5");
  return (dot == std::string::npos ? output : output.substr(0, dot)) + "_generalisation.csv";
}

std::string propagation_csv_path(const std::string& output) {
  const auto dot = output.rfind(".h5");
  return (dot == std::string::npos ? output : output.substr(0, dot)) + "_propagation.csv";
}

std::string csv_path(const std::string& output) {
  const auto dot = output.rfind(".h5");
  const std::string stem = dot == std::string::npos ? output : output.substr(0, dot);
  return stem + "_cumulants.csv";
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

std::string stem_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const auto dot = name.rfind(".h5");
  return dot == std::string::npos ? name : name.substr(0, dot);
}

struct LoadedModel {
  std::string path, name, trained_on;
  int64_t training_samples = 0;
  int input_level = 0;  // the level the model was trained to map (level_input of model.h5)
  std::unique_ptr<nn::SymmetricModel<double>> model;
  std::vector<double> order_history;  // /history/order_parameter, records x hidden layers
  std::vector<double> history_epochs;
};

LoadedModel load_model(const std::string& path, const lattice::Geometry& geometry) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) throw UsageError("model '" + path + "' does not exist");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw UsageError("'" + path + "' is not an HDF5 file");
  const h5::Hid file = h5::open_read_only(path);
  const nn::Network<double> net = io::read_model<double>(file.get(), path, true);
  const auto& spec = net.spec();
  if (spec.block.dim != geometry.dim || spec.block.side != geometry.block_side) {
    throw UsageError("model '" + path + "' works on blocks of side " +
                     std::to_string(spec.block.side) + " in " + std::to_string(spec.block.dim) +
                     "D; the dataset has blocks of side " + std::to_string(geometry.block_side) +
                     " in " + std::to_string(geometry.dim) + "D");
  }
  LoadedModel loaded;
  loaded.path = path;
  loaded.name = stem_of(path);
  if (h5::has_attribute(file.get(), "dataset_path")) {
    loaded.trained_on = h5::read_string_attribute(file.get(), "dataset_path");
    loaded.training_samples = h5::read_int_attribute(file.get(), "training_samples");
  }
  if (h5::has_attribute(file.get(), "level_input")) {
    loaded.input_level = static_cast<int>(h5::read_int_attribute(file.get(), "level_input"));
  }
  for (auto [name, target] : {std::pair<const char*, std::vector<double>*>{
                                  "/history/order_parameter", &loaded.order_history},
                              {"/history/epoch", &loaded.history_epochs}}) {
    if (!h5::link_exists(file.get(), "/history") || !h5::link_exists(file.get(), name)) continue;
    h5::Hid dataset = h5::dataset_id(H5Dopen2(file.get(), name, H5P_DEFAULT));
    h5::Hid space = h5::dataspace_id(H5Dget_space(dataset.get()));
    target->resize(static_cast<size_t>(H5Sget_simple_extent_npoints(space.get())));
    if (!target->empty()) {
      RGFLOW_H5(
          H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, target->data()));
    }
  }
  loaded.model = std::make_unique<nn::SymmetricModel<double>>(spec);
  std::copy(net.parameters(), net.parameters() + net.parameter_count(),
            loaded.model->network().parameters());
  return loaded;
}

// The model's coarse field of one sample's field: one prediction per block.
std::vector<double> apply_model(const nn::SymmetricModel<double>& model, int dim, int64_t side,
                                int64_t block_side, const std::vector<double>& field) {
  const int64_t blocks = train::pairs_per_sample(dim, side, block_side);
  nn::Matrix<double> inputs(model.network().inputs(), blocks);
  train::extract_blocks(dim, side, block_side, field.data(), inputs.data());
  const nn::Matrix<double> output = model.predict(inputs);
  return std::vector<double>(output.data(), output.data() + blocks);
}

struct PropagationOptions {
  std::string modes = "auto";
  analysis::PropagationSettings settings;
  int max_width = 32;
  int64_t blocks = 32768;
};

// Cumulant propagation through one model: predictions of every mode that applies, and Monte
// Carlo estimates from the network's activations on blocks of the data's level the model was
// trained on. The blocks are spread over the jackknife groups; each group's tuple sums are made
// by one rank in sample order and summed in group order, so the results are bit-identical for
// any rank count.
io::PropagationReport propagate_model(const Comm& world, const io::DatasetReader& reader,
                                      const LoadedModel& model, const PropagationOptions& options,
                                      int64_t groups) {
  io::PropagationReport report;
  const auto& net = model.model->network();
  const auto& spec = net.spec();
  if (spec.strategy == nn::Strategy::kAverage || spec.strategy == nn::Strategy::kCanonical) {
    report.skipped = "the " + nn::strategy_name(spec.strategy) +
                     " strategy feeds the network transformed copies of the block, whose sites "
                     "are not i.i.d.";
    return report;
  }
  const auto& data = reader.spec();
  const auto& g = data.geometry;
  const int level = model.input_level;
  if (level > g.levels) {
    report.skipped = "the model maps level " + std::to_string(level) + ", which the data lack";
    return report;
  }
  const analysis::AffineChain chain = analysis::affine_chain(net);
  for (const auto& layer : chain.layers) {
    if (layer.weight.rows() > options.max_width) {
      report.skipped = "a layer of " + std::to_string(layer.weight.rows()) +
                       " units exceeds -propagation_max_width " + std::to_string(options.max_width);
      return report;
    }
  }
  const bool polynomial = analysis::exact_moments_needed(chain, 4) >= 0;
  std::vector<analysis::PropagationMode> modes;
  const std::string& wanted = options.modes;
  if (wanted == "exact" || ((wanted == "auto" || wanted == "all") && polynomial)) {
    modes.push_back(analysis::PropagationMode::kExact);
  }
  if (wanted == "taylor" || wanted == "all" || (wanted == "auto" && !polynomial)) {
    modes.push_back(analysis::PropagationMode::kTaylor);
  }
  if (wanted == "gauss" || wanted == "all" || (wanted == "auto" && !polynomial)) {
    modes.push_back(analysis::PropagationMode::kGauss);
  }
  const int needed = std::max(8, analysis::exact_moments_needed(chain, 4));
  const auto moments =
      field::site_raw_moments(data.distribution, level, static_cast<int>(g.block_side), g.dim,
                              data.scaling_dimension, std::min(needed, 127));
  std::vector<std::vector<analysis::JointCumulants>> predicted;
  for (auto mode : modes) {
    analysis::PropagationSettings settings = options.settings;
    settings.mode = mode;
    report.modes.push_back(analysis::propagation_mode_name(mode));
    try {
      predicted.push_back(analysis::propagate(chain, moments, settings));
      report.mode_notes.emplace_back();
    } catch (const UsageError& reason) {
      predicted.emplace_back();
      report.mode_notes.push_back(reason.what());
    }
  }
  const auto usable =
      std::find_if(predicted.begin(), predicted.end(), [](const auto& p) { return !p.empty(); });
  if (usable == predicted.end()) {
    report.skipped =
        report.mode_notes.empty() ? "no propagation mode applies" : report.mode_notes.front();
    return report;
  }
  const size_t layers = chain.layers.size();
  for (size_t l = 0; l < layers; ++l) {
    report.layers.push_back(l + 1 == layers ? "output" : "hidden_" + std::to_string(l + 1));
    report.widths.push_back(double(chain.layers[l].weight.rows()));
  }

  // Monte Carlo: tuple sums about the first prediction's means, per group and layer.
  std::vector<size_t> offsets{1};  // slot 0 of a group holds its block count
  for (size_t l = 0; l < layers; ++l) {
    offsets.push_back(offsets.back() +
                      analysis::sorted_tuples(static_cast<int>(report.widths[l]), 4).size());
  }
  const size_t stride = offsets.back();
  std::vector<double> buffer(static_cast<size_t>(groups) * stride, 0.0);
  const int64_t per_sample = train::pairs_per_sample(g.dim, g.level_side(level), g.block_side);
  const int64_t quota = (options.blocks + groups - 1) / groups;
  const int n = g.sites_per_block();
  for (int64_t group = world.rank(); group < groups; group += world.size()) {
    const auto range =
        lattice::piece_range(data.samples, static_cast<int>(groups), static_cast<int>(group));
    double* slot = buffer.data() + static_cast<size_t>(group) * stride;
    int64_t taken = 0;
    for (int64_t sample = range[0]; sample < range[1] && taken < quota; ++sample) {
      const auto field = reader.read(level, sample, 1);
      nn::Matrix<double> blocks(n, per_sample);
      train::extract_blocks(g.dim, g.level_side(level), g.block_side, field.data(), blocks.data());
      const int64_t take = std::min(per_sample, quota - taken);
      nn::Network<double>::Tape tape;
      net.forward(blocks.leftCols(take), tape);
      for (size_t l = 0; l < layers; ++l) {
        nn::Matrix<double> units = analysis::chain_activations(net, tape, static_cast<int>(l));
        const auto& centre = (*usable)[l].kappa[0];
        for (Eigen::Index a = 0; a < units.rows(); ++a)
          units.row(a).array() -= centre[static_cast<size_t>(a)];
        std::vector<double> sums(offsets[l + 1] - offsets[l], 0.0);
        analysis::add_tuple_sums(units, 4, sums);
        for (size_t k = 0; k < sums.size(); ++k) slot[offsets[l] + k] += sums[k];
      }
      taken += take;
    }
    slot[0] = double(taken);
  }
  RGFLOW_MPI(MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(buffer.size()), MPI_DOUBLE,
                           MPI_SUM, world.get()));
  // Estimates from all groups, and with each group left out (jackknife), summed in group order.
  auto estimate = [&](int64_t left_out) {
    std::vector<double> total(stride, 0.0);
    for (int64_t group = 0; group < groups; ++group) {
      if (group == left_out) continue;
      const double* slot = buffer.data() + static_cast<size_t>(group) * stride;
      for (size_t k = 0; k < stride; ++k) total[k] += slot[k];
    }
    std::vector<analysis::JointCumulants> result;
    for (size_t l = 0; l < layers; ++l) {
      std::vector<double> sums(total.begin() + static_cast<long>(offsets[l]),
                               total.begin() + static_cast<long>(offsets[l + 1]));
      result.push_back(
          analysis::cumulants_from_tuple_sums(sums, total[0], (*usable)[l].kappa[0], 4));
    }
    report.blocks = static_cast<int64_t>(total[0]);
    return result;
  };
  std::vector<std::vector<analysis::JointCumulants>> leave_one_out;
  for (int64_t group = 0; group < groups; ++group) leave_one_out.push_back(estimate(group));
  const auto mc = estimate(-1);
  // Jackknife errors of every tensor entry.
  std::vector<std::vector<std::vector<double>>> mc_error(layers);
  for (size_t l = 0; l < layers; ++l) {
    for (size_t k = 0; k < 4; ++k) {
      const size_t size = mc[l].kappa[k].size();
      std::vector<double> mean(size, 0.0), error(size, 0.0);
      for (const auto& jack : leave_one_out) {
        for (size_t i = 0; i < size; ++i) mean[i] += jack[l].kappa[k][i] / double(groups);
      }
      for (const auto& jack : leave_one_out) {
        for (size_t i = 0; i < size; ++i) {
          error[i] += (jack[l].kappa[k][i] - mean[i]) * (jack[l].kappa[k][i] - mean[i]);
        }
      }
      for (double& e : error) e = std::sqrt(e * double(groups - 1) / double(groups));
      mc_error[l].push_back(error);
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t l = 0; l < layers; ++l) {
    report.mc_relative_error.emplace_back();
    for (size_t k = 0; k < 4; ++k) {
      const std::vector<double> zero(mc[l].kappa[k].size(), 0.0);
      report.mc_relative_error.back().push_back(
          analysis::relative_difference(mc_error[l][k], zero) /
          std::max(analysis::relative_difference(mc[l].kappa[k], zero), 1e-300));
    }
  }
  for (size_t m = 0; m < modes.size(); ++m) {
    report.relative_error.emplace_back();
    report.output_predicted.emplace_back(4, nan);
    for (size_t l = 0; l < layers; ++l) {
      report.relative_error.back().emplace_back(4, nan);
      if (predicted[m].empty()) continue;
      for (size_t k = 0; k < 4; ++k) {
        if (predicted[m][l].kappa[k].empty()) continue;
        report.relative_error.back()[l][k] =
            analysis::relative_difference(predicted[m][l].kappa[k], mc[l].kappa[k]);
      }
    }
    if (!predicted[m].empty()) {
      for (size_t k = 0; k < 4; ++k) {
        if (!predicted[m].back().kappa[k].empty()) {
          report.output_predicted.back()[k] = predicted[m].back().kappa[k][0];
        }
      }
    }
  }
  for (size_t k = 0; k < 4; ++k) {
    report.output_mc.push_back(mc.back().kappa[k][0]);
    report.output_mc_error.push_back(mc_error.back()[k][0]);
  }
  // Each unit's own cumulants: the diagonal entries.
  report.marginal_predicted.assign(modes.size(), {});
  for (size_t l = 0; l < layers; ++l) {
    const int width = static_cast<int>(report.widths[l]);
    for (int a = 0; a < width; ++a) {
      report.marginal_layer.push_back(double(l));
      for (size_t k = 0; k < 4; ++k) {
        int64_t diagonal = 0;
        for (size_t r = 0; r <= k; ++r) diagonal = diagonal * width + a;
        const size_t i = static_cast<size_t>(diagonal);
        report.marginal_mc.push_back(mc[l].kappa[k][i]);
        report.marginal_mc_error.push_back(mc_error[l][k][i]);
        for (size_t m = 0; m < modes.size(); ++m) {
          const bool known = !predicted[m].empty() && !predicted[m][l].kappa[k].empty();
          report.marginal_predicted[m].push_back(known ? predicted[m][l].kappa[k][i] : nan);
        }
      }
    }
  }
  if (spec.activation == nn::Activation::kIdentity) {
    report.linear_power_sums = analysis::linear_weight_power_sums(chain, 8);
    for (int order = 1; order <= 8; ++order) {
      report.linear_expected.push_back(
          double(n) * std::pow(double(g.block_side), -order * data.scaling_dimension));
    }
  }
  report.input_level = level;
  return report;
}

}  // namespace

int run_analyze(const Comm& world, const Invocation& invocation) {
  OptionReader options(invocation.prefix, invocation.help);
  const std::string data = options.get_string("data", "", "dataset to analyse (required)");
  const std::string models = options.get_string("models", "", "trained models, comma separated");
  const std::string eval_data = options.get_string(
      "eval_data", "", "datasets of other distributions for the generalisation table");
  const int order =
      static_cast<int>(options.get_int("order", 8, "highest cumulant order P", 2, 12));
  int64_t groups = options.get_int("groups", 16, "jackknife groups of samples", 2, 1 << 20);
  const std::string output = options.get_string("o", "results.h5", "output results file");
  const bool force = options.get_flag("force", "overwrite an existing output");
  const bool quiet = options.get_flag("quiet", "no table on stdout");
  PropagationOptions propagation;
  propagation.modes = options.get_choice(
      "propagation", "auto", {"auto", "none", "exact", "taylor", "gauss", "all"},
      "cumulant propagation through the models (auto: exact for identity, quadratic and cubic "
      "activations, taylor and gauss otherwise)");
  propagation.settings.taylor_order = static_cast<int>(
      options.get_int("taylor_order", 3, "Taylor closure: order of the expansion", 1, 3));
  propagation.settings.quadrature_points = static_cast<int>(options.get_int(
      "quadrature_points", 6, "Gaussian closure: Gauss-Hermite points per dimension", 2, 20));
  propagation.max_width = static_cast<int>(
      options.get_int("propagation_max_width", 32,
                      "propagation: widest layer (units, graph layers: nodes x features)", 1, 128));
  propagation.blocks = options.get_int(
      "propagation_blocks", 32768, "propagation: blocks of the data for the Monte Carlo estimates",
      16, INT32_MAX);
  if (invocation.help) {
    if (world.rank() == 0) options.print_help("rgflow analyze -data FILE [options]");
    return 0;
  }
  if (invocation.prefix.empty()) require_all_options_used();
  if (data.empty()) throw UsageError("option " + options.full_name("data") + " is required");
  if (models.empty() && !eval_data.empty()) {
    throw UsageError("option " + options.full_name("eval_data") + " needs -models");
  }
  if (invocation.validate_only) return 0;
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
    std::vector<float> stored;  // reused: float32 data are reduced as stored (widened exactly)
    for (int level = 0; level <= g.levels; ++level) {
      analysis::CentralMoments moments(order);
      for (int64_t sample = range[0]; sample < range[1]; ++sample) {
        if (spec.dtype == "float32") {
          reader.read_stored_floats(level, sample, 1, stored);
          moments.add(stored.data(), stored.size());
        } else {
          const auto values = reader.read(level, sample, 1);
          moments.add(values.data(), values.size());
        }
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

  // Models: generalisation table and learned flows.
  std::vector<LoadedModel> loaded;
  for (const auto& path : split_list(models)) loaded.push_back(load_model(path, g));
  std::vector<std::string> eval_paths = split_list(eval_data);
  std::vector<std::unique_ptr<io::DatasetReader>> eval_readers;
  for (const auto& path : eval_paths) {
    eval_readers.push_back(std::make_unique<io::DatasetReader>(path));
    const auto& e = eval_readers.back()->spec().geometry;
    if (e.dim != g.dim || e.block_side != g.block_side || e.levels < 1) {
      throw UsageError("dataset '" + path + "' has other blocks than '" + data + "'");
    }
  }
  // Test sets: 0 the data (held-out samples when the model was trained on it), 1..E the other
  // datasets, then the data's inputs scaled by 2 and by 1/2 (targets scale alike: the exact map
  // is linear).
  std::vector<std::string> test_names{"data"};
  for (const auto& path : eval_paths) test_names.push_back(stem_of(path));
  test_names.push_back("data_x2");
  test_names.push_back("data_x0.5");
  std::vector<std::vector<double>> mse(loaded.size(), std::vector<double>(test_names.size()));
  std::vector<analysis::CumulantFlow> learned_flows;
  for (size_t m = 0; m < loaded.size(); ++m) {
    const auto& model = *loaded[m].model;
    const int64_t first_heldout = loaded[m].trained_on == data ? loaded[m].training_samples : 0;
    for (size_t t = 0; t < test_names.size(); ++t) {
      const io::DatasetReader& source =
          (t >= 1 && t <= eval_paths.size()) ? *eval_readers[t - 1] : reader;
      const int64_t first = (t >= 1 && t <= eval_paths.size()) ? 0 : first_heldout;
      const double scale = t == test_names.size() - 2   ? 2.0
                           : t == test_names.size() - 1 ? 0.5
                                                        : 1.0;
      const int64_t count = source.spec().samples - first;
      // Per-sample sums filled by one rank each: the total is the same for any rank count.
      std::vector<double> sums(static_cast<size_t>(std::max<int64_t>(count, 0)), 0.0);
      for (int64_t s = world.rank(); s < count; s += world.size()) {
        std::vector<double> fine = source.read(0, first + s, 1);
        for (double& v : fine) v *= scale;
        const auto coarse = source.read(1, first + s, 1);
        const auto predicted = apply_model(model, g.dim, g.side, g.block_side, fine);
        for (size_t p = 0; p < predicted.size(); ++p) {
          const double residual = predicted[p] - scale * coarse[p];
          sums[static_cast<size_t>(s)] += residual * residual;
        }
      }
      RGFLOW_MPI(MPI_Allreduce(MPI_IN_PLACE, sums.data(), static_cast<int>(sums.size()), MPI_DOUBLE,
                               MPI_SUM, world.get()));
      double total = 0;
      for (double v : sums) total += v;
      mse[m][t] = total / double(std::max<int64_t>(count, 1) *
                                 train::pairs_per_sample(g.dim, g.side, g.block_side));
    }
    // Learned flow: the model applied again and again to the data's level 0.
    std::vector<double> flow_buffer(static_cast<size_t>((g.levels + 1) * groups) * width, 0.0);
    for (int64_t group = world.rank(); group < groups; group += world.size()) {
      const auto range =
          lattice::piece_range(spec.samples, static_cast<int>(groups), static_cast<int>(group));
      std::vector<analysis::CentralMoments> per_level(static_cast<size_t>(g.levels + 1),
                                                      analysis::CentralMoments(order));
      for (int64_t sample = range[0]; sample < range[1]; ++sample) {
        std::vector<double> field = reader.read(0, sample, 1);
        for (int level = 0; level <= g.levels; ++level) {
          if (level > 0)
            field = apply_model(model, g.dim, g.level_side(level - 1), g.block_side, field);
          per_level[static_cast<size_t>(level)].add(field.data(), field.size());
        }
      }
      for (int level = 0; level <= g.levels; ++level) {
        const auto flat = per_level[static_cast<size_t>(level)].to_buffer();
        std::copy(flat.begin(), flat.end(),
                  flow_buffer.begin() +
                      static_cast<long>((level * groups + group) * static_cast<int64_t>(width)));
      }
    }
    RGFLOW_MPI(MPI_Allreduce(MPI_IN_PLACE, flow_buffer.data(), static_cast<int>(flow_buffer.size()),
                             MPI_DOUBLE, MPI_SUM, world.get()));
    std::vector<std::vector<analysis::CentralMoments>> learned(static_cast<size_t>(g.levels + 1));
    for (int level = 0; level <= g.levels; ++level) {
      for (int64_t group = 0; group < groups; ++group) {
        const auto begin = flow_buffer.begin() + static_cast<long>((level * groups + group) *
                                                                   static_cast<int64_t>(width));
        learned[static_cast<size_t>(level)].push_back(analysis::CentralMoments::from_buffer(
            std::vector<double>(begin, begin + static_cast<long>(width))));
      }
    }
    learned_flows.push_back(analysis::cumulant_flow(
        learned, static_cast<double>(g.sites_per_block()), static_cast<double>(g.block_side),
        spec.scaling_dimension,
        [&](int n) { return n <= 8 ? spec.distribution.exact_cumulant(n) : NAN; }));
  }

  // Cumulant propagation through every model.
  std::vector<io::PropagationReport> propagation_reports;
  if (propagation.modes != "none") {
    for (const auto& m : loaded) {
      propagation_reports.push_back(propagate_model(world, reader, m, propagation, groups));
    }
  }

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
        if (!loaded.empty()) {
          std::vector<std::string> names;
          for (const auto& m : loaded) names.push_back(m.name);
          io::write_generalisation(file.get(), names, test_names, mse);
          io::write_learned_flows(file.get(), names, learned_flows);
          io::write_generalisation_csv(generalisation_csv_path(output), names, test_names, mse);
          // Symmetry metrics of each network on blocks of the data's first samples.
          const int64_t blocks = train::pairs_per_sample(g.dim, g.side, g.block_side);
          const int64_t columns = std::min<int64_t>(4096, blocks * spec.samples);
          nn::Matrix<double> x(g.sites_per_block(), columns);
          for (int64_t sample = 0, filled = 0; filled < columns; ++sample) {
            nn::Matrix<double> all(g.sites_per_block(), blocks);
            const auto field = reader.read(0, sample, 1);
            train::extract_blocks(g.dim, g.side, g.block_side, field.data(), all.data());
            const int64_t take = std::min(blocks, columns - filled);
            x.middleCols(filled, take) = all.leftCols(take);
            filled += take;
          }
          for (const auto& m : loaded) {
            const auto& net = m.model->network();
            io::SymmetryReport report;
            report.errors = nn::output_symmetry_errors(net, x, 16, spec.seed);
            report.invariant_fraction =
                nn::invariant_fraction(net, x, nn::point_group(net.spec().block));
            if (net.spec().kind == nn::ModelKind::kGnn) {
              report.equivariance_error =
                  nn::equivariance_error(net, x, nn::point_group(net.spec().block));
            }
            report.order_parameter = nn::unit_order_parameter(net);
            report.order_history = m.order_history;
            report.history_epochs = m.history_epochs;
            io::write_symmetry(file.get(), m.name, report);
          }
          if (!propagation_reports.empty()) {
            for (size_t k = 0; k < loaded.size(); ++k) {
              io::write_propagation(file.get(), loaded[k].name, propagation_reports[k]);
            }
            io::write_propagation_csv(propagation_csv_path(output), names, propagation_reports);
          }
        }
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
    if (!loaded.empty()) {
      std::printf("\ngeneralisation (MSE):\n%-24s", "model");
      for (const auto& t : test_names) std::printf(" %12s", t.c_str());
      std::printf("\n");
      for (size_t m = 0; m < loaded.size(); ++m) {
        std::printf("%-24s", loaded[m].name.c_str());
        for (double v : mse[m]) std::printf(" %12.4g", v);
        std::printf("\n");
      }
    }
    for (size_t k = 0; k < propagation_reports.size(); ++k) {
      const auto& r = propagation_reports[k];
      if (k == 0) {
        std::printf(
            "\npropagation: the output's kappa_n predicted, against Monte Carlo +- its "
            "jackknife error (every layer: %s):\n",
            propagation_csv_path(output).c_str());
      }
      if (!r.skipped.empty()) {
        std::printf("%-16s skipped: %s\n", loaded[k].name.c_str(), r.skipped.c_str());
        continue;
      }
      for (size_t m = 0; m < r.modes.size(); ++m) {
        std::printf("%-16s %-6s", loaded[k].name.c_str(), r.modes[m].c_str());
        if (!r.mode_notes[m].empty()) {
          std::printf(" not done: %s\n", r.mode_notes[m].c_str());
          continue;
        }
        for (size_t n = 0; n < 4; ++n) {
          std::printf("  k%zu %+.3e vs %+.3e+-%.1e", n + 1, r.output_predicted[m][n],
                      r.output_mc[n], r.output_mc_error[n]);
        }
        std::printf("\n");
      }
    }
    std::printf("rgflow analyze: results in %s, table in %s\n", output.c_str(),
                csv_path(output).c_str());
  }
  return 0;
}

}  // namespace rgflow::app
