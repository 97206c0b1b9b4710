#include "rgflow/train/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>

#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/core/mpi.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/io/model_file.hpp"

namespace rgflow::train {
namespace {

template <typename T>
void write_vector(hid_t group, const std::string& name, const std::vector<T>& values,
                  const std::string& meaning) {
  h5::Hid space = h5::simple_space({static_cast<hsize_t>(values.size())});
  h5::Hid dataset = h5::dataset_id(H5Dcreate2(group, name.c_str(), h5::native_type<T>(),
                                              space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!values.empty()) {
    RGFLOW_H5(H5Dwrite(dataset.get(), h5::native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                       values.data()));
  }
  h5::write_attribute(dataset.get(), "meaning", meaning);
}

// The 1-D float dataset `name` of `group`, checked (object type, datatype, shape; at most
// `max_values` values, checked before allocating) and converted to T. With `exact`, its values
// must be stored as T is (the optimiser state is written in the model's precision). UsageError
// naming it otherwise.
template <typename T>
std::vector<T> read_vector(hid_t group, const std::string& name, int64_t max_values,
                           bool exact = false) {
  if (exact &&
      h5::open_numeric_dataset(group, name, h5::NumberClass::kFloat, 1).value_bytes != sizeof(T)) {
    throw UsageError(name + " is not stored as " + (sizeof(T) == 4 ? "float32" : "float64") +
                     " like the model");
  }
  const std::vector<double> values =
      h5::read_numeric_dataset(group, name, h5::NumberClass::kFloat, 1, max_values);
  return std::vector<T>(values.begin(), values.end());
}

template <typename T>
bool all_finite(const std::vector<T>& values) {
  for (const T v : values) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

// The whole training file, built in memory (HDF5's core driver, no backing store) and returned
// as the bytes of a file. HDF5 never writes to disk here: a library whose write failed keeps the
// file half-open, and its clean-up at exit then crashes (exit 139 after the clean message), so
// the disk is written by write_file_bytes, whose every failure is an ordinary error.
template <typename Scalar>
std::vector<unsigned char> training_file_image(const std::string& name,
                                               const nn::SymmetricModel<Scalar>& model,
                                               nn::Optimizer<Scalar>& optimizer,
                                               const TrainState<Scalar>& state,
                                               const Provenance& provenance, bool complete) {
  std::vector<unsigned char> image;
  h5::Hid access = h5::plist_id(H5Pcreate(H5P_FILE_ACCESS));
  RGFLOW_H5(H5Pset_fapl_core(access.get(), size_t{1} << 20, 0));
  h5::Hid file = h5::file_id(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get()));
  {
    const hid_t f = file.get();
    using h5::write_attribute;
    write_attribute(f, "format", std::string("rgflow trained model"));
    write_attribute(f, "schema_version", int64_t{1});
    write_attribute(f, "rgflow_version", std::string(RGFLOW_VERSION));
    write_attribute(f, "created", utc_timestamp());
    write_attribute(f, "command_line", provenance.command_line);
    write_training_options(f, provenance.options);
    write_attribute(f, "dataset_path", provenance.dataset_path);
    const io::DatasetSpec& d = provenance.dataset;
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
    write_attribute(f, "complete", int64_t{complete ? 1 : 0});
    write_attribute(f, "stop_reason", state.stop_reason);
    io::write_model(f, model.network());

    h5::Hid history =
        h5::group_id(H5Gcreate2(f, "/history", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    const History& h = state.history;
    write_vector(history.get(), "epoch", h.epoch, "epochs completed at each record");
    write_vector(history.get(), "step", h.step, "optimiser steps taken at each record");
    write_vector(history.get(), "train_loss", h.train_loss, "mean training MSE over the epoch");
    write_vector(history.get(), "val_loss", h.val_loss, "validation MSE at the record");
    write_vector(history.get(), "penalty", h.penalty, "mean symmetry penalty over the epoch");
    write_vector(history.get(), "learning_rate", h.learning_rate, "learning rate of the last step");
    std::vector<double> order;
    const size_t layers = h.order_parameter.empty() ? 0 : h.order_parameter.front().size();
    for (const auto& record : h.order_parameter)
      order.insert(order.end(), record.begin(), record.end());
    {
      h5::Hid space = h5::simple_space(
          {static_cast<hsize_t>(h.order_parameter.size()), static_cast<hsize_t>(layers)});
      h5::Hid dataset =
          h5::dataset_id(H5Dcreate2(history.get(), "order_parameter", H5T_NATIVE_DOUBLE,
                                    space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
      if (!order.empty()) {
        RGFLOW_H5(H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                           order.data()));
      }
      h5::write_attribute(dataset.get(), "shape_meaning",
                          std::string("records x hidden layers: unit order parameter D"));
    }

    if (h.tuning.done()) {
      const PenaltyTuning& t = h.tuning;
      h5::Hid tuning =
          h5::group_id(H5Gcreate2(f, "/history/tuning", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
      std::string types;
      for (const auto& type : t.types) types += (types.empty() ? "" : ",") + type;
      write_attribute(tuning.get(), "types", types);
      write_attribute(tuning.get(), "tolerance", t.tolerance);
      write_attribute(tuning.get(), "epochs_per_trial", t.epochs);
      write_vector(tuning.get(), "candidates", t.candidates, "strengths tried, ascending");
      write_vector(tuning.get(), "val_loss", t.val_loss,
                   "validation MSE of each trial, types x candidates (row-major)");
      write_vector(tuning.get(), "chosen", t.chosen, "tuned strength per type");
    }

    h5::Hid checkpoint =
        h5::group_id(H5Gcreate2(f, "/checkpoint", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    const hid_t c = checkpoint.get();
    write_attribute(c, "optimizer", optimizer.settings().kind);
    write_attribute(c, "optimizer_steps", optimizer.steps());
    write_attribute(c, "epoch", state.epoch);
    write_attribute(c, "step_in_epoch", state.step_in_epoch);
    write_attribute(c, "global_step", state.global_step);
    write_attribute(c, "epoch_loss", state.epoch_loss);
    write_attribute(c, "epoch_penalty", state.epoch_penalty);
    write_attribute(c, "best_val", state.best_val);
    write_attribute(c, "epochs_since_best", state.epochs_since_best);
    write_attribute(c, "finished", int64_t{state.finished ? 1 : 0});
    write_attribute(c, "window_pairs", provenance.window_pairs);
    write_vector(c, "first_moment", optimizer.first_moment(), "Adam m or SGD velocity");
    write_vector(c, "second_moment", optimizer.second_moment(), "Adam v (empty for SGD)");
    write_vector(c, "best_parameters", state.best_parameters,
                 "parameters at the best validation loss");
    checkpoint = h5::Hid();
    history = h5::Hid();
  }
  RGFLOW_H5(H5Fflush(file.get(), H5F_SCOPE_GLOBAL));
  const ssize_t bytes = RGFLOW_H5(H5Fget_file_image(file.get(), nullptr, 0));
  image.resize(static_cast<size_t>(bytes));
  RGFLOW_H5(H5Fget_file_image(file.get(), image.data(), image.size()));
  file.close();
  return image;
}

// Writes `bytes` as the file `path` (replacing it): its blocks are reserved first (fallocate,
// where the file system has it), so a full disk or a quota is found before any byte is written,
// then written and synced. Any failure removes the file and throws WriteFailure.
void write_file_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  int fd = -1;
  auto fail = [&path, &fd](const std::string& what, int reason) {
    if (fd >= 0) ::close(fd);
    ::unlink(path.c_str());
    throw WriteFailure("writing '" + path + "' failed (" + what + std::strerror(reason) + ")");
  };
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("", errno);
  if (!bytes.empty() && fallocate(fd, 0, 0, static_cast<off_t>(bytes.size())) != 0) {
    const int reason = errno;
    if (reason != EOPNOTSUPP && reason != ENOSYS) {
      fail("reserving " + std::to_string(bytes.size()) + " bytes: ", reason);
    }
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t written = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) fail("", written == 0 ? ENOSPC : errno);
    done += static_cast<size_t>(written);
  }
  // Network file systems may report a failed write only when the data is synced or closed.
  if (::fsync(fd) != 0) fail("", errno);
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) fail("", errno);
}

}  // namespace

template <typename Scalar>
void write_training_file(const std::string& path, const nn::SymmetricModel<Scalar>& model,
                         nn::Optimizer<Scalar>& optimizer, const TrainState<Scalar>& state,
                         const Provenance& provenance, bool complete) {
  const std::string temporary = path + ".tmp";
  // Every HDF5 object is closed before the disk is touched; a failed write leaves no temporary
  // behind and never reaches `path`.
  write_file_bytes(temporary,
                   training_file_image(temporary, model, optimizer, state, provenance, complete));
  struct RemoveUnlessKept {
    const std::string& file;
    bool keep = false;
    ~RemoveUnlessKept() {
      if (!keep) std::remove(file.c_str());
    }
  } cleanup{temporary};
  fail_if_injected("train: write file", 0);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    throw LibraryError("cannot rename '" + temporary + "' to '" + path +
                       "': " + std::strerror(errno));
  }
  cleanup.keep = true;
}

template <typename Scalar>
void read_training_file(const std::string& path, const Provenance* provenance,
                        nn::SymmetricModel<Scalar>& model, nn::Optimizer<Scalar>& optimizer,
                        TrainState<Scalar>& state) {
  const h5::Hid file = h5::open_read_only(path, " to resume");
  const hid_t f = file.get();
  std::string differs;
  try {
    const StoredTraining stored = read_training_options(f, path);
    if (provenance != nullptr) {
      differs = difference(provenance->options, DataIdentity::of(provenance->dataset), stored);
    }
  } catch (const UsageError& failure) {
    throw UsageError(std::string(failure.what()) + "; use -force to start over");
  }
  if (!differs.empty()) {
    throw UsageError("'" + path + "' was made with other training options: " + differs +
                     "; use -force to start over");
  }
  // Everything else is checked as it is read (object types, datatypes, shapes, sizes against the
  // architecture, ranges, finite values): a damaged checkpoint is one line, never a crash, a
  // library error or an out-of-range position in the data.
  try {
    const nn::Network<Scalar> stored = io::read_model<Scalar>(f, path);
    const int64_t parameters = stored.parameter_count();
    if (parameters != model.network().parameter_count()) {
      throw UsageError("it holds a model of another architecture");
    }
    for (const char* group : {"/checkpoint", "/history"}) {
      const std::string kind = h5::object_kind(f, group);
      if (kind != "a group") throw UsageError(std::string(group) + " is " + kind + ", not a group");
    }
    h5::Hid checkpoint = h5::group_id(H5Gopen2(f, "/checkpoint", H5P_DEFAULT));
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
    // The moments must have exactly the sizes this optimiser keeps (none for SGD's second).
    const size_t first_size = optimizer.first_moment().size();
    const size_t second_size = optimizer.second_moment().size();
    std::vector<Scalar> first = read_vector<Scalar>(c, "first_moment", parameters, true);
    std::vector<Scalar> second = read_vector<Scalar>(c, "second_moment", parameters, true);
    std::vector<Scalar> best = read_vector<Scalar>(c, "best_parameters", parameters, true);
    if (first.size() != first_size || second.size() != second_size ||
        (!best.empty() && best.size() != static_cast<size_t>(parameters))) {
      throw UsageError("the optimiser state has " + std::to_string(first.size()) + " and " +
                       std::to_string(second.size()) + " values and best_parameters " +
                       std::to_string(best.size()) + ", for a model of " +
                       std::to_string(parameters) + " parameters");
    }
    if (!all_finite(first) || !all_finite(second) || !all_finite(best)) {
      throw UsageError("the optimiser state or best_parameters hold NaN or infinite values");
    }
    const int64_t optimizer_steps = count("optimizer_steps");
    const int64_t epoch = count("epoch"), step_in_epoch = count("step_in_epoch");
    const int64_t global_step = count("global_step"), since_best = count("epochs_since_best");
    const int64_t finished = count("finished");
    if (finished > 1) throw UsageError("/checkpoint attribute 'finished' is not 0 or 1");
    // The position counts steps in an order of windows: only the same windows continue it
    // (files written before the attribute existed are not checked).
    if (provenance != nullptr && provenance->window_pairs > 0 && !finished &&
        h5::has_attribute(c, "window_pairs")) {
      const int64_t window_pairs = count("window_pairs");
      if (window_pairs != provenance->window_pairs) {
        throw UsageError("its data were read in windows of " + std::to_string(window_pairs) +
                         " pairs, this run's memory budget makes windows of " +
                         std::to_string(provenance->window_pairs) + "; use the same -memory_mb");
      }
    }
    const double epoch_loss = real("epoch_loss", false);
    const double epoch_penalty = real("epoch_penalty", false);
    const double best_val = real("best_val", true);

    h5::Hid history_group = h5::group_id(H5Gopen2(f, "/history", H5P_DEFAULT));
    const hid_t g = history_group.get();
    // One record per epoch (and one for a last partial epoch): bounded by the steps taken.
    const int64_t max_records = std::min<int64_t>(global_step, int64_t{1} << 24) + 1;
    History h;
    h.epoch = read_vector<double>(g, "epoch", max_records);
    h.step = read_vector<double>(g, "step", max_records);
    h.train_loss = read_vector<double>(g, "train_loss", max_records);
    h.val_loss = read_vector<double>(g, "val_loss", max_records);
    h.penalty = read_vector<double>(g, "penalty", max_records);
    h.learning_rate = read_vector<double>(g, "learning_rate", max_records);
    const size_t records = h.epoch.size();
    for (const auto* column : {&h.step, &h.train_loss, &h.val_loss, &h.penalty, &h.learning_rate}) {
      if (column->size() != records) {
        throw UsageError("the /history datasets have different lengths");
      }
    }
    std::vector<hsize_t> shape;
    const std::vector<double> order = h5::read_numeric_dataset(
        g, "order_parameter", h5::NumberClass::kFloat, 2, max_records * int64_t{1024}, &shape);
    const auto hidden_layers = static_cast<hsize_t>(stored.spec().hidden.size());
    if (shape[0] != records || (records > 0 && shape[1] != hidden_layers)) {
      throw UsageError("/history/order_parameter is " + std::to_string(shape[0]) + " x " +
                       std::to_string(shape[1]) + ", not " + std::to_string(records) +
                       " records x " + std::to_string(hidden_layers) + " hidden layers");
    }
    const size_t layers = static_cast<size_t>(shape[1]);
    for (size_t r = 0; r < records; ++r) {
      h.order_parameter.emplace_back(order.begin() + static_cast<long>(r * layers),
                                     order.begin() + static_cast<long>((r + 1) * layers));
    }
    if (h5::link_exists(g, "tuning")) {
      if (h5::object_kind(g, "tuning") != "a group") {
        throw UsageError("/history/tuning is not a group");
      }
      h5::Hid tuning = h5::group_id(H5Gopen2(g, "tuning", H5P_DEFAULT));
      PenaltyTuning& t = h.tuning;
      std::stringstream types(h5::read_string_attribute(tuning.get(), "types"));
      for (std::string type; std::getline(types, type, ',');) t.types.push_back(type);
      t.tolerance = h5::read_double_attribute(tuning.get(), "tolerance");
      t.epochs = h5::read_int_attribute(tuning.get(), "epochs_per_trial");
      constexpr int64_t kMaxTuningValues = int64_t{1} << 20;
      t.candidates = read_vector<double>(tuning.get(), "candidates", kMaxTuningValues);
      t.val_loss = read_vector<double>(tuning.get(), "val_loss", kMaxTuningValues);
      t.chosen = read_vector<double>(tuning.get(), "chosen", kMaxTuningValues);
      if (t.types.empty() || t.chosen.size() != t.types.size() ||
          t.val_loss.size() != t.types.size() * t.candidates.size()) {
        throw UsageError("/history/tuning sizes do not fit together");
      }
      if (!all_finite(t.chosen) || !std::isfinite(t.tolerance)) {
        throw UsageError("/history/tuning holds NaN or infinite strengths");
      }
    }

    // All read and checked: only now is anything of the run replaced.
    std::copy(stored.parameters(), stored.parameters() + parameters, model.network().parameters());
    optimizer.set_steps(optimizer_steps);
    optimizer.first_moment() = std::move(first);
    optimizer.second_moment() = std::move(second);
    state.epoch = epoch;
    state.step_in_epoch = step_in_epoch;
    state.global_step = global_step;
    state.epoch_loss = epoch_loss;
    state.epoch_penalty = epoch_penalty;
    state.best_val = best_val;
    state.epochs_since_best = since_best;
    state.finished = finished != 0;
    state.best_parameters = std::move(best);
    state.history = std::move(h);
  } catch (const std::exception& failure) {
    throw UsageError("cannot resume from '" + path + "': " + failure.what() +
                     " (use -force to start over)");
  }
}

std::string resume_position_problem(int64_t epoch, int64_t step_in_epoch, int64_t global_step,
                                    bool finished, int64_t steps_per_epoch) {
  // A finished state takes no more steps (its last epoch may have been a partial one).
  if (finished || steps_per_epoch < 1) return "";
  if (step_in_epoch >= steps_per_epoch || epoch > global_step / steps_per_epoch ||
      epoch * steps_per_epoch + step_in_epoch != global_step) {
    return "its position (epoch " + std::to_string(epoch) + ", step " +
           std::to_string(step_in_epoch) + " of the epoch, step " + std::to_string(global_step) +
           " in all) does not fit this run's " + std::to_string(steps_per_epoch) +
           " steps per epoch";
  }
  return "";
}

template void write_training_file<float>(const std::string&, const nn::SymmetricModel<float>&,
                                         nn::Optimizer<float>&, const TrainState<float>&,
                                         const Provenance&, bool);
template void write_training_file<double>(const std::string&, const nn::SymmetricModel<double>&,
                                          nn::Optimizer<double>&, const TrainState<double>&,
                                          const Provenance&, bool);
template void read_training_file<float>(const std::string&, const Provenance*,
                                        nn::SymmetricModel<float>&, nn::Optimizer<float>&,
                                        TrainState<float>&);
template void read_training_file<double>(const std::string&, const Provenance*,
                                         nn::SymmetricModel<double>&, nn::Optimizer<double>&,
                                         TrainState<double>&);

}  // namespace rgflow::train
