// rgflow train: fit a network to the RG map stored in a dataset: inputs are the blocks of level
// k, targets the same blocks' values at level k+1, read from the file (not recomputed).
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <sstream>
#include <type_traits>
#include <typeinfo>

#include "commands.hpp"
#include "rgflow/coarse/block_pairs.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/lattice/partition.hpp"
#include "rgflow/train/checkpoint.hpp"

namespace rgflow::app {
namespace {

struct TrainConfig {
  std::string data, output;
  std::string option_prefix;  // "-" or "-train_<model>_": names options in messages
  int level = 0;
  nn::ModelSpec spec;
  std::string dtype = "float32";
  nn::OptimizerSettings optimizer;
  train::TrainSettings settings;
  double val_fraction = 0.1;
  int64_t memory_budget = 0;
  // Penalty strengths tuned on the validation split (empty: none).
  std::vector<std::string> tune_types;
  std::vector<double> tune_grid;
  int64_t tune_epochs = 1;
  double tune_tolerance = 0.05;
  bool force = false, resume = false, quiet = false;
  int64_t stop_after_steps = 0;
};

std::vector<int> parse_widths(const std::string& option, const std::string& text) {
  std::vector<int> widths;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    char* end = nullptr;
    const long value = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || value < 1 || value > 1 << 20) {
      throw UsageError("option " + option + ": '" + text +
                       "' is not a list of positive widths (e.g. 64,64)");
    }
    widths.push_back(static_cast<int>(value));
  }
  if (widths.empty()) throw UsageError("option " + option + ": no hidden widths given");
  return widths;
}

TrainConfig read_config(OptionReader& o) {
  TrainConfig c;
  c.option_prefix = o.full_name("");
  c.data = o.get_string("data", "", "dataset written by rgflow generate (required)");
  c.level = static_cast<int>(o.get_int("level", 0, "input level k (targets: level k+1)", 0, 62));
  c.output = o.get_string("o", "model.h5", "output model file");
  auto& spec = c.spec;
  spec.kind =
      *nn::parse_model_kind(o.get_choice("model", "mlp", nn::model_kind_names(), "network kind"));
  const std::string hidden = o.get_string("hidden", "64,64", "hidden widths, comma separated");
  spec.activation = *nn::parse_activation(
      o.get_choice("activation", "tanh", nn::activation_names(), "activation"));
  spec.tying = *nn::parse_tying(o.get_choice("tying", "none", nn::tying_names(), "weight tying"));
  spec.orbit_group = o.get_choice("orbit_group", "point", {"point", "reflections", "full"},
                                  "site group whose orbits -tying orbits shares weights over");
  spec.strategy = *nn::parse_strategy(
      o.get_choice("strategy", "none", nn::strategy_names(), "symmetry strategy"));
  spec.bias = !o.get_flag("no_bias", "layers without biases");
  spec.mean_aggregation =
      o.get_choice("aggregation", "sum", {"sum", "mean"}, "gnn neighbour aggregation") == "mean";
  spec.mean_pooling =
      o.get_choice("pooling", "sum", {"sum", "mean"}, "gnn readout pooling") == "mean";
  spec.periodic = o.get_flag("periodic", "gnn: wrap the block's graph");
  spec.tie_self_neighbour = o.get_flag("tie_self_neighbour", "gnn: W_nbr = W_self");
  auto& penalty = c.settings.penalty;
  penalty.permutation = o.get_real("lambda_permutation", 0, "penalty strength: site permutations");
  penalty.point_group = o.get_real("lambda_point_group", 0, "penalty strength: point group");
  penalty.sign = o.get_real("lambda_sign", 0, "penalty strength: sign flip");
  penalty.scale = o.get_real("lambda_scale", 0, "penalty strength: scale covariance");
  penalty.scale_factor = o.get_real("scale_factor", 2.0, "c of the scale penalty");
  const std::string tune =
      o.get_string("tune_penalties", "",
                   "tune these penalty strengths on the validation split: a comma list of "
                   "permutation, point_group, sign, scale, or all (needs -strategy regularize)");
  const std::string grid =
      o.get_string("tune_grid", "0,0.001,0.01,0.1,1", "candidate strengths of -tune_penalties");
  c.tune_epochs = o.get_int("tune_epochs", 1, "epochs of each tuning trial", 1, INT64_MAX);
  c.tune_tolerance = o.get_real(
      "tune_tolerance", 0.05,
      "tuning keeps the largest strength whose validation MSE is within this fraction of the best");
  c.optimizer.kind = o.get_choice("optimizer", "adam", {"adam", "sgd"}, "optimiser");
  c.optimizer.learning_rate = o.get_real("lr", 1e-3, "learning rate");
  c.optimizer.momentum = o.get_real("momentum", 0.9, "sgd momentum");
  c.optimizer.weight_decay = o.get_real("weight_decay", 0, "decoupled weight decay (AdamW)");
  auto& schedule = c.settings.schedule;
  schedule.kind = o.get_choice("schedule", "constant", {"constant", "cosine", "step"},
                               "learning-rate schedule");
  schedule.step_factor = o.get_real("step_factor", 0.1, "step schedule: factor");
  schedule.step_epochs =
      o.get_int("step_epochs", 10, "step schedule: epochs between steps", 1, INT64_MAX);
  c.settings.batch = o.get_int("batch", 256, "global batch size", 1, INT32_MAX);
  c.settings.epochs = o.get_int("epochs", 5, "epochs", 1, INT64_MAX);
  c.settings.steps =
      o.get_int("steps", 0, "stop after this many steps (0: -epochs decides)", 0, INT64_MAX);
  c.settings.patience =
      o.get_int("patience", 0, "early stopping: epochs without a better validation loss (0: off)",
                0, INT64_MAX);
  c.val_fraction = o.get_real("val_fraction", 0.1, "fraction of samples held out for validation");
  c.settings.seed =
      static_cast<uint64_t>(o.get_int("seed", 1, "seed: initialisation, data order", 0, INT64_MAX));
  c.dtype = o.get_choice("dtype", "float32", {"float32", "float64"}, "training precision");
  c.settings.reproducible =
      o.get_flag("reproducible", "fixed-order reduction: identical weights for any rank count");
  c.settings.checkpoint_every =
      o.get_int("checkpoint_every", 0, "steps between checkpoints (0: none)", 0, INT64_MAX);
  c.memory_budget =
      o.get_int("memory_mb", 2048,
                "training pairs held in memory at once, MiB over all ranks (larger splits are "
                "streamed from the file in windows)",
                1, 1 << 30)
      << 20;
  c.force = o.get_flag("force", "overwrite an existing output");
  c.resume = o.get_flag("resume", "continue from the checkpoint of an interrupted run");
  c.quiet = o.get_flag("quiet", "no progress and no per-epoch lines");
  c.stop_after_steps = o.get_int("test_stop_after_steps", 0,
                                 "testing only: end abruptly after this many steps", 0, INT64_MAX);
  if (o.help()) return c;

  spec.hidden = parse_widths(o.full_name("hidden"), hidden);
  {
    // The block comes from the dataset, read later; the smallest block (2 sites) gives a lower
    // bound on the network's size, so a network too large for any block is refused here, before
    // any file is opened (and when a pipeline is validated).
    nn::ModelSpec smallest = spec;
    smallest.block = {1, 2};
    const std::string problem = smallest.validate();
    if (problem.rfind("the network", 0) == 0) {
      throw UsageError("option " + o.full_name("hidden") + ": even on the smallest block, " +
                       problem);
    }
    if (!problem.empty()) throw UsageError(problem);
  }
  c.settings.schedule.base = c.optimizer.learning_rate;  // the schedule sets every step's rate
  spec.seed = c.settings.seed;
  if (c.data.empty()) throw UsageError("option " + o.full_name("data") + " is required");
  if (!(c.val_fraction >= 0 && c.val_fraction < 1)) {
    throw UsageError("option " + o.full_name("val_fraction") + ": must be in [0, 1)");
  }
  if (c.val_fraction == 0 && c.settings.patience > 0) {
    // Nothing held out: every validation loss would be 0, and early stopping would keep the
    // first epoch's weights.
    throw UsageError("options " + o.full_name("patience") + " and " + o.full_name("val_fraction") +
                     " 0 cannot go together: early stopping needs a validation split");
  }
  if (!(c.optimizer.learning_rate > 0)) {
    throw UsageError("option " + o.full_name("lr") + ": must be positive");
  }
  for (const auto& [name, value] :
       {std::pair<const char*, double>{"lambda_permutation", penalty.permutation},
        {"lambda_point_group", penalty.point_group},
        {"lambda_sign", penalty.sign},
        {"lambda_scale", penalty.scale}}) {
    if (value < 0) throw UsageError("option " + o.full_name(name) + ": must not be negative");
  }
  if (!tune.empty()) {
    const std::vector<std::string> all = {"permutation", "point_group", "sign", "scale"};
    std::stringstream items(tune == "all" ? "permutation,point_group,sign,scale" : tune);
    for (std::string type; std::getline(items, type, ',');) {
      if (std::find(all.begin(), all.end(), type) == all.end()) {
        throw UsageError("option " + o.full_name("tune_penalties") + ": unknown penalty '" + type +
                         "' (allowed: permutation, point_group, sign, scale, all)");
      }
      if (std::find(c.tune_types.begin(), c.tune_types.end(), type) != c.tune_types.end()) {
        throw UsageError("option " + o.full_name("tune_penalties") + ": '" + type +
                         "' is listed twice");
      }
      if (o.given("lambda_" + type)) {
        throw UsageError("option " + o.full_name("lambda_" + type) + ": a strength cannot be " +
                         "both given and tuned (-tune_penalties lists " + type + ")");
      }
      c.tune_types.push_back(type);
    }
    std::stringstream values(grid);
    for (std::string item; std::getline(values, item, ',');) {
      char* end = nullptr;
      const double value = std::strtod(item.c_str(), &end);
      if (item.empty() || *end != '\0' || !std::isfinite(value) || value < 0) {
        throw UsageError("option " + o.full_name("tune_grid") + ": '" + grid +
                         "' is not a list of non-negative strengths");
      }
      c.tune_grid.push_back(value);
    }
    std::sort(c.tune_grid.begin(), c.tune_grid.end());
    c.tune_grid.erase(std::unique(c.tune_grid.begin(), c.tune_grid.end()), c.tune_grid.end());
    if (c.tune_grid.size() < 2) {
      throw UsageError("option " + o.full_name("tune_grid") + ": needs at least two strengths");
    }
    if (!(c.tune_tolerance >= 0)) {
      throw UsageError("option " + o.full_name("tune_tolerance") + ": must not be negative");
    }
    if (spec.strategy != nn::Strategy::kRegularize) {
      throw UsageError("option " + o.full_name("tune_penalties") + ": needs -strategy regularize");
    }
    if (!(c.val_fraction > 0)) {
      throw UsageError("option " + o.full_name("tune_penalties") +
                       ": tuning needs a validation split (-val_fraction > 0)");
    }
  }
  if (penalty.active() && spec.strategy != nn::Strategy::kRegularize) {
    throw UsageError("option " + o.full_name("strategy") +
                     ": symmetry penalties (-lambda_*) need -strategy regularize");
  }
  c.settings.progress = !c.quiet;
  return c;
}

// The options that determine the trained weights; a resume must match them.
std::string fingerprint(const TrainConfig& c, const io::DatasetSpec& data) {
  std::ostringstream text;
  text.precision(17);
  const auto& s = c.spec;
  text << "data seed " << data.seed << " " << data.distribution.name() << " L "
       << data.geometry.side << " S " << data.samples << " level " << c.level << " model "
       << nn::model_kind_name(s.kind) << " hidden";
  for (int w : s.hidden) text << " " << w;
  text << " act " << nn::activation_name(s.activation) << " tying " << nn::tying_name(s.tying)
       << " " << s.orbit_group << " strategy " << nn::strategy_name(s.strategy) << " bias "
       << s.bias << " gnn " << s.mean_aggregation << s.mean_pooling << s.periodic
       << s.tie_self_neighbour << " penalty " << c.settings.penalty.permutation << " "
       << c.settings.penalty.point_group << " " << c.settings.penalty.sign << " "
       << c.settings.penalty.scale << " " << c.settings.penalty.scale_factor << " opt "
       << c.optimizer.kind << " " << c.optimizer.learning_rate << " " << c.optimizer.momentum << " "
       << c.optimizer.weight_decay << " schedule " << c.settings.schedule.kind << " "
       << c.settings.schedule.step_factor << " " << c.settings.schedule.step_epochs << " batch "
       << c.settings.batch << " epochs " << c.settings.epochs << " steps " << c.settings.steps
       << " patience " << c.settings.patience << " val " << c.val_fraction << " seed "
       << c.settings.seed << " dtype " << c.dtype << " reproducible " << c.settings.reproducible;
  if (!c.tune_types.empty()) {
    text << " tune";
    for (const auto& type : c.tune_types) text << " " << type;
    text << " grid";
    for (double value : c.tune_grid) text << " " << value;
    text << " epochs " << c.tune_epochs << " tolerance " << c.tune_tolerance;
  }
  return text.str();
}

// Reads this rank's samples [first, first + count) of the level pair into a PairSet. NaN or Inf
// in the data is an input error (checked by every rank; the verdict is shared).
template <typename Scalar>
train::PairSet<Scalar> load_pairs(const Comm& world, const io::DatasetReader& reader, int level,
                                  int64_t sample_offset, int64_t samples, std::string* error) {
  const auto& g = reader.spec().geometry;
  const int64_t per_sample = coarse::pairs_per_sample(g.dim, g.level_side(level), g.block_side);
  const int n = static_cast<int>(g.sites_per_block());
  const auto range = lattice::piece_range(samples, world.size(), world.rank());
  train::PairSet<Scalar> set;
  set.total = static_cast<uint64_t>(samples * per_sample);
  set.first = static_cast<uint64_t>(range[0] * per_sample);
  const int64_t count = (range[1] - range[0]) * per_sample;
  set.x.resize(n, count);
  set.y.resize(1, count);
  for (int64_t s = range[0]; s < range[1] && error->empty(); ++s) {
    const auto fine = reader.read(level, sample_offset + s, 1);
    const auto coarse = reader.read(level + 1, sample_offset + s, 1);
    for (const auto* values : {&fine, &coarse}) {
      for (double v : *values) {
        if (!std::isfinite(v)) {
          *error = "dataset '" + reader.path() + "' holds a non-finite value (NaN or Inf) in " +
                   "sample " + std::to_string(sample_offset + s);
          break;
        }
      }
    }
    const int64_t column = (s - range[0]) * per_sample;
    coarse::extract_pairs(g.dim, g.level_side(level), g.block_side, fine.data(), coarse.data(),
                          set.x.data() + column * n, set.y.data() + column);
  }
  return set;
}

template <typename Scalar>
using PairSplit = std::pair<std::shared_ptr<const train::PairSet<Scalar>>,
                            std::shared_ptr<const train::PairSet<Scalar>>>;

}  // namespace

// One entry: models of a pipeline are usually trained one after another on the same data.
class TrainDataCache {
 public:
  std::string key;
  PairSplit<float> single;
  PairSplit<double> double_precision;

  template <typename Scalar>
  PairSplit<Scalar>& split() {
    if constexpr (std::is_same_v<Scalar, float>) {
      return single;
    } else {
      return double_precision;
    }
  }
};

std::shared_ptr<TrainDataCache> make_train_data_cache() {
  return std::make_shared<TrainDataCache>();
}

namespace {

// The training and validation pairs of this rank, from the cache when the same split of the same
// dataset was loaded last.
template <typename Scalar>
const PairSplit<Scalar>& cached_pairs(const Comm& world, const io::DatasetReader& reader, int level,
                                      int64_t training_samples, int64_t validation_samples,
                                      TrainDataCache& cache) {
  const std::string key = reader.path() + "|" + std::to_string(level) + "|" +
                          std::to_string(training_samples) + "|" +
                          std::to_string(validation_samples) + "|" + typeid(Scalar).name();
  if (cache.key == key) return cache.split<Scalar>();
  cache = TrainDataCache();  // free the previous data before loading the next
  auto& split = cache.split<Scalar>();
  // Each rank reads its own samples (independent reads): a failure on one reaches all.
  world.local_phase("train: load", [&] {
    std::string error;
    split.first = std::make_shared<const train::PairSet<Scalar>>(
        load_pairs<Scalar>(world, reader, level, 0, training_samples, &error));
    split.second = std::make_shared<const train::PairSet<Scalar>>(
        load_pairs<Scalar>(world, reader, level, training_samples, validation_samples, &error));
    if (!error.empty()) throw UsageError(error);
  });
  cache.key = key;
  return split;
}

double& penalty_strength(nn::SymmetryPenalty& penalty, const std::string& type) {
  if (type == "permutation") return penalty.permutation;
  if (type == "point_group") return penalty.point_group;
  if (type == "sign") return penalty.sign;
  return penalty.scale;
}

// Coordinate search over the tuned types: short trials from the same initialisation and data
// order, each judged by the validation MSE without the penalty. Keeping the largest strength
// within the tolerance of the best (rather than the best alone) makes the tuned strength a measure
// of how exact the symmetry is: an exact one costs nothing at any strength.
template <typename Scalar>
train::PenaltyTuning tune_penalties(const Comm& world, const TrainConfig& config,
                                    const nn::ModelSpec& spec, train::TrainSettings settings,
                                    train::PairSource<Scalar>& train_set,
                                    train::PairSource<Scalar>& validation_set) {
  train::PenaltyTuning tuning;
  tuning.types = config.tune_types;
  tuning.candidates = config.tune_grid;
  tuning.tolerance = config.tune_tolerance;
  tuning.epochs = config.tune_epochs;
  settings.epochs = config.tune_epochs;
  settings.steps = 0;
  settings.patience = 0;
  settings.checkpoint_every = 0;
  settings.progress = false;
  const bool report = world.rank() == 0 && !config.quiet;
  for (const auto& type : tuning.types) {
    std::vector<double> losses;
    for (double candidate : tuning.candidates) {
      penalty_strength(settings.penalty, type) = candidate;
      nn::SymmetricModel<Scalar> model(spec);
      nn::Optimizer<Scalar> optimizer(config.optimizer,
                                      static_cast<size_t>(model.network().parameter_count()));
      train::Trainer<Scalar> trainer(world, settings, model, optimizer, train_set, validation_set);
      train::TrainState<Scalar> state;
      const auto outcome = trainer.run(state, 0, [](const train::TrainState<Scalar>&) {});
      const double loss = outcome == train::StepOutcome::kDiverged
                              ? std::numeric_limits<double>::infinity()
                              : trainer.validation_loss();
      losses.push_back(std::isfinite(loss) ? loss : std::numeric_limits<double>::infinity());
      if (report) {
        std::printf("rgflow train: tuning lambda_%s = %g: validation MSE %.4e\n", type.c_str(),
                    candidate, loss);
        std::fflush(stdout);
      }
    }
    const double best = *std::min_element(losses.begin(), losses.end());
    if (!std::isfinite(best)) {
      throw UsageError("tuning lambda_" + type + ": every trial diverged (lower -lr)");
    }
    size_t chosen = 0;
    for (size_t k = 0; k < losses.size(); ++k) {
      if (losses[k] <= best * (1 + tuning.tolerance)) chosen = k;
    }
    penalty_strength(settings.penalty, type) = tuning.candidates[chosen];
    tuning.chosen.push_back(tuning.candidates[chosen]);
    tuning.val_loss.insert(tuning.val_loss.end(), losses.begin(), losses.end());
    if (report) {
      std::printf("rgflow train: tuned lambda_%s = %g\n", type.c_str(), tuning.chosen.back());
    }
  }
  return tuning;
}

template <typename Scalar>
int train_with(const Comm& world, const TrainConfig& config, const io::DatasetReader& reader,
               const std::string& command_line, io::OutputState state_on_disk,
               TrainDataCache& cache) {
  const auto& data = reader.spec();
  const int64_t samples = data.samples;
  int64_t validation_samples =
      config.val_fraction > 0 ? std::max<int64_t>(1, std::llround(config.val_fraction * samples))
                              : 0;
  const int64_t training_samples = samples - validation_samples;
  if (training_samples < 1) {
    throw UsageError("option " + config.option_prefix +
                     "val_fraction: leaves no training samples (the dataset has " +
                     std::to_string(samples) + ")");
  }
  const auto& g = data.geometry;
  const int64_t per_sample =
      coarse::pairs_per_sample(g.dim, g.level_side(config.level), g.block_side);
  if (config.settings.batch > training_samples * per_sample) {
    throw UsageError("option " + config.option_prefix + "batch: " +
                     std::to_string(config.settings.batch) + " exceeds the training split's " +
                     std::to_string(training_samples * per_sample) + " pairs");
  }
  // In memory when a split fits the budget, else windows of as many whole samples as fit. The
  // budget is for a window over all ranks (each holds its share), so the windows, and with them
  // the batches, do not depend on the rank count.
  const int64_t sample_bytes =
      per_sample * (g.sites_per_block() + 1) * static_cast<int64_t>(sizeof(Scalar));
  const int64_t window_samples = config.memory_budget / sample_bytes;
  const std::string budget_option = config.option_prefix + "memory_mb";
  if (window_samples < 1) {
    throw UsageError("option " + budget_option + ": one sample's training pairs need " +
                     std::to_string(sample_bytes >> 20) + " MiB; raise it");
  }
  const bool streamed = training_samples > window_samples || validation_samples > window_samples;
  if (streamed && config.settings.batch > window_samples * per_sample) {
    throw UsageError("option " + config.option_prefix +
                     "batch: " + std::to_string(config.settings.batch) + " exceeds the " +
                     std::to_string(window_samples * per_sample) + " pairs a window of " +
                     budget_option + " holds");
  }
  const double load_start = wall_seconds();
  auto window_loader = [&world, &reader, &config, per_sample](int64_t split_offset) {
    return [&world, &reader, &config, per_sample, split_offset](int64_t first, int64_t count) {
      train::PairSet<Scalar> set;
      world.local_phase("train: load", [&] {
        std::string error;
        set = load_pairs<Scalar>(world, reader, config.level, split_offset + first, count, &error);
        if (!error.empty()) throw UsageError(error);
      });
      set.first += static_cast<uint64_t>(first * per_sample);  // ids count from the split's start
      return set;
    };
  };
  std::optional<train::PairSource<Scalar>> train_set, validation_set;
  if (streamed) {
    train_set.emplace(training_samples, window_samples, per_sample, window_loader(0));
    validation_set.emplace(validation_samples, window_samples, per_sample,
                           window_loader(training_samples));
  } else {
    const auto& [train_pairs, validation_pairs] = cached_pairs<Scalar>(
        world, reader, config.level, training_samples, validation_samples, cache);
    train_set.emplace(train_pairs, per_sample);
    validation_set.emplace(validation_pairs, per_sample);
  }
  const double load_seconds = world.max(wall_seconds() - load_start);

  nn::ModelSpec spec = config.spec;
  spec.block = {g.dim, static_cast<int>(g.block_side)};  // validated in run_train
  nn::SymmetricModel<Scalar> model(spec);
  nn::Optimizer<Scalar> optimizer(config.optimizer,
                                  static_cast<size_t>(model.network().parameter_count()));
  train::TrainState<Scalar> state;
  train::TrainSettings settings = config.settings;
  settings.pairs_per_sample = per_sample;
  train::Provenance provenance{config.data,      data,         config.level,
                               training_samples, command_line, fingerprint(config, data)};
  const std::string partial = io::partial_path(config.output);
  if (state_on_disk == io::OutputState::kResume) {
    // Every rank reads the checkpoint itself (serial HDF5): the verdict on it is shared.
    world.local_phase("train: resume", [&] {
      train::read_training_file(partial, provenance.fingerprint, model, optimizer, state);
    });
    if (world.rank() == 0 && !config.quiet) {
      std::printf("rgflow train: resuming at step %lld\n",
                  static_cast<long long>(state.global_step));
    }
  }
  if (!config.tune_types.empty()) {
    // A resumed run keeps the strengths its checkpoint was tuned with.
    if (!state.history.tuning.done()) {
      state.history.tuning =
          tune_penalties<Scalar>(world, config, spec, settings, *train_set, *validation_set);
    }
    const auto& tuning = state.history.tuning;
    for (size_t k = 0; k < tuning.types.size(); ++k) {
      penalty_strength(settings.penalty, tuning.types[k]) = tuning.chosen[k];
    }
  }
  train::Trainer<Scalar> trainer(world, settings, model, optimizer, *train_set, *validation_set);
  if (state_on_disk == io::OutputState::kResume) {
    // The same checkpoint and the same data on every rank: the same verdict everywhere.
    const std::string problem =
        train::resume_position_problem(state.epoch, state.step_in_epoch, state.global_step,
                                       state.finished, trainer.steps_per_epoch());
    if (!problem.empty()) {
      throw UsageError("cannot resume from '" + partial + "': " + problem +
                       " (use -force to start over)");
    }
  }
  auto save = [&](const train::TrainState<Scalar>& now, const std::string& path, bool complete) {
    world.local_phase("train: save", [&] {
      if (world.rank() != 0) return;
      try {
        train::write_training_file(path, model, optimizer, now, provenance, complete);
      } catch (const train::WriteFailure& failure) {
        // The last checkpoint written, if any, is still in place for -resume.
        throw UsageError(std::string(failure.what()) + "; nothing was written under '" +
                         config.output +
                         "'; free space and rerun with -resume to continue (or -force to start "
                         "over)");
      }
    });
  };
  if (world.rank() == 0 && !config.quiet) {
    std::printf(
        "rgflow train: %s, %lld parameters, %llu training and %llu validation pairs%s, %lld "
        "steps of %lld on %d rank(s)%s\n",
        nn::model_kind_name(spec.kind).c_str(),
        static_cast<long long>(model.network().parameter_count()),
        static_cast<unsigned long long>(train_set->total()),
        static_cast<unsigned long long>(validation_set->total()),
        streamed ? (" (streamed from the file in windows of " + std::to_string(window_samples) +
                    " samples)")
                       .c_str()
                 : "",
        static_cast<long long>(trainer.total_steps()), static_cast<long long>(settings.batch),
        world.size(), settings.reproducible ? ", reproducible reduction" : "");
    std::fflush(stdout);
  }
  const double start = wall_seconds();
  const int64_t first_step = state.global_step;
  const auto outcome =
      trainer.run(state, config.stop_after_steps,
                  [&](const train::TrainState<Scalar>& now) { save(now, partial, false); });
  if (outcome == train::StepOutcome::kDiverged) {
    throw UsageError("training diverged at step " + std::to_string(state.global_step + 1) +
                     " (the loss is not finite)" +
                     (settings.checkpoint_every > 0
                          ? "; the last good checkpoint is kept in '" + partial + "'"
                          : "; lower -lr, or set -checkpoint_every to keep checkpoints"));
  }
  if (outcome == train::StepOutcome::kContinue) {  // the test hook: end as a crash would
    world.barrier();
    std::fflush(stdout);
    std::_Exit(3);
  }
  const double seconds = wall_seconds() - start;
  if (settings.patience > 0 && !state.best_parameters.empty()) {
    std::copy(state.best_parameters.begin(), state.best_parameters.end(),
              model.network().parameters());
  }
  // The finished model goes where the checkpoints went, and is renamed once every rank agrees
  // it was written: a failure leaves nothing under the final name.
  save(state, partial, true);
  io::commit_output(world, config.output);
  const double final_validation = trainer.validation_loss();  // collective
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  const double peak_rss_mib = world.max(static_cast<double>(usage.ru_maxrss) / 1024.0);
  const double reduce_seconds = world.max(trainer.reduce_seconds());
  const double read_seconds =
      load_seconds + world.max(train_set->load_seconds() + validation_set->load_seconds());
  if (world.rank() == 0 && !config.quiet) {
    const double pairs = double(state.global_step - first_step) * double(settings.batch);
    std::printf(
        "rgflow train: %lld steps in %.2f s (%.3g samples/s; all-reduce %.2f s, load %.2f s, "
        "peak RSS %.0f MiB/rank), %s; final train loss %.4e, validation loss %.4e -> %s\n",
        static_cast<long long>(state.global_step), seconds, pairs / seconds, reduce_seconds,
        read_seconds, peak_rss_mib, state.stop_reason.c_str(),
        state.history.train_loss.empty() ? NAN : state.history.train_loss.back(), final_validation,
        config.output.c_str());
  }
  return 0;
}

}  // namespace

int run_train(const Comm& world, const Invocation& invocation) {
  OptionReader options(invocation.prefix, invocation.help);
  const TrainConfig config = read_config(options);
  if (invocation.help) {
    if (world.rank() == 0) options.print_help("rgflow train -data FILE [options]");
    return 0;
  }
  if (invocation.validate_only) return 0;
  if (invocation.prefix.empty()) require_all_options_used();
  // Every rank opens it together (MPI-IO) and reads only its own samples; same verdict on a bad
  // file.
  const io::DatasetReader reader(config.data, world);
  const auto& g = reader.spec().geometry;
  if (!reader.complete()) {
    throw UsageError("dataset '" + config.data + "' is incomplete (an interrupted generate?)");
  }
  if (config.level + 1 > g.levels) {
    throw UsageError("option " + options.full_name("level") + ": level " +
                     std::to_string(config.level + 1) + " does not exist in '" + config.data +
                     "' (levels 0-" + std::to_string(g.levels) + ")");
  }
  {
    // The network's size against the limit, now that the block is known: before any allocation.
    nn::ModelSpec spec = config.spec;
    spec.block = {g.dim, static_cast<int>(g.block_side)};
    const std::string problem = spec.validate();
    if (!problem.empty()) throw UsageError(problem);
  }
  const io::OutputState state =
      io::prepare_output(world, config.output, options.full_name("o"), config.force, config.resume,
                         io::Resumable::kYes);
  if (state == io::OutputState::kComplete) {
    // A complete output is kept only if it was trained with these very options. Rank 0 looks;
    // whatever it finds (also a file HDF5 cannot open) reaches every rank.
    world.local_phase("train: check existing output", [&] {
      if (world.rank() != 0) return;
      const std::string replace = " (use -force to replace it)";
      std::string stored;
      try {
        const h5::Hid file = h5::open_read_only(config.output, " (the existing output)");
        if (h5::has_attribute(file.get(), "options_fingerprint")) {
          stored = h5::read_string_attribute(file.get(), "options_fingerprint");
        }
      } catch (const std::exception&) {
        throw UsageError("the existing output '" + config.output +
                         "' is not a model rgflow can read" + replace);
      }
      if (stored != fingerprint(config, reader.spec())) {
        throw UsageError("the existing output '" + config.output +
                         "' was trained with other options or data" + replace);
      }
    });
    if (world.rank() == 0) io::release_output(config.output);
    if (world.rank() == 0 && !config.quiet) {
      std::printf("rgflow train: '%s' is already complete; nothing to do\n", config.output.c_str());
    }
    return 0;
  }
  // Outside a pipeline the cache lives for this one model.
  const auto cache = invocation.train_cache ? invocation.train_cache : make_train_data_cache();
  return config.dtype == "float64"
             ? train_with<double>(world, config, reader, invocation.command_line, state, *cache)
             : train_with<float>(world, config, reader, invocation.command_line, state, *cache);
}

}  // namespace rgflow::app
