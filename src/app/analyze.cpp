// rgflow analyze: option reading and orchestration. The analysis itself lives in analysis/
// (the data passes over (sample, tile) pieces, grouped moments, generalisation, learned flows,
// propagation: kernels without MPI or files), the files in io/ (dataset hyperslab reads, model.h5
// reader, results writer). Work is shared out by jackknife slot, piece or model; each slot's
// numbers are made by one rank and summed over ranks with zeros elsewhere, so results are
// bit-identical for any rank count and memory budget. Every rank-local phase runs inside
// Comm::local_phase, so a failure on any rank ends every rank with one line.
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "commands.hpp"
#include "rgflow/analysis/cumulant_flow.hpp"
#include "rgflow/analysis/data_pass.hpp"
#include "rgflow/analysis/field_model.hpp"
#include "rgflow/analysis/generalisation.hpp"
#include "rgflow/analysis/grouped_moments.hpp"
#include "rgflow/analysis/model_propagation.hpp"
#include "rgflow/coarse/block_pairs.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/core/phase_times.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/core/text.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/io/model_file.hpp"
#include "rgflow/io/results_file.hpp"
#include "rgflow/nn/metrics.hpp"

namespace rgflow::app {
namespace {

struct AnalyzeConfig {
  std::string data, output;
  std::vector<std::string> models, eval_data;
  int order = 8;
  int64_t groups = 16;
  std::string jackknife = "auto";
  int64_t memory_budget_bytes = 0;  // per rank: pieces read at once and the models' work space
  bool force = false, quiet = false;
  analysis::PropagationOptions propagation;
  std::string groups_option = "-groups", jackknife_option = "-jackknife", output_option = "-o",
              budget_option = "-memory_mb";  // as the user types them
};

// The non-empty items of a comma-separated list of files.
std::vector<std::string> file_list(const std::string& text) {
  std::vector<std::string> items;
  for (auto& item : split_list(text)) {
    if (!item.empty()) items.push_back(std::move(item));
  }
  return items;
}

std::string stem_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const auto dot = name.rfind(".h5");
  return dot == std::string::npos ? name : name.substr(0, dot);
}

std::string sibling_csv(const std::string& output, const std::string& suffix) {
  const auto dot = output.rfind(".h5");
  return (dot == std::string::npos ? output : output.substr(0, dot)) + suffix;
}

// Reads and checks every option; the one place analyze's options are read.
AnalyzeConfig read_config(OptionReader& o) {
  AnalyzeConfig c;
  c.data = o.get_string("data", "", "dataset to analyse (required)");
  const std::string models = o.get_string("models", "", "trained models, comma separated");
  const std::string eval_data =
      o.get_string("eval_data", "", "datasets of other distributions for the generalisation table");
  c.order = static_cast<int>(o.get_int("order", 8, "highest cumulant order P", 2, 12));
  c.groups = o.get_int("groups", 16, "jackknife groups", 2, 1 << 20);
  c.jackknife = o.get_choice(
      "jackknife", "auto", {"auto", "samples", "space"},
      "jackknife groups: consecutive samples, or slabs of whole top-level block rows of every "
      "sample (for few large samples); auto: samples when there are at least -groups of them");
  c.output = o.get_string("o", "results.h5", "output results file");
  c.memory_budget_bytes =
      o.get_int("memory_mb", 64,
                "memory budget per rank, MiB: the pieces of samples read at once (whole tiles of "
                "top-level block rows, all levels) and the models' work space",
                1, int64_t{1} << 30)
      << 20;
  const int64_t test_budget =
      o.get_int("test_memory_bytes", 0,
                "testing only: the memory budget in bytes (overrides -memory_mb)", 0, INT64_MAX);
  c.force = o.get_flag("force", "overwrite an existing output");
  c.quiet = o.get_flag("quiet", "no table on stdout");
  auto& p = c.propagation;
  p.modes = o.get_choice(
      "propagation", "auto", {"auto", "none", "exact", "taylor", "gauss", "all"},
      "cumulant propagation through the models (auto: exact for identity, quadratic and cubic "
      "activations, taylor and gauss otherwise)");
  p.settings.taylor_order = static_cast<int>(
      o.get_int("taylor_order", 3, "Taylor closure: order of the expansion", 1, 3));
  p.settings.quadrature_points = static_cast<int>(o.get_int(
      "quadrature_points", 6, "Gaussian closure: Gauss-Hermite points per dimension", 2, 20));
  p.max_width = static_cast<int>(
      o.get_int("propagation_max_width", 32,
                "propagation: widest layer (units, graph layers: nodes x features)", 1, 128));
  p.blocks =
      o.get_int("propagation_blocks", 32768,
                "propagation: blocks of the data for the Monte Carlo estimates", 16, INT32_MAX);
  if (o.help()) return c;
  c.groups_option = o.full_name("groups");
  c.jackknife_option = o.full_name("jackknife");
  c.output_option = o.full_name("o");
  c.budget_option = o.full_name(test_budget > 0 ? "test_memory_bytes" : "memory_mb");
  if (test_budget > 0) c.memory_budget_bytes = test_budget;
  c.models = file_list(models);
  c.eval_data = file_list(eval_data);
  if (c.data.empty()) throw UsageError("option " + o.full_name("data") + " is required");
  if (c.models.empty() && !c.eval_data.empty()) {
    throw UsageError("option " + o.full_name("eval_data") + " needs -models");
  }
  // Results are stored per model name (the file stem): two models of one name would collide.
  for (size_t i = 0; i < c.models.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (stem_of(c.models[i]) == stem_of(c.models[j])) {
        throw UsageError("option " + o.full_name("models") + ": '" + c.models[j] + "' and '" +
                         c.models[i] + "' have the same name '" + stem_of(c.models[i]) +
                         "' (results are stored by file name): rename one");
      }
    }
  }
  for (size_t i = 0; i < c.eval_data.size(); ++i) {
    const std::string name = stem_of(c.eval_data[i]);
    bool clash = name == "data" || name == "data_x2" || name == "data_x0.5";
    for (size_t j = 0; j < i; ++j) clash = clash || stem_of(c.eval_data[j]) == name;
    if (clash) {
      throw UsageError("option " + o.full_name("eval_data") + ": test set name '" + name +
                       "' is used twice (test sets are named by file name): rename one");
    }
  }
  return c;
}

// True if both paths name the same file (compared resolved, so data/x.h5 and ./data/x.h5 agree).
bool same_file(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char resolved_a[PATH_MAX], resolved_b[PATH_MAX];
  return realpath(a.c_str(), resolved_a) != nullptr && realpath(b.c_str(), resolved_b) != nullptr &&
         std::string(resolved_a) == resolved_b;
}

// kappa_n of the distribution where it is known, NaN elsewhere (orders beyond the tables).
double known_exact_cumulant(const field::Distribution& distribution, int n) {
  try {
    return distribution.exact_cumulant(n);
  } catch (const std::invalid_argument&) {
    return std::numeric_limits<double>::quiet_NaN();
  }
}

// One model, as the analysis uses it.
struct Model {
  std::string name;
  io::TrainedModel file;
  bool single = false;  // applied with the float32 kernels
  std::unique_ptr<analysis::FieldModel<float>> in_float;
  std::unique_ptr<analysis::FieldModel<double>> in_double;
};

// A SlabReader of `reader`: one sample's values of a level on a run of top-level block rows, by
// hyperslab, as stored (float32 data stay float).
template <typename Value>
analysis::SlabReader<Value> slab_reader(const io::DatasetReader& reader) {
  return [&reader](int level, int64_t sample, analysis::RowRange rows, std::vector<Value>& out) {
    const auto& g = reader.spec().geometry;
    lattice::Box box = lattice::full_box(g.dim, g.side);
    box.begin[0] = rows.begin * g.top_block_side();
    box.extent[0] = rows.rows() * g.top_block_side();
    int64_t factor = 1;
    for (int k = 0; k < level; ++k) factor *= g.block_side;
    box = box.coarsened(factor);
    if constexpr (std::is_same_v<Value, float>) {
      reader.read_box_stored_floats(level, sample, box, out);
    } else {
      reader.read_box(level, sample, box, out);
    }
  };
}

// Symmetry metrics of docs/science.md section 5 of each network on up to 4096 blocks of the data's
// first samples (level 0).
io::SymmetryReport symmetry_report(const Model& model, const nn::Matrix<double>& blocks,
                                   uint64_t seed) {
  const auto& net = model.file.network;
  io::SymmetryReport report;
  report.errors = nn::output_symmetry_errors(net, blocks, 16, seed);
  report.invariant_fraction =
      nn::invariant_fraction(net, blocks, nn::point_group(net.spec().block));
  if (net.spec().kind == nn::ModelKind::kGnn) {
    report.equivariance_error =
        nn::equivariance_error(net, blocks, nn::point_group(net.spec().block));
  }
  report.order_parameter = nn::unit_order_parameter(net);
  report.order_history = model.file.order_parameter;
  report.history_epochs = model.file.history_epoch;
  return report;
}

// The first `limit` blocks of level 0 in sample then block order, read tile by tile.
nn::Matrix<double> first_blocks(const io::DatasetReader& reader, int64_t limit) {
  const auto& spec = reader.spec();
  const auto& g = spec.geometry;
  const int64_t per_sample = coarse::pairs_per_sample(g.dim, g.side, g.block_side);
  const int64_t columns = std::min<int64_t>(limit, per_sample * spec.samples);
  nn::Matrix<double> x(g.sites_per_block(), columns);
  nn::Matrix<double> tile_blocks;
  const auto read = slab_reader<double>(reader);
  std::vector<double> field;
  for (int64_t sample = 0, filled = 0; filled < columns; ++sample) {
    for (const auto& tile : analysis::canonical_tiles(g, {0, g.top_blocks_per_axis()})) {
      if (filled == columns) break;
      read(0, sample, tile, field);
      const int64_t rows = tile.rows() * g.top_block_side();
      tile_blocks.resize(g.sites_per_block(),
                         static_cast<Eigen::Index>(field.size()) / g.sites_per_block());
      coarse::extract_slab_blocks(g.dim, rows, g.side, g.block_side, field.data(),
                                  tile_blocks.data());
      const int64_t take = std::min<int64_t>(tile_blocks.cols(), columns - filled);
      x.middleCols(filled, take) = tile_blocks.leftCols(take);
      filled += take;
    }
  }
  return x;
}

void print_tables(const AnalyzeConfig& config, const analysis::CumulantFlow& flow,
                  const std::vector<Model>& models, const analysis::GeneralisationPlan& plan,
                  const std::vector<std::vector<double>>& mse,
                  const std::vector<io::PropagationReport>& propagation) {
  std::printf("%5s %3s %14s %11s %14s %8s %12s\n", "level", "n", "kappa", "error", "exact", "z",
              "eigenvalue");
  for (size_t k = 0; k < flow.kappa.size(); ++k) {
    for (int n = 2; n <= std::min(config.order, 6); n += 2) {
      const size_t i = static_cast<size_t>(n - 1);
      std::printf("%5zu %3d %14.6g %11.3g %14.6g %8.2f", k, n, flow.kappa[k][i].value,
                  flow.kappa[k][i].error, flow.exact[k][i], flow.z_exact[k][i]);
      if (k > 0) std::printf(" %12.5g", flow.eigenvalue[k - 1][i].value);
      std::printf("\n");
    }
  }
  if (!models.empty()) {
    std::printf("\ngeneralisation (MSE on each model's level pair):\n%-24s", "model");
    for (const auto& t : plan.tests) std::printf(" %12s", t.c_str());
    std::printf("\n");
    for (size_t m = 0; m < models.size(); ++m) {
      std::printf("%-24s", models[m].name.c_str());
      for (double v : mse[m]) std::printf(" %12.4g", v);
      std::printf("\n");
    }
    for (size_t m = 0; m < models.size(); ++m) {
      for (size_t t = 0; t < plan.tests.size(); ++t) {
        const auto& note = plan.cells[m][t].note;
        if (!note.empty())
          std::printf("  %s/%s: NaN, %s\n", models[m].name.c_str(), plan.tests[t].c_str(),
                      note.c_str());
      }
    }
  }
  for (size_t k = 0; k < propagation.size(); ++k) {
    const auto& r = propagation[k];
    if (k == 0) {
      std::printf(
          "\npropagation: the output's kappa_n predicted, against Monte Carlo +- its "
          "jackknife error (every layer: %s):\n",
          sibling_csv(config.output, "_propagation.csv").c_str());
    }
    if (!r.skipped.empty()) {
      std::printf("%-16s skipped: %s\n", models[k].name.c_str(), r.skipped.c_str());
      continue;
    }
    for (size_t m = 0; m < r.modes.size(); ++m) {
      std::printf("%-16s %-6s", models[k].name.c_str(), r.modes[m].c_str());
      if (!r.mode_notes[m].empty()) {
        std::printf(" not done: %s\n", r.mode_notes[m].c_str());
        continue;
      }
      for (size_t n = 0; n < 4; ++n) {
        std::printf("  k%zu %+.3e vs %+.3e+-%.1e", n + 1, r.output_predicted[m][n], r.output_mc[n],
                    r.output_mc_error[n]);
      }
      std::printf("\n");
    }
  }
  std::printf("rgflow analyze: results in %s, table in %s\n", config.output.c_str(),
              sibling_csv(config.output, "_cumulants.csv").c_str());
}

// How the jackknife groups are formed: consecutive samples when there are enough, else slabs of
// the top level's block rows (the same region at every level) when there are enough of those.
analysis::JackknifeGroups jackknife_groups(const AnalyzeConfig& config, int64_t samples,
                                           int64_t top_side) {
  const std::string groups = std::to_string(config.groups);
  const bool enough_samples = samples >= config.groups, enough_rows = top_side >= config.groups;
  const std::string have = "'" + config.data + "' has " + std::to_string(samples) +
                           " samples and " + std::to_string(top_side) +
                           " block rows at its top level";
  if (config.jackknife == "samples" || (config.jackknife == "auto" && enough_samples)) {
    if (!enough_samples) {
      throw UsageError("option " + config.groups_option + ": " + groups +
                       " jackknife groups of samples need at least as many samples; " + have +
                       " (" + config.jackknife_option + " space cuts the lattice instead)");
    }
    return analysis::JackknifeGroups::kSamples;
  }
  if (!enough_rows) {
    throw UsageError("option " + config.groups_option + ": " + groups +
                     " jackknife groups need at least as many samples or top-level block rows; " +
                     have + "; lower " + config.groups_option);
  }
  return analysis::JackknifeGroups::kSpace;
}

// Top-level block rows of `reader`'s samples one read may hold within the budget (whole tiles,
// all levels), or one line saying the budget cannot hold one tile.
int64_t pieces_per_budget(const AnalyzeConfig& config, const io::DatasetReader& reader,
                          bool models) {
  const auto& g = reader.spec().geometry;
  const int64_t value_bytes = io::dtype_bytes(reader.spec().dtype);
  const int64_t rows = analysis::rows_per_read(g, value_bytes, models, config.memory_budget_bytes);
  if (rows > 0) return rows;
  const int64_t tile_rows = analysis::canonical_rows(g);
  throw UsageError(
      "option " + config.budget_option + ": " + mib_text(config.memory_budget_bytes) +
      " cannot hold one tile of '" + reader.path() + "' (" + std::to_string(tile_rows) +
      " row(s) of top-level blocks of side b^K = " + std::to_string(g.top_block_side()) +
      ", all levels, " + reader.spec().dtype + (models ? ", and the models' work space" : "") +
      "): it needs " + mib_text(analysis::pass_bytes(g, tile_rows, value_bytes, models)) +
      "; raise it");
}

int analyze(const Comm& world, const AnalyzeConfig& config, const std::string& command_line) {
  PhaseTimes times;
  // Inputs: every rank opens every file itself, so a missing or malformed one fails everywhere.
  std::unique_ptr<io::DatasetReader> data_reader;
  std::vector<std::unique_ptr<io::DatasetReader>> eval_readers;
  std::vector<Model> models;
  analysis::JackknifeGroups groups_kind = analysis::JackknifeGroups::kSamples;
  int64_t read_rows = 0;  // top-level block rows of the data read at once
  times.run(world, "analyze: inputs", [&] {
    data_reader = std::make_unique<io::DatasetReader>(config.data);
    const auto& spec = data_reader->spec();
    if (!data_reader->complete()) throw UsageError("dataset '" + config.data + "' is incomplete");
    const auto& g = spec.geometry;
    groups_kind = jackknife_groups(config, spec.samples, g.level_side(g.levels));
    for (const auto& path : config.models) {
      Model model{stem_of(path), io::read_trained_model(path), false, nullptr, nullptr};
      const auto& block = model.file.network.spec().block;
      if (block.dim != g.dim || block.side != g.block_side) {
        throw UsageError("model '" + path + "' works on blocks of side " +
                         std::to_string(block.side) + " in " + std::to_string(block.dim) +
                         "D; the dataset has blocks of side " + std::to_string(g.block_side) +
                         " in " + std::to_string(g.dim) + "D");
      }
      models.push_back(std::move(model));
    }
    for (const auto& path : config.eval_data) {
      eval_readers.push_back(std::make_unique<io::DatasetReader>(path));
      const auto& e = eval_readers.back()->spec().geometry;
      if (e.dim != g.dim || e.block_side != g.block_side) {
        throw UsageError("dataset '" + path + "' has other blocks than '" + config.data + "'");
      }
      if (!eval_readers.back()->complete()) {
        throw UsageError("dataset '" + path + "' is incomplete");
      }
    }
    read_rows = pieces_per_budget(config, *data_reader, !models.empty());
    for (const auto& eval : eval_readers) pieces_per_budget(config, *eval, true);
  });
  const io::DatasetReader& reader = *data_reader;
  const auto& spec = reader.spec();
  const auto& g = spec.geometry;
  io::prepare_output(world, config.output, config.output_option, config.force, false);
  try {
    // One table of (level, group) moments, grouped as decided above.
    auto grouped = [&](int levels) {
      return groups_kind == analysis::JackknifeGroups::kSamples
                 ? analysis::GroupedMoments(levels, config.groups, config.order)
                 : analysis::GroupedMoments(levels, config.groups, config.order,
                                            g.level_side(g.levels), spec.samples);
    };
    // Each model applied with the float32 kernels where model and data are both float32.
    for (auto& model : models) {
      model.single = analysis::analysis_precision(model.file.scalar, spec.dtype) == "float32";
      model.in_double = std::make_unique<analysis::FieldModel<double>>(model.file.network);
      if (model.single) {
        model.in_float = std::make_unique<analysis::FieldModel<float>>(model.file.network);
      }
    }
    // The generalisation table's cells (model x test set).
    std::vector<analysis::GeneralisationModel> planned;
    for (const auto& model : models) {
      planned.push_back(
          {model.name, model.file.level_input,
           model.file.has_provenance && same_file(model.file.dataset_path, config.data),
           model.file.training_samples});
    }
    std::vector<analysis::GeneralisationData> test_sets;
    std::vector<int64_t> tiles_per_source{
        static_cast<int64_t>(analysis::sample_tiles(g, groups_kind, config.groups).size())};
    for (size_t e = 0; e < eval_readers.size(); ++e) {
      const auto& s = eval_readers[e]->spec();
      test_sets.push_back({stem_of(config.eval_data[e]), s.geometry.levels, s.samples});
      tiles_per_source.push_back(static_cast<int64_t>(
          analysis::canonical_tiles(s.geometry, {0, s.geometry.top_blocks_per_axis()}).size()));
    }
    const auto plan =
        analysis::plan_generalisation(planned, {"data", g.levels, spec.samples}, test_sets);
    analysis::TileSums tile_sums(plan, tiles_per_source);
    // Learned flows: each model applied again and again from the data's level k, against the
    // exact recursion at levels k, k + 1, ...
    std::vector<std::unique_ptr<analysis::GroupedMoments>> flow_tables;
    auto pass_models = [&](const std::string& dtype, bool flows) {
      std::vector<analysis::PassModel> pass;
      for (size_t m = 0; m < models.size(); ++m) {
        auto& model = models[m];
        pass.push_back({model.file.level_input,
                        model.single && dtype == "float32" ? model.in_float.get() : nullptr,
                        model.in_double.get(), flows ? flow_tables[m].get() : nullptr});
      }
      return pass;
    };
    for (const auto& model : models) {
      const int k = model.file.level_input;
      flow_tables.push_back(
          k < g.levels ? std::make_unique<analysis::GroupedMoments>(grouped(g.levels - k + 1))
                       : nullptr);
    }

    // One pass over the data, piece by piece: its cumulants, every model's learned flow and its
    // generalisation cells on the data.
    analysis::GroupedMoments data_moments = grouped(g.levels + 1);
    times.run(world, "analyze: cumulants", [&] {
      auto pass = pass_models(spec.dtype, true);
      if (spec.dtype == "float32") {
        analysis::data_pass<float>(g, spec.samples, data_moments, pass, plan, tile_sums, read_rows,
                                   world.rank(), world.size(), slab_reader<float>(reader));
      } else {
        analysis::data_pass<double>(g, spec.samples, data_moments, pass, plan, tile_sums, read_rows,
                                    world.rank(), world.size(), slab_reader<double>(reader));
      }
    });
    world.sum(data_moments.buffer());
    auto exact = [&](int n) { return known_exact_cumulant(spec.distribution, n); };
    const auto flow =
        analysis::cumulant_flow(data_moments.by_level(), static_cast<double>(g.sites_per_block()),
                                static_cast<double>(g.block_side), spec.scaling_dimension, exact);

    // One pass over each test set for every model's cell on it.
    times.run(world, "analyze: generalisation", [&] {
      for (size_t e = 0; e < eval_readers.size(); ++e) {
        const auto& s = eval_readers[e]->spec();
        auto pass = pass_models(s.dtype, false);
        const int source = static_cast<int>(e) + 1;
        if (s.dtype == "float32") {
          analysis::test_set_pass<float>(s.geometry, s.samples, source, pass, plan, tile_sums,
                                         world.rank(), world.size(),
                                         slab_reader<float>(*eval_readers[e]));
        } else {
          analysis::test_set_pass<double>(s.geometry, s.samples, source, pass, plan, tile_sums,
                                          world.rank(), world.size(),
                                          slab_reader<double>(*eval_readers[e]));
        }
      }
    });
    world.sum(tile_sums.buffer());
    const size_t tests = plan.tests.size();
    std::vector<std::vector<double>> mse(models.size(), std::vector<double>(tests));
    std::string notes;
    for (size_t m = 0; m < models.size(); ++m) {
      for (size_t t = 0; t < tests; ++t) {
        const auto& cell = plan.cells[m][t];
        if (!cell.note.empty()) {
          mse[m][t] = std::numeric_limits<double>::quiet_NaN();
          notes +=
              (notes.empty() ? "" : "; ") + models[m].name + "/" + plan.tests[t] + ": " + cell.note;
          continue;
        }
        const auto& sg =
            (cell.source == 0 ? reader : *eval_readers[cell.source - 1]).spec().geometry;
        mse[m][t] = analysis::mean_squared_error(
            tile_sums.sample_sums(m, t),
            coarse::pairs_per_sample(sg.dim, sg.level_side(cell.level), sg.block_side));
      }
    }

    std::vector<io::LearnedFlow> learned_flows;
    for (auto& table : flow_tables) {
      if (table) world.sum(table->buffer());
    }
    times.run(world, "analyze: flows", [&] {
      for (size_t m = 0; m < models.size(); ++m) {
        io::LearnedFlow learned;
        const int k = models[m].file.level_input;
        learned.first_level = k;
        if (!flow_tables[m]) {
          learned.note = "the model maps level " + std::to_string(k) + " -> " +
                         std::to_string(k + 1) + "; the data have levels 0.." +
                         std::to_string(g.levels);
        } else {
          learned.flow = analysis::cumulant_flow(
              flow_tables[m]->by_level(), static_cast<double>(g.sites_per_block()),
              static_cast<double>(g.block_side), spec.scaling_dimension,
              analysis::exact_cumulant_at_level(exact, k, static_cast<double>(g.sites_per_block()),
                                                static_cast<double>(g.block_side),
                                                spec.scaling_dimension));
        }
        learned_flows.push_back(std::move(learned));
      }
    });

    // Cumulant propagation through every model: predictions, then the Monte Carlo.
    std::vector<io::PropagationReport> propagation;
    if (config.propagation.modes != "none") {
      const analysis::PropagationData data{g, spec.distribution, spec.scaling_dimension,
                                           spec.samples,
                                           groups_kind == analysis::JackknifeGroups::kSpace};
      // Plans, then the predictions of every (model, mode) shared out over ranks, largest
      // first, each to the rank with the least work so far; each made by one rank and handed to
      // the others bit for bit.
      std::vector<std::unique_ptr<analysis::ModelPropagation>> runs;
      std::vector<std::array<size_t, 3>> units;  // model, mode, owner
      times.run(world, "analyze: propagation", [&] {
        for (auto& model : models) {
          runs.push_back(std::make_unique<analysis::ModelPropagation>(
              model.file.network, model.file.level_input, data, config.propagation, config.groups));
        }
        std::vector<std::pair<double, std::array<size_t, 2>>> by_cost;
        for (size_t m = 0; m < runs.size(); ++m) {
          for (size_t mode = 0; mode < runs[m]->mode_count(); ++mode) {
            by_cost.push_back({-runs[m]->prediction_cost(mode), {m, mode}});
          }
        }
        std::stable_sort(by_cost.begin(), by_cost.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<double> load(static_cast<size_t>(world.size()), 0.0);
        for (const auto& [cost, unit] : by_cost) {
          const size_t owner =
              static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
          load[owner] -= cost;
          units.push_back({unit[0], unit[1], owner});
          if (owner == static_cast<size_t>(world.rank())) runs[unit[0]]->predict(unit[1]);
        }
      });
      for (const auto& [m, mode, owner] : units) {
        const int root = static_cast<int>(owner);
        const std::string bytes =
            world.broadcast(world.rank() == root ? runs[m]->prediction_bytes(mode) : "", root);
        if (world.rank() != root) runs[m]->set_prediction(mode, bytes);
      }
      times.run(world, "analyze: propagation", [&] {
        for (auto& run : runs) run->prepare_monte_carlo();
      });
      for (size_t m = 0; m < models.size(); ++m) {
        times.run(world, "analyze: monte carlo", [&] {
          const int level = models[m].file.level_input;
          const auto read = slab_reader<double>(reader);
          runs[m]->fill_owned_groups(
              world.rank(), world.size(),
              [&](int64_t sample, int64_t first_row, int64_t rows, std::vector<double>& field) {
                read(level, sample, {first_row, first_row + rows}, field);
              });
        });
        if (!runs[m]->skipped()) world.sum(runs[m]->buffer());
        times.run(world, "analyze: mc estimates",
                  [&] { propagation.push_back(runs[m]->finish()); });
      }
    }

    // Symmetry metrics: model k on rank k mod P, its numbers in a fixed layout summed over ranks
    // (zeros elsewhere: exact); then the results file on rank 0.
    std::vector<io::SymmetryReport> symmetry(models.size());
    std::vector<size_t> layout_start{0};  // per model: 4 output errors, then 3 x hidden layers
    for (const auto& m : models) {
      layout_start.push_back(layout_start.back() + 4 + 3 * m.file.network.spec().hidden.size());
    }
    std::vector<double> packed(layout_start.back(), 0.0);
    times.run(world, "analyze: symmetry", [&] {
      nn::Matrix<double> blocks;
      for (size_t k = static_cast<size_t>(world.rank()); k < models.size();
           k += static_cast<size_t>(world.size())) {
        if (blocks.size() == 0) blocks = first_blocks(reader, 4096);
        const auto report = symmetry_report(models[k], blocks, spec.seed);
        const size_t hidden = (layout_start[k + 1] - layout_start[k] - 4) / 3;
        double* out = packed.data() + layout_start[k];
        out[0] = report.errors.permutation;
        out[1] = report.errors.point_group;
        out[2] = report.errors.sign;
        out[3] = report.errors.scale;
        const std::vector<double>* parts[] = {&report.invariant_fraction,
                                              &report.equivariance_error, &report.order_parameter};
        for (size_t p = 0; p < 3; ++p) {
          if (parts[p]->size() > hidden) throw LibraryError("symmetry metrics: unexpected size");
          std::copy(parts[p]->begin(), parts[p]->end(), out + 4 + p * hidden);
        }
      }
    });
    world.sum(packed);
    for (size_t k = 0; k < models.size(); ++k) {
      const double* in = packed.data() + layout_start[k];
      const auto& net_spec = models[k].file.network.spec();
      const size_t hidden = net_spec.hidden.size();
      auto& report = symmetry[k];
      report.errors = {in[0], in[1], in[2], in[3]};
      report.invariant_fraction.assign(in + 4, in + 4 + hidden);
      if (net_spec.kind == nn::ModelKind::kGnn) {
        report.equivariance_error.assign(in + 4 + hidden, in + 4 + 2 * hidden);
      }
      report.order_parameter.assign(in + 4 + 2 * hidden, in + 4 + 3 * hidden);
      report.order_history = models[k].file.order_parameter;
      report.history_epochs = models[k].file.history_epoch;
    }
    times.run(world, "analyze: write", [&] {
      if (world.rank() != 0) return;
      std::string precision;  // how each model's network was applied to the data
      for (const auto& m : models) {
        precision +=
            (precision.empty() ? "" : ",") + m.name + ":" + (m.single ? "float32" : "float64");
      }
      io::ResultsFile file(io::partial_path(config.output),
                           {config.data, command_line, utc_timestamp(), config.groups,
                            analysis::jackknife_groups_name(groups_kind), precision});
      io::write_cumulant_flow(file.id(), flow, spec);
      if (!models.empty()) {
        std::vector<std::string> names;
        for (const auto& m : models) names.push_back(m.name);
        io::write_generalisation(file.id(), names, plan.tests, mse,
                                 analysis::generalisation_description(), notes);
        io::write_learned_flows(file.id(), names, learned_flows);
        io::write_generalisation_csv(sibling_csv(config.output, "_generalisation.csv"), names,
                                     plan.tests, mse);
        for (size_t k = 0; k < models.size(); ++k) {
          io::write_symmetry(file.id(), models[k].name, symmetry[k]);
        }
        if (!propagation.empty()) {
          for (size_t k = 0; k < models.size(); ++k) {
            io::write_propagation(file.id(), models[k].name, propagation[k]);
          }
          io::write_propagation_csv(sibling_csv(config.output, "_propagation.csv"), names,
                                    propagation);
        }
      }
      file.close();
      io::write_cumulant_csv(sibling_csv(config.output, "_cumulants.csv"), flow);
    });
    io::commit_output(world, config.output);
    const double peak_rss = peak_rss_mib(world);
    if (world.rank() == 0 && !config.quiet) {
      print_tables(config, flow, models, plan, mse, propagation);
      std::printf("rgflow analyze: seconds per phase on rank 0: %s\n",
                  times.summary(false).c_str());
      std::printf("rgflow analyze: CPU seconds per phase on rank 0: %s\n",
                  times.summary(true).c_str());
      std::printf(
          "rgflow analyze: peak RSS %.0f MiB/rank (largest), budget %s/rank, %lld "
          "top-level block row(s) of the data per read\n",
          peak_rss, mib_text(config.memory_budget_bytes).c_str(),
          static_cast<long long>(read_rows));
    }
  } catch (...) {
    // No partial output: the results file is written last, whole, or not at all.
    if (world.rank() == 0) unlink(io::partial_path(config.output).c_str());
    throw;
  }
  return 0;
}

}  // namespace

int run_analyze(const Comm& world, const Invocation& invocation) {
  OptionReader options(invocation.prefix, invocation.help);
  const AnalyzeConfig config = read_config(options);
  if (invocation.help) {
    if (world.rank() == 0) options.print_help("rgflow analyze -data FILE [options]");
    return 0;
  }
  if (invocation.prefix.empty()) require_all_options_used();
  if (invocation.validate_only) return 0;
  return analyze(world, config, invocation.command_line);
}

}  // namespace rgflow::app
