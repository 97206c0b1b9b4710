// rgflow train: fit a network to the RG map stored in a dataset: inputs are the blocks of level
// k, targets the same blocks' values at level k+1, read from the file (not recomputed).
#include <cmath>
#include <cstdio>

#include "commands.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/core/petsc.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/train/training_run.hpp"

namespace rgflow::app {
namespace {

// The options of one `rgflow train`: what determines the weights (stored in the model file, and
// compared on a resume), and how this run goes about it.
struct TrainConfig {
  std::string data, output;
  std::string option_prefix;  // "-" or "-train_<model>_": names options in messages
  train::TrainingOptions options;
  int64_t memory_budget = 0;                // bytes, over all ranks
  std::string budget_option = "memory_mb";  // the option that set memory_budget (messages)
  bool force = false, resume = false, quiet = false;
  int64_t stop_after_steps = 0;
};

// Reads and checks every option of `rgflow train` (UsageError naming the first bad one). Local: it
// reads the options database only, and every rank reaches the same verdict.
TrainConfig read_config(OptionReader& o) {
  TrainConfig c;
  c.option_prefix = o.full_name("");
  train::TrainingOptions& t = c.options;
  train::TrainSettings& settings = t.settings;
  train::TuningOptions& tuning = t.tuning;
  c.data = o.get_string("data", "", "dataset written by rgflow generate (required)");
  t.level = static_cast<int>(o.get_int("level", 0, "input level k (targets: level k+1)", 0, 62));
  c.output = o.get_string("o", "model.h5", "output model file");
  nn::ModelSpec& spec = t.model;
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
  auto& penalty = settings.penalty;
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
  tuning.epochs = o.get_int("tune_epochs", 1, "epochs of each tuning trial", 1, INT64_MAX);
  tuning.tolerance = o.get_real(
      "tune_tolerance", 0.05,
      "tuning keeps the largest strength whose validation MSE is within this fraction of the best");
  t.optimizer.kind = o.get_choice("optimizer", "adam", {"adam", "sgd"}, "optimiser");
  settings.schedule.base = o.get_real("lr", 1e-3, "learning rate");
  t.optimizer.momentum = o.get_real("momentum", 0.9, "sgd momentum");
  t.optimizer.weight_decay = o.get_real("weight_decay", 0, "decoupled weight decay (AdamW)");
  auto& schedule = settings.schedule;
  schedule.kind = o.get_choice("schedule", "constant", {"constant", "cosine", "step"},
                               "learning-rate schedule");
  schedule.step_factor = o.get_real("step_factor", 0.1, "step schedule: factor");
  schedule.step_epochs =
      o.get_int("step_epochs", 10, "step schedule: epochs between steps", 1, INT64_MAX);
  settings.batch = o.get_int("batch", 256, "global batch size", 1, INT32_MAX);
  settings.epochs = o.get_int("epochs", 5, "epochs", 1, INT64_MAX);
  settings.steps =
      o.get_int("steps", 0, "stop after this many steps (0: -epochs decides)", 0, INT64_MAX);
  settings.patience =
      o.get_int("patience", 0, "early stopping: epochs without a better validation loss (0: off)",
                0, INT64_MAX);
  t.val_fraction = o.get_real("val_fraction", 0.1, "fraction of samples held out for validation");
  settings.seed =
      static_cast<uint64_t>(o.get_int("seed", 1, "seed: initialisation, data order", 0, INT64_MAX));
  t.dtype = o.get_choice("dtype", "float32", {"float32", "float64"}, "training precision");
  settings.reproducible =
      o.get_flag("reproducible", "fixed-order reduction: identical weights for any rank count");
  settings.checkpoint_every =
      o.get_int("checkpoint_every", 0, "steps between checkpoints (0: none)", 0, INT64_MAX);
  c.memory_budget =
      o.get_int("memory_mb", 2048,
                "training pairs held in memory at once, MiB over all ranks (larger splits are "
                "streamed from the file in windows)",
                1, 1 << 30)
      << 20;
  const int64_t test_budget =
      o.get_int("test_memory_bytes", 0,
                "testing only: the memory budget in bytes (overrides -memory_mb)", 0, INT64_MAX);
  if (test_budget > 0) {
    c.memory_budget = test_budget;
    c.budget_option = "test_memory_bytes";
  }
  c.force = o.get_flag("force", "overwrite an existing output");
  c.resume = o.get_flag("resume", "continue from the checkpoint of an interrupted run");
  c.quiet = o.get_flag("quiet", "no progress and no per-epoch lines");
  c.stop_after_steps = o.get_int("test_stop_after_steps", 0,
                                 "testing only: end abruptly after this many steps", 0, INT64_MAX);
  if (o.help()) return c;

  spec.hidden = train::parse_hidden_widths(o.full_name("hidden"), hidden);
  spec.seed = settings.seed;
  if (c.data.empty()) throw UsageError("option " + o.full_name("data") + " is required");
  if (!tune.empty()) {
    std::vector<std::string> given;  // strengths given cannot be tuned
    for (const char* type : {"permutation", "point_group", "sign", "scale"}) {
      if (o.given(std::string("lambda_") + type)) given.push_back(type);
    }
    const std::string problem = tuning.parse(tune, grid, given, c.option_prefix);
    if (!problem.empty()) throw UsageError(problem);
  }
  const std::string problem = t.problem(c.option_prefix);
  if (!problem.empty()) throw UsageError(problem);
  settings.progress = !c.quiet;
  return c;
}

// Trains on `reader`'s data (this rank's share of it) as `config` says, resuming from the partial
// output when `state` says so, commits the output and reports. Collective over `world` (every step
// reduces over it; rank 0 alone writes the file, and every rank agrees on the outcome).
template <typename Scalar>
void train_with(const Comm& world, const TrainConfig& config, const io::DatasetReader& reader,
                const std::string& command_line, io::OutputState state) {
  const bool report = world.rank() == 0 && !config.quiet;
  const train::RunSettings settings{config.data,
                                    config.output,
                                    command_line,
                                    config.option_prefix,
                                    config.memory_budget,
                                    config.budget_option,
                                    config.stop_after_steps,
                                    report};
  train::TrainingRun<Scalar> run(world, reader, config.options, settings,
                                 state == io::OutputState::kResume);
  const auto& pairs = run.pairs();
  const train::Trainer<Scalar>& trainer = run.trainer();
  if (report) {
    std::printf(
        "rgflow train: %s, %lld parameters, %llu training and %llu validation pairs%s, %lld "
        "steps of %lld on %d rank(s)%s\n",
        nn::model_kind_name(run.spec().kind).c_str(),
        static_cast<long long>(run.model().network().parameter_count()),
        static_cast<unsigned long long>(pairs.train.total()),
        static_cast<unsigned long long>(pairs.validation.total()), run.plan().streaming().c_str(),
        static_cast<long long>(trainer.total_steps()), static_cast<long long>(run.settings().batch),
        world.size(), run.settings().reproducible ? ", reproducible reduction" : "");
    std::fflush(stdout);
  }
  const double start = wall_seconds();
  run.train();
  const double seconds = wall_seconds() - start;
  const double final_validation = run.finish();
  const double peak_rss = peak_rss_mib(world);
  const double reduce_seconds = world.max(trainer.reduce_seconds());
  const double read_seconds =
      pairs.load_seconds + world.max(pairs.train.load_seconds() + pairs.validation.load_seconds());
  if (report) {
    const auto& state = run.state();
    const double trained =
        double(state.global_step - run.first_step()) * double(run.settings().batch);
    std::printf(
        "rgflow train: %lld steps in %.2f s (%.3g samples/s; all-reduce %.2f s, load %.2f s, "
        "peak RSS %.0f MiB/rank), %s; final train loss %.4e, validation loss %.4e -> %s\n",
        static_cast<long long>(state.global_step), seconds, trained / seconds, reduce_seconds,
        read_seconds, peak_rss, state.stop_reason.c_str(),
        state.history.train_loss.empty() ? NAN : state.history.train_loss.back(), final_validation,
        config.output.c_str());
  }
}

}  // namespace

// Collective over `world`: every rank reads the options and opens the dataset together.
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
  if (!reader.complete()) {
    throw UsageError("dataset '" + config.data + "' is incomplete (an interrupted generate?)");
  }
  const std::string problem =
      config.options.problem_with(reader.spec(), config.data, config.option_prefix);
  if (!problem.empty()) throw UsageError(problem);
  const io::OutputState state =
      io::prepare_output(world, config.output, options.full_name("o"), config.force, config.resume,
                         io::Resumable::kYes);
  if (state == io::OutputState::kComplete) {
    // Kept only if it was trained with these very options; rank 0 looks (also at a file HDF5
    // cannot open).
    io::keep_complete_output(world, "train", config.output, config.quiet, [&] {
      return train::complete_output_problem(config.output, config.options, reader.spec());
    });
    return 0;
  }
  if (config.options.dtype == "float64") {
    train_with<double>(world, config, reader, invocation.command_line, state);
  } else {
    train_with<float>(world, config, reader, invocation.command_line, state);
  }
  return 0;
}

}  // namespace rgflow::app
