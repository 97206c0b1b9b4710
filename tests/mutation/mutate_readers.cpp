// The readers' mutation test: valid dataset and model files (written here by rgflow's writers,
// and any given with --dataset / --model, e.g. made by the rgflow executable) and train's
// checkpoints (--checkpoint: a model.h5 or <output>.partial with /checkpoint) are mutated in every
// attribute, object, datatype and shape, given NaN and Inf values, and truncated (mutations.hpp);
// every mutant is read by every rank with io::DatasetReader (serial and collective open, then every
// level read back), io::read_model_spec / io::read_model, or train::read_training_file as
// `train -resume` reads it (the run's model and optimiser taken from the unmutated seed; the
// stored /options read and checked for form, not compared) and its position checked. Each case must
// end in a valid result or a UsageError of one line, the same on every rank: a LibraryError or any
// other exception, a multi-line message, ranks that disagree, a crash or a hang (a watchdog ends
// the run) fail it. Cases marked must_refuse (a field that is no longer floats of the right shape,
// a NaN, levels with b^levels > L, ...) must be refused.
//
//   mpiexec -n P rgflow_mutation_tests [--seed N] [--truncations N] [--random-values N]
//       [--dataset FILE]... [--model FILE]... [--checkpoint FILE]... [--every N] [--only CASE]
//       [--given-only] [--trace]
//       [--watchdog SECONDS]
#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "mutations.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/core/mpi.hpp"
#include "rgflow/io/checksum.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/io/model_file.hpp"
#include "rgflow/lattice/geometry.hpp"
#include "rgflow/nn/optimizer.hpp"
#include "rgflow/nn/symmetric_model.hpp"
#include "rgflow/train/checkpoint.hpp"

namespace rgflow {
namespace {

using mutation::Mutation;

// The case being run, for the watchdog's message (a hang has no other trace).
char current_case[512] = "";

void on_watchdog(int) {
  const char prefix[] = "mutation test: HANG (watchdog) in case: ";
  ssize_t ignored = write(2, prefix, sizeof(prefix) - 1);
  ignored = write(2, current_case, strnlen(current_case, sizeof(current_case)));
  ignored = write(2, "\n", 1);
  (void)ignored;
  _exit(3);
}

struct Outcome {
  char kind = 'o';  // o: valid result, u: UsageError, l: LibraryError, x: anything else
  std::string message;
};

template <typename Read>
Outcome classify(Read&& read) {
  Outcome outcome;
  try {
    read();
  } catch (const UsageError& error) {
    outcome = {'u', error.what()};
  } catch (const LibraryError& error) {
    outcome = {'l', error.what()};
  } catch (const std::exception& error) {
    outcome = {'x', std::string("std::exception: ") + error.what()};
  } catch (...) {
    outcome = {'x', "an exception that is not a std::exception"};
  }
  return outcome;
}

// Reads the whole dataset (or this rank's share of the samples) and checks what it got.
void read_dataset(const io::DatasetReader& reader, const Comm* share) {
  const io::DatasetSpec& spec = reader.spec();
  const auto& g = spec.geometry;
  if (g.dim < 1 || g.dim > 3 || g.levels < 0 || g.side % g.top_block_side() != 0) {
    throw std::runtime_error("the reader accepted an inconsistent geometry");
  }
  int64_t first = 0, count = spec.samples;
  if (share != nullptr) {
    first = spec.samples * share->rank() / share->size();
    count = spec.samples * (share->rank() + 1) / share->size() - first;
  }
  std::vector<float> floats;
  for (int level = 0; level <= g.levels; ++level) {
    const std::vector<double> values = reader.read(level, first, count);
    if (static_cast<int64_t>(values.size()) != count * g.level_sites(level)) {
      throw std::runtime_error("read returned the wrong number of values");
    }
    for (const double v : values) {
      if (!std::isfinite(v)) throw std::runtime_error("read returned a non-finite value");
    }
    if (spec.dtype == "float32") reader.read_stored_floats(level, first, count, floats);
  }
}

void read_model_file(const std::string& path) {
  const h5::Hid file = h5::open_read_only(path);
  io::read_model_spec(file.get(), path);
  std::string scalar = "float64";
  try {
    scalar = h5::read_string_attribute(
        h5::group_id(H5Gopen2(file.get(), "/model", H5P_DEFAULT)).get(), "scalar");
  } catch (const std::exception&) {
    H5Eclear2(H5E_DEFAULT);
  }
  if (scalar == "float32") {
    const auto net = io::read_model<float>(file.get(), path);
    for (Eigen::Index i = 0; i < net.parameter_count(); ++i) {
      if (!std::isfinite(net.parameters()[i])) throw std::runtime_error("non-finite parameter");
    }
  }
  const auto wide = io::read_model<double>(file.get(), path, true);
  for (Eigen::Index i = 0; i < wide.parameter_count(); ++i) {
    if (!std::isfinite(wide.parameters()[i])) throw std::runtime_error("non-finite parameter");
  }
}

// What `train -resume` brings to a checkpoint: a run with the seed's options (its model, its
// optimiser and its steps per epoch), and the seed's own position.
struct CheckpointRun {
  nn::ModelSpec spec;
  std::string scalar, optimizer;
  int64_t steps_per_epoch = 0;  // from the seed's first record at a whole epoch (0: unknown)
  int64_t epoch = 0, step_in_epoch = 0, global_step = 0;
  bool finished = false;
};

CheckpointRun read_checkpoint_run(const std::string& path) {
  CheckpointRun run;
  const h5::Hid file = h5::open_read_only(path);
  run.spec = io::read_model_spec(file.get(), path);
  const h5::Hid model = h5::group_id(H5Gopen2(file.get(), "/model", H5P_DEFAULT));
  run.scalar = h5::read_string_attribute(model.get(), "scalar");
  const h5::Hid checkpoint = h5::group_id(H5Gopen2(file.get(), "/checkpoint", H5P_DEFAULT));
  run.optimizer = h5::read_string_attribute(checkpoint.get(), "optimizer");
  run.epoch = h5::read_int_attribute(checkpoint.get(), "epoch");
  run.step_in_epoch = h5::read_int_attribute(checkpoint.get(), "step_in_epoch");
  run.global_step = h5::read_int_attribute(checkpoint.get(), "global_step");
  run.finished = h5::read_int_attribute(checkpoint.get(), "finished") != 0;
  const auto epochs =
      h5::read_numeric_dataset(file.get(), "/history/epoch", h5::NumberClass::kFloat, 1, 1 << 20);
  const auto steps =
      h5::read_numeric_dataset(file.get(), "/history/step", h5::NumberClass::kFloat, 1, 1 << 20);
  for (size_t r = 0; r < epochs.size() && r < steps.size(); ++r) {
    if (epochs[r] >= 1 && epochs[r] == std::floor(epochs[r])) {
      run.steps_per_epoch = static_cast<int64_t>(steps[r] / epochs[r]);
      break;
    }
  }
  return run;
}

// Reads the checkpoint as `train -resume` does, then checks what the trainer relies on.
template <typename Scalar>
void read_checkpoint(const std::string& path, const CheckpointRun& run) {
  nn::SymmetricModel<Scalar> model(run.spec);
  nn::OptimizerSettings settings;
  settings.kind = run.optimizer;
  const Eigen::Index parameters = model.network().parameter_count();
  nn::Optimizer<Scalar> optimizer(settings, static_cast<size_t>(parameters));
  train::TrainState<Scalar> state;
  train::read_training_file(path, nullptr, model, optimizer, state);
  const std::string problem = train::resume_position_problem(
      state.epoch, state.step_in_epoch, state.global_step, state.finished, run.steps_per_epoch);
  if (!problem.empty()) throw UsageError(problem);  // as train refuses it
  const auto count = static_cast<size_t>(parameters);
  if (optimizer.first_moment().size() != count ||
      optimizer.second_moment().size() != (run.optimizer == "adam" ? count : 0) ||
      (!state.best_parameters.empty() && state.best_parameters.size() != count)) {
    throw std::runtime_error("the reader accepted an optimiser state of the wrong size");
  }
  for (Eigen::Index i = 0; i < parameters; ++i) {
    if (!std::isfinite(model.network().parameters()[i])) {
      throw std::runtime_error("non-finite parameter");
    }
  }
  for (const auto* values :
       {&optimizer.first_moment(), &optimizer.second_moment(), &state.best_parameters}) {
    for (const Scalar v : *values) {
      if (!std::isfinite(v)) throw std::runtime_error("non-finite optimiser state");
    }
  }
  if (state.epoch < 0 || state.step_in_epoch < 0 || state.global_step < 0 ||
      state.epochs_since_best < 0 || std::isnan(state.best_val) ||
      !std::isfinite(state.epoch_loss) || !std::isfinite(state.epoch_penalty)) {
    throw std::runtime_error("the reader accepted a position or loss out of range");
  }
  const auto& h = state.history;
  const size_t records = h.epoch.size();
  if (h.step.size() != records || h.train_loss.size() != records || h.val_loss.size() != records ||
      h.penalty.size() != records || h.learning_rate.size() != records ||
      h.order_parameter.size() != records) {
    throw std::runtime_error("the reader accepted a history of unequal lengths");
  }
  if (h.tuning.done() && (h.tuning.chosen.size() != h.tuning.types.size())) {
    throw std::runtime_error("the reader accepted tuned strengths of the wrong size");
  }
}

void read_checkpoint_file(const std::string& path, const CheckpointRun& run) {
  if (run.scalar == "float32") {
    read_checkpoint<float>(path, run);
  } else {
    read_checkpoint<double>(path, run);
  }
}

// ---- Seed files ------------------------------------------------------------------------------

void write_dataset_seed(const std::string& path, int dim, int64_t side, int levels, int64_t samples,
                        const std::string& dtype, field::DistributionKind kind) {
  const Comm self(MPI_COMM_SELF);
  io::DatasetSpec spec;
  spec.geometry = {dim, side, 2, levels};
  spec.samples = samples;
  spec.seed = 11;
  spec.distribution.kind = kind;
  spec.distribution.gamma_shape = 2.0;
  spec.scaling_dimension = 0.5 * dim;
  spec.dtype = dtype;
  spec.command_line = "mutation test seed";
  io::DatasetWriter writer = io::DatasetWriter::create(self, path, spec, false);
  std::vector<uint64_t> checksums;
  for (int level = 0; level <= levels; ++level) {
    const lattice::Box box = lattice::full_box(dim, spec.geometry.level_side(level));
    std::vector<double> values(static_cast<size_t>(samples * box.size()));
    for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.37 * static_cast<double>(i));
    writer.write(level, 0, samples, box, values.data());
    // Checksums of the values as stored (rounded to float for float32).
    const std::vector<float> rounded(values.begin(), values.end());
    for (int64_t s = 0; s < samples; ++s) {
      const int64_t side = spec.geometry.level_side(level);
      const uint64_t key = io::checksum_key(level, s);
      checksums.push_back(dtype == "float32"
                              ? io::box_checksum(rounded.data() + s * box.size(), box, side, key)
                              : io::box_checksum(values.data() + s * box.size(), box, side, key));
    }
  }
  writer.mark_complete(self, 0, samples, checksums);
  writer.finish();
}

template <typename Scalar>
void write_model_seed(const std::string& path, const nn::ModelSpec& spec) {
  const nn::Network<Scalar> net(spec);
  h5::Hid file = h5::file_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  io::write_model(file.get(), net);
  file.close();
}

// ---- What must be refused --------------------------------------------------------------------

struct Change {
  bool deleted = false;
  bool integer = false;  // an integer scalar (value below)
  int64_t value = 0;
  bool real = false;  // a float scalar
  double real_value = 0;
  bool text = false;  // a fixed-length string scalar of readable text
};

Change parse_change(const std::string& change) {
  Change c;
  if (change == "deleted") {
    c.deleted = true;
  } else if (change.rfind("int64 ", 0) == 0 && change.find("array") == std::string::npos) {
    c.integer = true;
    c.value = std::stoll(change.substr(6));
  } else if (change == "int32 2") {
    c.integer = true;
    c.value = 2;
  } else if (change == "int8 -3") {
    c.integer = true;
    c.value = -3;
  } else if (change == "uint64 2^64-1") {
    c.integer = true;
    c.value = INT64_MAX;  // HDF5's conversion to int64 clips
  } else if (change.rfind("float64 ", 0) == 0 && change.find("array") == std::string::npos) {
    c.real = true;
    c.real_value = std::stod(change.substr(8));
  } else if (change == "float32 2") {
    c.real = true;
    c.real_value = 2;
  } else if (change.rfind("string of ", 0) == 0 || change.rfind("string with ", 0) == 0) {
    c.text = true;
  }
  return c;
}

// The dataset reader's contract for the root attributes (docs/schema.md): every attribute it
// reads must be present and of its type; the sizes must be the stored ones (levels may shrink:
// the finer levels stay valid).
bool dataset_attribute_must_refuse(const io::DatasetSpec& seed, const std::string& object,
                                   const std::string& name, const std::string& change) {
  if (object != "/") return false;
  const Change c = parse_change(change);
  const auto& g = seed.geometry;
  struct IntegerRule {
    const char* name;
    int64_t low, high;
  };
  const IntegerRule integers[] = {
      {"schema_version", 1, 1},       {"d", g.dim, g.dim},
      {"L", g.side, g.side},          {"b", g.block_side, g.block_side},
      {"levels", 0, g.levels},        {"n_samples", seed.samples, seed.samples},
      {"seed", INT64_MIN, INT64_MAX}, {"complete", INT64_MIN, INT64_MAX}};
  for (const IntegerRule& rule : integers) {
    if (name != rule.name) continue;
    return !c.integer || c.value < rule.low || c.value > rule.high;
  }
  const char* texts[] = {"format", "dtype", "distribution"};
  for (const char* text : texts) {
    if (name == text) return true;  // the mutated texts are never the stored value
  }
  if (name == "command_line" || name == "created") return !c.text;
  if (name == "scaling_dimension" ||
      (name == "gamma_shape" && seed.distribution.kind == field::DistributionKind::kGamma)) {
    if (c.integer) return name == "gamma_shape" && c.value <= 0;
    return !c.real || !std::isfinite(c.real_value) || (name == "gamma_shape" && c.real_value <= 0);
  }
  return false;
}

bool model_attribute_must_refuse(const std::string& object, const std::string& name,
                                 const std::string& change) {
  if (object != "/model") return false;
  const Change c = parse_change(change);
  const char* integers[] = {
      "model_schema_version", "block_dim",    "block_side", "parameter_count",    "bias",
      "mean_aggregation",     "mean_pooling", "periodic",   "tie_self_neighbour", "seed"};
  for (const char* integer : integers) {
    if (name != integer) continue;
    if (!c.integer) return true;
    if (name == "seed") return false;
    if (name == "model_schema_version") return c.value != 1;
    if (name == "block_dim" || name == "block_side" || name == "parameter_count") {
      return c.value <= 0 || c.value > (int64_t{1} << 40);
    }
    return c.value != 0 && c.value != 1;  // flags
  }
  const char* texts[] = {"model_format", "kind",     "activation", "tying",
                         "orbit_group",  "strategy", "scalar"};
  for (const char* text : texts) {
    if (name == text) return true;
  }
  if (name == "hidden") return !c.text;
  return false;
}

// `train -resume`'s contract for a checkpoint (src/train/checkpoint.cpp): the model's attributes
// as for a model file, and every /checkpoint attribute read: present, of
// its type, in range, and (unless the seed had finished) the position the seed's.
bool checkpoint_attribute_must_refuse(const CheckpointRun& run, const std::string& object,
                                      const std::string& name, const std::string& change) {
  if (object == "/model") return model_attribute_must_refuse(object, name, change);
  if (object == "/" || object == "/options") return false;  // read for form, not compared here
  if (object != "/checkpoint") return false;
  const Change c = parse_change(change);
  if (name == "epoch_loss" || name == "epoch_penalty" || name == "best_val") {
    if (c.integer) return false;
    if (!c.real) return true;
    return std::isnan(c.real_value) || (name != "best_val" && std::isinf(c.real_value));
  }
  const char* counts[] = {"optimizer_steps", "epoch",    "step_in_epoch",
                          "global_step",     "finished", "epochs_since_best"};
  for (const char* count : counts) {
    if (name != count) continue;
    if (!c.integer || c.value < 0) return true;
    if (name == "finished") return c.value > 1;
    if (run.finished || run.steps_per_epoch == 0) return false;
    if (name == "epoch") return c.value != run.epoch;
    if (name == "step_in_epoch") return c.value != run.step_in_epoch;
    if (name == "global_step") return c.value != run.global_step;
    return false;
  }
  return false;
}

struct Seed {
  std::string path;
  bool is_dataset = true;
  io::DatasetSpec spec;  // datasets
  bool is_checkpoint = false;
  CheckpointRun run;  // checkpoints
};

struct Totals {
  long cases = 0, not_applicable = 0, accepted = 0, refused = 0, failures = 0;
};

// Runs one case on every rank; returns the failure text ("" if it passed), on rank 0.
std::string run_case(const Comm& world, const Seed& seed, const std::string& mutant,
                     const Mutation& mutation, Totals& totals) {
  std::vector<Outcome> outcomes;
  if (seed.is_dataset) {
    outcomes.push_back(classify([&] {
      const io::DatasetReader reader(mutant);
      read_dataset(reader, nullptr);
    }));
    // The collective open must reach the same verdict on every rank; then each rank reads its
    // own samples, and, as a stage does with Comm::local_phase, the worst outcome of any rank is
    // everyone's (a NaN in one rank's samples is that rank's to find).
    outcomes.push_back(classify([&] {
      const io::DatasetReader reader(mutant, world);
      const Outcome mine = classify([&] { read_dataset(reader, &world); });
      auto severity = [](char kind) { return std::string("oulx").find(kind); };
      int worst = static_cast<int>(severity(mine.kind));
      MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPI_INT, MPI_MAX, world.get());
      const std::string message = mine.kind == "oulx"[worst] ? mine.message : "on another rank";
      if (worst == 1) throw UsageError(message);
      if (worst == 2) throw LibraryError(message);
      if (worst == 3) throw std::runtime_error(message);
    }));
  } else if (seed.is_checkpoint) {
    // Every rank reads the checkpoint itself, as train does (the verdicts are compared below).
    outcomes.push_back(classify([&] { read_checkpoint_file(mutant, seed.run); }));
  } else {
    outcomes.push_back(classify([&] { read_model_file(mutant); }));
  }
  std::string problem;
  for (size_t r = 0; r < outcomes.size() && problem.empty(); ++r) {
    const Outcome& o = outcomes[r];
    const char* reader = seed.is_dataset      ? (r == 0 ? "serial reader" : "collective reader")
                         : seed.is_checkpoint ? "checkpoint reader"
                                              : "model reader";
    if (o.kind == 'l') problem = std::string(reader) + ": LibraryError escaped: " + o.message;
    if (o.kind == 'x') problem = std::string(reader) + ": " + o.message;
    if (o.kind == 'u' && o.message.find('\n') != std::string::npos) {
      problem = std::string(reader) + ": a message of several lines: " + o.message;
    }
    if (o.kind == 'o' && mutation.must_refuse) {
      problem = std::string(reader) + ": accepted a file it must refuse";
    }
  }
  if (seed.is_dataset && problem.empty() && outcomes[0].kind != outcomes[1].kind) {
    problem = "serial and collective readers disagree: " + outcomes[0].message + " | " +
              outcomes[1].message;
  }
  // Every rank must reach the same verdict: gather the kinds.
  std::string verdict;
  for (const Outcome& o : outcomes) verdict += o.kind;
  const std::string first = world.broadcast(verdict);
  if (world.any(first != verdict) && problem.empty()) {
    problem = "ranks disagree (rank 0: " + first + ", rank " + std::to_string(world.rank()) + ": " +
              verdict + ")";
  }
  // Rank 0 reports the lowest-ranked problem.
  std::string reported =
      problem.empty() ? "" : "rank " + std::to_string(world.rank()) + ": " + problem;
  for (int r = 1; r < world.size(); ++r) {
    const std::string from = world.broadcast(reported, r);
    if (world.rank() == 0 && reported.empty()) reported = from;
  }
  ++totals.cases;
  if (!reported.empty()) {
    ++totals.failures;
  } else if (outcomes[0].kind == 'o') {
    ++totals.accepted;
  } else {
    ++totals.refused;
  }
  return reported;
}

int run(int argc, char** argv) {
  const Comm world(MPI_COMM_WORLD);
  mutation::MutationOptions options;
  std::vector<std::string> extra_datasets, extra_models, checkpoints;
  long only = -1;
  long every = 1;  // run every n-th case only (a short run), starting from one set by --seed
  bool trace = false;
  bool given_only = false;  // only the seeds given on the command line, not the written ones
  unsigned watchdog = 120;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--seed") {
      options.seed = std::stoull(next());
    } else if (arg == "--truncations") {
      options.truncations = std::stoi(next());
    } else if (arg == "--random-values") {
      options.random_values = std::stoi(next());
    } else if (arg == "--dataset") {
      extra_datasets.push_back(next());
    } else if (arg == "--model") {
      extra_models.push_back(next());
    } else if (arg == "--checkpoint") {
      checkpoints.push_back(next());
    } else if (arg == "--only") {
      only = std::stol(next());
    } else if (arg == "--every") {
      every = std::stol(next());
    } else if (arg == "--given-only") {
      given_only = true;
    } else if (arg == "--trace") {
      trace = true;
    } else if (arg == "--watchdog") {
      watchdog = static_cast<unsigned>(std::stoul(next()));
    } else {
      throw UsageError("unknown argument '" + arg + "'");
    }
  }
  std::string folder;
  if (world.rank() == 0) {
    char pattern[] = "/tmp/rgflow_mutation_XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw LibraryError("mkdtemp failed");
    folder = pattern;
  }
  folder = world.broadcast(folder);

  std::vector<Seed> seeds;
  auto add_dataset_seed = [&](const std::string& path) {
    Seed seed;
    seed.path = path;
    seed.spec = io::DatasetReader(path).spec();
    seeds.push_back(seed);
  };
  if (world.rank() == 0) {
    write_dataset_seed(folder + "/seed_d2_f32.h5", 2, 8, 2, 3, "float32",
                       field::DistributionKind::kUniform);
    write_dataset_seed(folder + "/seed_d1_f64_gamma.h5", 1, 16, 3, 2, "float64",
                       field::DistributionKind::kGamma);
    nn::ModelSpec mlp;
    mlp.hidden = {3};
    write_model_seed<float>(folder + "/seed_mlp_f32.h5", mlp);
    nn::ModelSpec gnn;
    gnn.kind = nn::ModelKind::kGnn;
    gnn.hidden = {2};
    write_model_seed<double>(folder + "/seed_gnn_f64.h5", gnn);
  }
  world.barrier();
  if (!given_only) {
    add_dataset_seed(folder + "/seed_d2_f32.h5");
    add_dataset_seed(folder + "/seed_d1_f64_gamma.h5");
  }
  for (const std::string& path : extra_datasets) add_dataset_seed(path);
  std::vector<std::string> models;
  if (!given_only) models = {folder + "/seed_mlp_f32.h5", folder + "/seed_gnn_f64.h5"};
  models.insert(models.end(), extra_models.begin(), extra_models.end());
  for (const std::string& path : models) {
    Seed seed;
    seed.path = path;
    seed.is_dataset = false;
    seeds.push_back(seed);
  }

  for (const std::string& path : checkpoints) {
    Seed seed;
    seed.path = path;
    seed.is_dataset = false;
    seed.is_checkpoint = true;
    seed.run = read_checkpoint_run(path);
    seeds.push_back(seed);
  }

  signal(SIGALRM, on_watchdog);
  const auto start = std::chrono::steady_clock::now();
  Totals totals;
  std::vector<std::string> failures;
  long index = 0;
  const std::string mutant = folder + "/mutant.h5";
  for (const Seed& seed : seeds) {
    mutation::MutationOptions seed_options = options;
    if (seed.is_dataset) {
      for (int level = 0; level <= seed.spec.geometry.levels; ++level) {
        seed_options.essential_datasets.push_back("/level_" + std::to_string(level) + "/field");
      }
      seed_options.essential_datasets.push_back("/sample_complete");
      const io::DatasetSpec spec = seed.spec;
      seed_options.attribute_must_refuse =
          [spec](const std::string& object, const std::string& name, const std::string& change) {
            return dataset_attribute_must_refuse(spec, object, name, change);
          };
    } else if (seed.is_checkpoint) {
      seed_options.essential_datasets = {"/model/parameters", "/checkpoint/first_moment"};
      if (seed.run.optimizer == "adam") {
        seed_options.essential_datasets.push_back("/checkpoint/second_moment");
      }
      const CheckpointRun run = seed.run;
      seed_options.attribute_must_refuse = [run](const std::string& object, const std::string& name,
                                                 const std::string& change) {
        return checkpoint_attribute_must_refuse(run, object, name, change);
      };
    } else {
      seed_options.essential_datasets.push_back("/model/parameters");
      seed_options.attribute_must_refuse = model_attribute_must_refuse;
    }
    const std::vector<Mutation> mutations = mutation::enumerate_mutations(seed.path, seed_options);
    for (const Mutation& m : mutations) {
      const long this_case = index++;
      if (only >= 0 && this_case != only) continue;
      if (only < 0 && (this_case + static_cast<long>(options.seed)) % every != 0) continue;
      const std::string name = std::filesystem::path(seed.path).filename().string() + ", case " +
                               std::to_string(this_case) + ": " + m.description;
      std::snprintf(current_case, sizeof(current_case), "%s", name.c_str());
      if (trace && world.rank() == 0) std::fprintf(stderr, "%s\n", name.c_str());
      int applied = 0;
      if (world.rank() == 0) applied = mutation::make_mutant(seed.path, mutant, m) ? 1 : 0;
      MPI_Bcast(&applied, 1, MPI_INT, 0, world.get());
      if (!applied) {
        ++totals.not_applicable;
        continue;
      }
      alarm(watchdog);
      const std::string failure = run_case(world, seed, mutant, m, totals);
      alarm(0);
      if (!failure.empty()) {
        failures.push_back(name + ": " + failure);
        if (world.rank() == 0) std::fprintf(stderr, "FAIL %s: %s\n", name.c_str(), failure.c_str());
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  world.barrier();
  if (world.rank() == 0) {
    std::printf(
        "mutation test on %d rank(s): %zu seed files, %ld cases run (%ld mutations did not "
        "apply), %ld refused with one line, %ld read as valid, %ld failures, %.1f s\n",
        world.size(), seeds.size(), totals.cases, totals.not_applicable, totals.refused,
        totals.accepted, totals.failures, seconds);
    std::filesystem::remove_all(folder);
  }
  return totals.failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace rgflow

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  rgflow::h5::silence_error_printing();
  int status = 0;
  try {
    status = rgflow::run(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "mutation test: %s\n", error.what());
    status = 2;
  }
  int worst = 0;
  MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
