#include "rgflow/io/training_file.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "rgflow/core/progress.hpp"
#include "rgflow/core/text.hpp"
#include "rgflow/io/model_file.hpp"

namespace rgflow::io {
namespace {

// Every helper below that takes a hid_t does HDF5 metadata work (creating or opening groups,
// datasets and attributes) on a file that one process opened with serial HDF5: local, one rank.

constexpr const char* kOptionsGroup = "/options";

// A 1-D dataset whose axis is the coordinate `axis` of `group` (h5::coordinate).
template <typename T>
void write_vector(hid_t group, const std::string& name, const std::vector<T>& values,
                  const std::string& meaning, hid_t axis) {
  h5::Hid space = h5::simple_space({static_cast<hsize_t>(values.size())});
  h5::Hid dataset = h5::dataset_id(H5Dcreate2(group, name.c_str(), h5::native_type<T>(),
                                              space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!values.empty()) {
    RGFLOW_H5(H5Dwrite(dataset.get(), h5::native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                       values.data()));
  }
  h5::write_attribute(dataset.get(), "meaning", meaning);
  h5::attach_coordinates(dataset.get(), {axis});
}

// The 1-D float dataset `name` of `location`, checked (object type, datatype, shape; at most
// `max_values` values, checked before allocating) and converted to T. With `exact`, its values
// must be stored as T is (the optimiser state is written in the model's precision). UsageError
// naming it otherwise.
template <typename T>
std::vector<T> read_vector(hid_t location, const std::string& name, int64_t max_values,
                           bool exact = false) {
  if (exact && h5::open_numeric_dataset(location, name, h5::NumberClass::kFloat, 1).value_bytes !=
                   sizeof(T)) {
    throw UsageError(name + " is not stored as " + (sizeof(T) == 4 ? "float32" : "float64") +
                     " like the model");
  }
  const std::vector<double> values =
      h5::read_numeric_dataset(location, name, h5::NumberClass::kFloat, 1, max_values);
  return std::vector<T>(values.begin(), values.end());
}

template <typename T>
bool all_finite(const std::vector<T>& values) {
  for (const T v : values) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

herr_t collect_name(hid_t, const char* name, const H5A_info_t*, void* names) {
  static_cast<std::vector<std::string>*>(names)->push_back(name);
  return 0;
}

void write_provenance(hid_t f, const TrainingProvenance& provenance) {
  using h5::write_attribute;
  write_attribute(f, "format", std::string("rgflow trained model"));
  write_attribute(f, "schema_version", int64_t{1});
  write_attribute(f, "rgflow_version", std::string(RGFLOW_VERSION));
  write_attribute(f, "created", utc_timestamp());
  write_attribute(f, "command_line", provenance.command_line);
  write_stored_options(f, provenance.options);
  write_attribute(f, "dataset_path", provenance.dataset_path);
  const DatasetSpec& d = provenance.dataset;
  write_attribute(f, "dataset_seed", static_cast<int64_t>(d.seed));
  write_attribute(f, "dataset_distribution", d.distribution.name());
  write_attribute(f, "dataset_d", int64_t{d.geometry.dim});
  write_attribute(f, "dataset_L", d.geometry.side);
  write_attribute(f, "dataset_b", d.geometry.block_side);
  write_attribute(f, "dataset_levels", int64_t{d.geometry.levels});
  write_attribute(f, "dataset_samples", d.samples);
  write_attribute(f, "dataset_created", d.created);
  write_attribute(f, "level_input", int64_t{provenance.level});
  write_attribute(f, "level_target", int64_t{provenance.level + 1});
  write_attribute(f, "training_samples", provenance.training_samples);
  write_attribute(f, "validation_samples", d.samples - provenance.training_samples);
  write_attribute(f, "complete", int64_t{provenance.complete ? 1 : 0});
  write_attribute(f, "stop_reason", provenance.stop_reason);
}

void write_history(hid_t f, const TrainingHistory& h) {
  h5::Hid history = h5::create_group(f, "/history");
  // Named axes for netCDF readers: `record` (0, 1, .. one per record) and `hidden_layer`
  // (hidden_1, ..; none when there are no records).
  const size_t layers = h.order_parameter.empty() ? 0 : h.order_parameter.front().size();
  const h5::Hid record = h5::coordinate(history.get(), "record",
                                        h5::index_range(0, static_cast<int64_t>(h.epoch.size())),
                                        "training record (one per epoch)");
  const h5::Hid hidden_layer =
      h5::coordinate(history.get(), "hidden_layer", h5::hidden_layer_names(layers), "hidden layer");
  write_vector(history.get(), "epoch", h.epoch, "epochs completed at each record", record.get());
  write_vector(history.get(), "step", h.step, "optimiser steps taken at each record", record.get());
  write_vector(history.get(), "train_loss", h.train_loss, "mean training MSE over the epoch",
               record.get());
  write_vector(history.get(), "val_loss", h.val_loss, "validation MSE at the record", record.get());
  write_vector(history.get(), "penalty", h.penalty, "mean symmetry penalty over the epoch",
               record.get());
  write_vector(history.get(), "learning_rate", h.learning_rate, "learning rate of the last step",
               record.get());
  const std::vector<double> order = h.order_parameter_table();
  {
    h5::Hid space = h5::simple_space(
        {static_cast<hsize_t>(h.order_parameter.size()), static_cast<hsize_t>(layers)});
    h5::Hid dataset =
        h5::dataset_id(H5Dcreate2(history.get(), "order_parameter", H5T_NATIVE_DOUBLE, space.get(),
                                  H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    if (!order.empty()) {
      RGFLOW_H5(
          H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, order.data()));
    }
    h5::write_attribute(dataset.get(), "shape_meaning",
                        std::string("records x hidden layers: unit order parameter D"));
    h5::attach_coordinates(dataset.get(), {record.get(), hidden_layer.get()});
  }
  if (h.tuning.done()) {
    const PenaltyTuning& t = h.tuning;
    h5::Hid tuning = h5::create_group(f, "/history/tuning");
    h5::write_attribute(tuning.get(), "types", join_list(t.types));
    h5::write_attribute(tuning.get(), "tolerance", t.tolerance);
    h5::write_attribute(tuning.get(), "epochs_per_trial", t.epochs);
    const h5::Hid candidate = h5::coordinate(
        tuning.get(), "candidate", h5::index_range(0, static_cast<int64_t>(t.candidates.size())),
        "index of a strength tried");
    const h5::Hid trial = h5::coordinate(
        tuning.get(), "trial", h5::index_range(0, static_cast<int64_t>(t.val_loss.size())),
        "trial t C + c: penalty type t, candidate c (C candidates)");
    const h5::Hid penalty_type =
        h5::coordinate(tuning.get(), "penalty_type", t.types, "penalty type, in tuning order");
    write_vector(tuning.get(), "candidates", t.candidates, "strengths tried, ascending",
                 candidate.get());
    write_vector(tuning.get(), "val_loss", t.val_loss,
                 "validation MSE of each trial, types x candidates (row-major)", trial.get());
    write_vector(tuning.get(), "chosen", t.chosen, "tuned strength per type", penalty_type.get());
  }
}

template <typename Scalar>
void write_checkpoint(hid_t f, const CheckpointState<Scalar>& s, int64_t parameters) {
  using h5::write_attribute;
  h5::Hid checkpoint = h5::create_group(f, "/checkpoint");
  const hid_t c = checkpoint.get();
  write_attribute(c, "optimizer", s.optimizer);
  write_attribute(c, "optimizer_steps", s.optimizer_steps);
  write_attribute(c, "epoch", s.epoch);
  write_attribute(c, "step_in_epoch", s.step_in_epoch);
  write_attribute(c, "global_step", s.global_step);
  write_attribute(c, "epoch_loss", s.epoch_loss);
  write_attribute(c, "epoch_penalty", s.epoch_penalty);
  write_attribute(c, "best_val", s.best_val);
  write_attribute(c, "epochs_since_best", s.epochs_since_best);
  write_attribute(c, "finished", int64_t{s.finished ? 1 : 0});
  write_attribute(c, "window_pairs", s.window_pairs);
  // Named axes for netCDF readers: `parameter` (0..P-1) for the vectors of P values, `empty`
  // for those without values (SGD's second moment, best_parameters before any validation).
  const h5::Hid parameter =
      h5::coordinate(c, "parameter", h5::index_range(0, parameters), "index of a free parameter");
  h5::Hid empty;
  auto axis = [&](size_t values) {
    if (values > 0) return parameter.get();
    if (!empty.valid()) empty = h5::coordinate(c, "empty", std::vector<int64_t>{}, "no values");
    return empty.get();
  };
  write_vector(c, "first_moment", s.first_moment, "Adam m or SGD velocity",
               axis(s.first_moment.size()));
  write_vector(c, "second_moment", s.second_moment, "Adam v (empty for SGD)",
               axis(s.second_moment.size()));
  write_vector(c, "best_parameters", s.best_parameters, "parameters at the best validation loss",
               axis(s.best_parameters.size()));
}

// The whole training file, built in memory (HDF5's core driver, no backing store) and returned
// as the bytes of a file. HDF5 never writes to disk here: a library whose write failed keeps the
// file half-open, and its clean-up at exit then crashes (exit 139 after the clean message), so
// the disk is written by replace_file_atomically, whose every failure is an ordinary error.
// `name` only names the image in HDF5's messages: no file of that name is made.
template <typename Scalar>
std::vector<unsigned char> training_file_image(const std::string& name,
                                               const nn::Network<Scalar>& network,
                                               const TrainingProvenance& provenance,
                                               const TrainingHistory& history,
                                               const CheckpointState<Scalar>& checkpoint) {
  h5::Hid access = h5::plist_id(H5Pcreate(H5P_FILE_ACCESS));
  RGFLOW_H5(H5Pset_fapl_core(access.get(), size_t{1} << 20, 0));
  h5::Hid file = h5::file_id(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get()));
  // The order of creation is the file's layout: kept as it was, so files stay byte-comparable.
  write_provenance(file.get(), provenance);
  write_model(file.get(), network);
  write_history(file.get(), history);
  write_checkpoint(file.get(), checkpoint, network.parameter_count());
  RGFLOW_H5(H5Fflush(file.get(), H5F_SCOPE_GLOBAL));
  const ssize_t bytes = RGFLOW_H5(H5Fget_file_image(file.get(), nullptr, 0));
  std::vector<unsigned char> image(static_cast<size_t>(bytes));
  RGFLOW_H5(H5Fget_file_image(file.get(), image.data(), image.size()));
  file.close();
  return image;
}

// Opens the group `name` of `file`: UsageError naming it when it is missing or not a group.
h5::Hid open_group(hid_t file, const std::string& name) {
  const std::string kind = h5::object_kind(file, name);
  if (kind == "missing") throw UsageError(name + " is missing");
  if (kind != "a group") throw UsageError(name + " is " + kind + ", not a group");
  return h5::group_id(H5Gopen2(file, name.c_str(), H5P_DEFAULT));
}

// The root provenance attributes: all of them, or (unless `required`) none.
template <typename Scalar>
void read_provenance(hid_t root, bool required, StoredModel<Scalar>& model) {
  const char* names[] = {"dataset_path", "training_samples", "validation_samples", "level_input",
                         "level_target"};
  bool any = false;
  for (const char* name : names) any |= h5::has_attribute(root, name);
  if (!any && !required) return;
  for (const char* name : names) {
    if (!h5::has_attribute(root, name)) {
      throw UsageError("root attribute '" + std::string(name) + "' is missing");
    }
  }
  auto integer = [root](const char* name) {
    try {
      return h5::read_int_attribute(root, name);
    } catch (const UsageError&) {
      throw UsageError("root attribute '" + std::string(name) + "' is not an integer");
    }
  };
  try {
    model.dataset_path = h5::read_string_attribute(root, "dataset_path");
  } catch (const UsageError&) {
    throw UsageError("root attribute 'dataset_path' is not a fixed-length text");
  }
  model.has_provenance = true;
  model.training_samples = integer("training_samples");
  model.validation_samples = integer("validation_samples");
  const int64_t input = integer("level_input"), target = integer("level_target");
  if (input < 0 || input > 62 || target != input + 1 || model.training_samples < 0 ||
      model.validation_samples < 0) {
    throw UsageError("level_input " + std::to_string(input) + ", level_target " +
                     std::to_string(target) + ", training_samples " +
                     std::to_string(model.training_samples) + " and validation_samples " +
                     std::to_string(model.validation_samples) + " do not fit together");
  }
  model.level_input = static_cast<int>(input);
  model.level_target = static_cast<int>(target);
}

// /checkpoint, its sizes checked against `expected` and the model's `parameters`.
template <typename Scalar>
CheckpointState<Scalar> read_checkpoint(hid_t f, const CheckpointShape& expected,
                                        int64_t parameters) {
  const h5::Hid checkpoint = open_group(f, "/checkpoint");
  const hid_t c = checkpoint.get();
  auto count = [c](const char* name) {
    const int64_t value = h5::read_int_attribute(c, name);
    if (value < 0) {
      throw UsageError("/checkpoint attribute '" + std::string(name) + "' is negative (" +
                       std::to_string(value) + ")");
    }
    return value;
  };
  auto real = [c](const char* name, bool infinity_allowed) {
    const double value = h5::read_double_attribute(c, name);
    if (std::isnan(value) || (!infinity_allowed && std::isinf(value))) {
      throw UsageError("/checkpoint attribute '" + std::string(name) + "' is not finite");
    }
    return value;
  };
  CheckpointState<Scalar> s;
  // The moments must have exactly the sizes this optimiser keeps (none for SGD's second).
  s.first_moment = read_vector<Scalar>(f, "/checkpoint/first_moment", parameters, true);
  s.second_moment = read_vector<Scalar>(f, "/checkpoint/second_moment", parameters, true);
  s.best_parameters = read_vector<Scalar>(f, "/checkpoint/best_parameters", parameters, true);
  if (s.first_moment.size() != expected.first_moment ||
      s.second_moment.size() != expected.second_moment ||
      (!s.best_parameters.empty() && s.best_parameters.size() != static_cast<size_t>(parameters))) {
    throw UsageError("the optimiser state has " + std::to_string(s.first_moment.size()) + " and " +
                     std::to_string(s.second_moment.size()) + " values and best_parameters " +
                     std::to_string(s.best_parameters.size()) + ", for a model of " +
                     std::to_string(parameters) + " parameters");
  }
  if (!all_finite(s.first_moment) || !all_finite(s.second_moment) ||
      !all_finite(s.best_parameters)) {
    throw UsageError("the optimiser state or best_parameters hold NaN or infinite values");
  }
  s.optimizer_steps = count("optimizer_steps");
  s.epoch = count("epoch");
  s.step_in_epoch = count("step_in_epoch");
  s.global_step = count("global_step");
  s.epochs_since_best = count("epochs_since_best");
  const int64_t finished = count("finished");
  if (finished > 1) throw UsageError("/checkpoint attribute 'finished' is not 0 or 1");
  s.finished = finished != 0;
  s.window_pairs = h5::has_attribute(c, "window_pairs") ? count("window_pairs") : 0;
  s.epoch_loss = real("epoch_loss", false);
  s.epoch_penalty = real("epoch_penalty", false);
  s.best_val = real("best_val", true);
  return s;
}

// /history/tuning.
PenaltyTuning read_tuning(hid_t f) {
  const h5::Hid tuning = open_group(f, "/history/tuning");
  PenaltyTuning t;
  t.types = split_list(h5::read_string_attribute(tuning.get(), "types"));
  t.tolerance = h5::read_double_attribute(tuning.get(), "tolerance");
  t.epochs = h5::read_int_attribute(tuning.get(), "epochs_per_trial");
  constexpr int64_t kMaxTuningValues = int64_t{1} << 20;
  t.candidates = read_vector<double>(f, "/history/tuning/candidates", kMaxTuningValues);
  t.val_loss = read_vector<double>(f, "/history/tuning/val_loss", kMaxTuningValues);
  t.chosen = read_vector<double>(f, "/history/tuning/chosen", kMaxTuningValues);
  if (t.types.empty() || t.chosen.size() != t.types.size() ||
      t.val_loss.size() != t.types.size() * t.candidates.size()) {
    throw UsageError("/history/tuning sizes do not fit together");
  }
  if (!all_finite(t.chosen) || !std::isfinite(t.tolerance)) {
    throw UsageError("/history/tuning holds NaN or infinite strengths");
  }
  return t;
}

// /history: with `every_column`, all of it (at most `max_records` records, checked before
// allocating); otherwise, when present, /history/epoch and /history/order_parameter alone.
// order_parameter is records x `hidden_layers` (0 x 0 without records).
TrainingHistory read_history(hid_t f, bool every_column, int64_t max_records,
                             size_t hidden_layers) {
  TrainingHistory h;
  if (!every_column && !h5::link_exists(f, "/history")) return h;
  open_group(f, "/history");
  auto column = [&](const char* name, std::vector<double>& values) {
    const std::string path = std::string("/history/") + name;
    if (every_column || h5::link_exists(f, path))
      values = read_vector<double>(f, path, max_records);
  };
  column("epoch", h.epoch);
  const size_t records = h.epoch.size();
  if (every_column) {
    column("step", h.step);
    column("train_loss", h.train_loss);
    column("val_loss", h.val_loss);
    column("penalty", h.penalty);
    column("learning_rate", h.learning_rate);
    for (const auto* values : {&h.step, &h.train_loss, &h.val_loss, &h.penalty, &h.learning_rate}) {
      if (values->size() != records) {
        throw UsageError("the /history datasets have different lengths");
      }
    }
  }
  const char* order_path = "/history/order_parameter";
  if (every_column || h5::link_exists(f, order_path)) {
    const std::vector<hsize_t> shape =
        h5::open_numeric_dataset(f, order_path, h5::NumberClass::kFloat, 2).shape;
    const size_t layers = records > 0 ? hidden_layers : 0;
    if (shape[0] != records || shape[1] != layers) {
      throw UsageError(std::string(order_path) + " is " + std::to_string(shape[0]) + " x " +
                       std::to_string(shape[1]) + ", not " + std::to_string(records) +
                       " records (/history/epoch) x " + std::to_string(layers) + " hidden layers");
    }
    const std::vector<double> order = h5::read_numeric_dataset(
        f, order_path, h5::NumberClass::kFloat, 2, static_cast<int64_t>(records * layers));
    for (size_t r = 0; r < records; ++r) {
      h.order_parameter.emplace_back(order.begin() + static_cast<long>(r * layers),
                                     order.begin() + static_cast<long>((r + 1) * layers));
    }
  }
  if (every_column && h5::link_exists(f, "/history/tuning")) h.tuning = read_tuning(f);
  return h;
}

}  // namespace

DataIdentity DataIdentity::of(const DatasetSpec& spec) {
  return {spec.seed, spec.distribution.name(), spec.geometry.side, spec.samples};
}

void write_stored_options(hid_t file, const std::vector<StoredOption>& options) {
  h5::Hid group = h5::create_group(file, kOptionsGroup);
  for (const StoredOption& option : options) {
    std::visit([&](const auto& value) { h5::write_attribute(group.get(), option.name, value); },
               option.value);
  }
}

StoredTraining read_stored_options(hid_t file, const std::string& path) {
  StoredTraining stored;
  if (H5Lexists(file, "options", H5P_DEFAULT) <= 0) {
    throw UsageError("'" + path +
                     "' holds no training options (/options: written by an earlier rgflow), so "
                     "this run cannot be checked against it");
  }
  try {
    h5::Hid group = h5::group_id(H5Gopen2(file, kOptionsGroup, H5P_DEFAULT));
    const hid_t g = group.get();
    std::vector<std::string> names;
    hsize_t position = 0;
    RGFLOW_H5(H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &position, collect_name, &names));
    for (const std::string& name : names) {
      H5T_class_t kind;
      {
        h5::Hid attribute = h5::attribute_id(H5Aopen(g, name.c_str(), H5P_DEFAULT));
        h5::Hid type = h5::datatype_id(H5Aget_type(attribute.get()));
        kind = H5Tget_class(type.get());
      }
      if (kind == H5T_INTEGER) {
        stored.options.push_back({name, h5::read_int_attribute(g, name)});
      } else if (kind == H5T_FLOAT) {
        stored.options.push_back({name, h5::read_double_attribute(g, name)});
      } else {
        stored.options.push_back({name, h5::read_string_attribute(g, name)});
      }
    }
    stored.data.seed = static_cast<uint64_t>(h5::read_int_attribute(file, "dataset_seed"));
    stored.data.distribution = h5::read_string_attribute(file, "dataset_distribution");
    stored.data.side = h5::read_int_attribute(file, "dataset_L");
    stored.data.samples = h5::read_int_attribute(file, "dataset_samples");
  } catch (const std::exception& failure) {
    throw UsageError("'" + path + "' is a malformed training file: its options cannot be read (" +
                     failure.what() + ")");
  }
  return stored;
}

template <typename Scalar>
void write_training_file(const std::string& path, const nn::Network<Scalar>& network,
                         const TrainingProvenance& provenance, const TrainingHistory& history,
                         const CheckpointState<Scalar>& checkpoint) {
  // Every HDF5 object is closed before the disk is touched.
  replace_file_atomically(
      path, training_file_image(path + " (in memory)", network, provenance, history, checkpoint),
      "train: write file");
}

std::vector<double> TrainingHistory::order_parameter_table() const {
  std::vector<double> table;
  for (const auto& record : order_parameter)
    table.insert(table.end(), record.begin(), record.end());
  return table;
}

namespace {

h5::Hid open_model_file(const std::string& path, const std::string& purpose) {
  const std::string problem = input_file_problem(path);
  if (!problem.empty()) throw UsageError("model '" + path + "' " + problem);
  if (H5Fis_hdf5(path.c_str()) <= 0) throw UsageError("'" + path + "' is not an HDF5 file");
  return h5::open_read_only(path, purpose);
}

}  // namespace

TrainingFileReader::TrainingFileReader(const std::string& path, const std::string& purpose)
    : path_(path), file_(open_model_file(path, purpose)) {}

StoredTraining TrainingFileReader::options() const {
  return read_stored_options(file_.get(), path_);
}

template <typename Scalar>
StoredModel<Scalar> TrainingFileReader::read(const ModelFileNeeds& needs) const {
  const hid_t f = file_.get();
  // Everything is checked as it is read (object types, datatypes, shapes, sizes against the
  // architecture, ranges, finite values): a damaged file is one line, never a crash, a library
  // error or an out-of-range position in the data. /model's refusals name the file already.
  StoredModel<Scalar> model(path_, read_model<Scalar>(f, path_, !needs.resume));
  model.scalar = read_model_scalar(f, path_);
  try {
    const int64_t parameters = model.network.parameter_count();
    if (needs.resume && parameters != needs.checkpoint.parameters) {
      throw UsageError("/model holds a model of " + std::to_string(parameters) +
                       " parameters, another architecture than this run's (" +
                       std::to_string(needs.checkpoint.parameters) + ")");
    }
    read_provenance(f, needs.resume, model);
    // One record per epoch (and one for a last partial epoch): bounded by the steps taken.
    int64_t max_records = int64_t{1} << 24;
    if (needs.resume) {
      model.checkpoint = read_checkpoint<Scalar>(f, needs.checkpoint, parameters);
      max_records = std::min<int64_t>(model.checkpoint.global_step, max_records) + 1;
    }
    model.history = read_history(f, needs.resume, max_records, model.network.spec().hidden.size());
  } catch (const UsageError& failure) {
    refuse_malformed_model(path_, failure.what());
  } catch (const LibraryError& failure) {
    refuse_malformed_model(path_, failure.what());
  }
  return model;
}

TrainedModel read_trained_model(const std::string& path) {
  return TrainingFileReader(path, " as a model").read<double>(ModelFileNeeds::analysis());
}

template void write_training_file<float>(const std::string&, const nn::Network<float>&,
                                         const TrainingProvenance&, const TrainingHistory&,
                                         const CheckpointState<float>&);
template void write_training_file<double>(const std::string&, const nn::Network<double>&,
                                          const TrainingProvenance&, const TrainingHistory&,
                                          const CheckpointState<double>&);
template StoredModel<float> TrainingFileReader::read<float>(const ModelFileNeeds&) const;
template StoredModel<double> TrainingFileReader::read<double>(const ModelFileNeeds&) const;

}  // namespace rgflow::io
