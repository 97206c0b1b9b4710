// model.h5's /model group: bit-exact round trips, effective weights readable with plain HDF5
// calls (row-major, outputs x inputs), clean one-line refusals of malformed files. Every rank
// works on files of its own (name from rank and pid) with serial HDF5 access, so the tests hold
// for any number of ranks and need no collectives.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/core/mpi.hpp"
#include "rgflow/io/model_file.hpp"
#include "rgflow/io/training_file.hpp"
#include "temporary_file.hpp"

namespace rgflow::io {
namespace {

using testing::TemporaryFile;

h5::Hid create_file(const std::string& path) {
  return h5::file_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
}
h5::Hid open_file(const std::string& path, unsigned flags = H5F_ACC_RDONLY) {
  return h5::file_id(H5Fopen(path.c_str(), flags, H5P_DEFAULT));
}

// `net` written to a new model file at `path`, and that file opened again for reading.
template <typename Scalar>
h5::Hid written_model(const nn::Network<Scalar>& net, const std::string& path) {
  {
    h5::Hid file = create_file(path);
    write_model(file.get(), net);
    file.close();
  }
  return open_file(path);
}

// Moves every parameter off its seeded initial value (a reader that ignored /model/parameters
// and kept the constructor's values would then fail), and plants a negative zero and a
// subnormal, which only a bit-exact path preserves.
template <typename Scalar>
void perturb(nn::Network<Scalar>& net) {
  Scalar* theta = net.parameters();
  for (Eigen::Index i = 0; i < net.parameter_count(); ++i) {
    theta[i] = theta[i] * Scalar(1.0 + 1e-3 * std::cos(0.7 * i)) + Scalar(0.01 * std::sin(3.0 * i));
  }
  theta[0] = -Scalar(0);
  if (net.parameter_count() > 1) theta[1] = std::numeric_limits<Scalar>::denorm_min();
}

template <typename Scalar>
nn::Matrix<Scalar> random_batch(Eigen::Index rows, Eigen::Index cols, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::normal_distribution<double> normal;
  nn::Matrix<Scalar> x(rows, cols);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<Scalar>(normal(random));
  return x;
}

void expect_same_spec(const nn::ModelSpec& a, const nn::ModelSpec& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.block.dim, b.block.dim);
  EXPECT_EQ(a.block.side, b.block.side);
  EXPECT_EQ(a.hidden, b.hidden);
  EXPECT_EQ(a.activation, b.activation);
  EXPECT_EQ(a.tying, b.tying);
  EXPECT_EQ(a.orbit_group, b.orbit_group);
  EXPECT_EQ(a.bias, b.bias);
  EXPECT_EQ(a.mean_aggregation, b.mean_aggregation);
  EXPECT_EQ(a.mean_pooling, b.mean_pooling);
  EXPECT_EQ(a.periodic, b.periodic);
  EXPECT_EQ(a.tie_self_neighbour, b.tie_self_neighbour);
  EXPECT_EQ(a.strategy, b.strategy);
  EXPECT_EQ(a.seed, b.seed);
}

template <typename Scalar>
void check_round_trip(const nn::ModelSpec& spec) {
  SCOPED_TRACE(nn::model_kind_name(spec.kind) + " tying " + nn::tying_name(spec.tying) + " " +
               nn::activation_name(spec.activation) + " " +
               (sizeof(Scalar) == 4 ? "float" : "double"));
  ASSERT_EQ(spec.validate(), "");
  nn::Network<Scalar> net(spec);
  perturb(net);
  TemporaryFile temporary("model_round_trip");
  const std::string& path = temporary.path();
  {
    h5::Hid file = create_file(path);
    write_model(file.get(), net);
    file.close();
  }
  h5::Hid file = open_file(path);
  expect_same_spec(read_model_spec(file.get(), path), spec);
  const nn::Network<Scalar> back = read_model<Scalar>(file.get(), path);
  expect_same_spec(back.spec(), spec);
  ASSERT_EQ(back.parameter_count(), net.parameter_count());
  EXPECT_EQ(std::memcmp(back.parameters(), net.parameters(),
                        sizeof(Scalar) * static_cast<size_t>(net.parameter_count())),
            0);
  const nn::Matrix<Scalar> x = random_batch<Scalar>(net.inputs(), 9, spec.seed + 17);
  typename nn::Network<Scalar>::Tape original, reloaded;
  net.forward(x, original);
  back.forward(x, reloaded);
  ASSERT_EQ(original.output.size(), reloaded.output.size());
  EXPECT_EQ(std::memcmp(original.output.data(), reloaded.output.data(),
                        sizeof(Scalar) * static_cast<size_t>(original.output.size())),
            0);
  EXPECT_TRUE(original.output.allFinite());
}

std::vector<nn::ModelSpec> mlp_specs() {
  std::vector<nn::ModelSpec> specs;
  nn::ModelSpec spec;
  spec.hidden = {7, 5};
  spec.seed = 3;
  specs.push_back(spec);  // untied tanh
  spec.tying = nn::Tying::kInputs;
  spec.activation = nn::Activation::kRelu;
  specs.push_back(spec);
  spec.tying = nn::Tying::kOrbits;
  spec.block = {2, 3};
  spec.activation = nn::Activation::kGelu;
  spec.strategy = nn::Strategy::kAverage;
  specs.push_back(spec);
  spec.orbit_group = "reflections";
  spec.block = {3, 2};
  specs.push_back(spec);
  spec.tying = nn::Tying::kUnits;
  spec.orbit_group = "point";
  spec.block = {1, 4};
  spec.activation = nn::Activation::kSilu;
  spec.strategy = nn::Strategy::kRegularize;
  specs.push_back(spec);
  spec.tying = nn::Tying::kSymmetric;
  spec.hidden = {5, 5};
  spec.activation = nn::Activation::kCubic;
  spec.bias = false;
  specs.push_back(spec);
  spec.tying = nn::Tying::kScalar;
  spec.activation = nn::Activation::kSoftplus;
  spec.bias = true;
  spec.seed = 0xfedcba9876543210ULL;  // above INT64_MAX: stored through int64 unchanged
  specs.push_back(spec);
  return specs;
}

std::vector<nn::ModelSpec> gnn_specs() {
  std::vector<nn::ModelSpec> specs;
  nn::ModelSpec spec;
  spec.kind = nn::ModelKind::kGnn;
  spec.hidden = {4, 3};
  spec.seed = 11;
  specs.push_back(spec);  // untied tanh, sum aggregation and pooling
  spec.tying = nn::Tying::kSymmetric;
  spec.hidden = {4, 4};
  spec.tie_self_neighbour = true;
  spec.mean_pooling = true;
  spec.activation = nn::Activation::kSigmoid;
  specs.push_back(spec);
  spec.tying = nn::Tying::kUnits;
  spec.tie_self_neighbour = false;
  spec.mean_aggregation = true;
  spec.periodic = true;
  spec.block = {2, 3};
  spec.activation = nn::Activation::kQuadratic;
  spec.strategy = nn::Strategy::kCanonical;
  specs.push_back(spec);
  spec.tying = nn::Tying::kScalar;
  spec.block = {3, 2};
  spec.bias = false;
  spec.activation = nn::Activation::kIdentity;
  specs.push_back(spec);
  return specs;
}

TEST(ModelFile, MlpRoundTripsAreBitExact) {
  for (const auto& spec : mlp_specs()) {
    check_round_trip<float>(spec);
    check_round_trip<double>(spec);
  }
}

TEST(ModelFile, GnnRoundTripsAreBitExact) {
  for (const auto& spec : gnn_specs()) {
    check_round_trip<float>(spec);
    check_round_trip<double>(spec);
  }
}

// Reads `name` with nothing but HDF5 calls, as h5py would, checking shape and stored type.
template <typename Scalar>
std::vector<Scalar> read_plain(hid_t file, const std::string& name, hsize_t rows, hsize_t cols) {
  h5::Hid dataset = h5::dataset_id(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
  h5::Hid space = h5::dataspace_id(H5Dget_space(dataset.get()));
  h5::Hid type = h5::datatype_id(H5Dget_type(dataset.get()));
  EXPECT_EQ(H5Tget_class(type.get()), H5T_FLOAT) << name;
  EXPECT_EQ(H5Tget_size(type.get()), sizeof(Scalar)) << name;
  EXPECT_EQ(H5Sget_simple_extent_ndims(space.get()), 2) << name;
  hsize_t shape[2] = {0, 0};
  H5Sget_simple_extent_dims(space.get(), shape, nullptr);
  EXPECT_EQ(shape[0], rows) << name << ": rows must be the layer's outputs";
  EXPECT_EQ(shape[1], cols) << name << ": columns must be the layer's inputs";
  EXPECT_TRUE(h5::has_attribute(dataset.get(), "shape_meaning")) << name;
  if (shape[0] != rows || shape[1] != cols) return {};
  std::vector<Scalar> values(static_cast<size_t>(rows * cols));
  RGFLOW_H5(H5Dread(dataset.get(), h5::native_type<Scalar>(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                    values.data()));
  return values;
}

// HDF5 is row-major: element (r, c) of a rows x cols dataset sits at r * cols + c.
template <typename Scalar>
void expect_row_major(const std::vector<Scalar>& stored, const nn::Matrix<Scalar>& expected,
                      const std::string& name) {
  ASSERT_EQ(stored.size(), static_cast<size_t>(expected.size())) << name;
  for (Eigen::Index r = 0; r < expected.rows(); ++r) {
    for (Eigen::Index c = 0; c < expected.cols(); ++c) {
      EXPECT_EQ(stored[static_cast<size_t>(r * expected.cols() + c)], expected(r, c))
          << name << " entry (" << r << ", " << c << ")";
    }
  }
}

template <typename Scalar>
void check_effective_weights(const nn::ModelSpec& spec) {
  SCOPED_TRACE(nn::model_kind_name(spec.kind) + " tying " + nn::tying_name(spec.tying));
  nn::Network<Scalar> net(spec);
  perturb(net);
  TemporaryFile temporary("model_weights");
  h5::Hid file = written_model(net, temporary.path());
  const bool gnn = spec.kind == nn::ModelKind::kGnn;
  int layers = 0;
  while (h5::link_exists(file.get(), "/model/layer_" + std::to_string(layers))) ++layers;
  EXPECT_EQ(layers, net.layer_count());
  for (int layer = 0; layer < net.layer_count(); ++layer) {
    const std::string group = "/model/layer_" + std::to_string(layer) + "/";
    const nn::Matrix<Scalar> w = net.weight(layer);
    expect_row_major(read_plain<Scalar>(file.get(), group + "weight", w.rows(), w.cols()), w,
                     group + "weight");
    const nn::Matrix<Scalar> b = net.bias(layer);
    expect_row_major(read_plain<Scalar>(file.get(), group + "bias", b.rows(), 1), b,
                     group + "bias");
    const bool graph_layer = gnn && layer + 1 < net.layer_count();
    EXPECT_EQ(h5::link_exists(file.get(), group + "neighbour_weight"), graph_layer) << group;
    if (graph_layer) {
      const nn::Matrix<Scalar> n = net.neighbour_weight(layer);
      expect_row_major(
          read_plain<Scalar>(file.get(), group + "neighbour_weight", n.rows(), n.cols()), n,
          group + "neighbour_weight");
    }
  }
}

TEST(ModelFile, EffectiveWeightsAreRowMajorOutputsByInputs) {
  // The first mlp layer is 7 x 4 (outputs x block sites) and the gnn layers 4 x 1, 3 x 4 and
  // 1 x 3: not square, so a transposed layout fails the shape check, and untied weights make a
  // column-major layout fail the entry check.
  nn::ModelSpec mlp;
  mlp.hidden = {7, 5};
  check_effective_weights<double>(mlp);
  check_effective_weights<float>(mlp);
  mlp.tying = nn::Tying::kOrbits;
  mlp.block = {2, 3};
  check_effective_weights<double>(mlp);
  nn::ModelSpec gnn;
  gnn.kind = nn::ModelKind::kGnn;
  gnn.hidden = {4, 3};
  check_effective_weights<double>(gnn);
  check_effective_weights<float>(gnn);
  gnn.tying = nn::Tying::kUnits;
  gnn.bias = false;
  check_effective_weights<float>(gnn);
}

// Writes a valid model of type `Written` (mlp, 2 x 2 block, hidden {3}: 19 parameters), lets
// `damage` change the open file, then expects reading it as `Read` to throw a one-line
// UsageError naming the file and containing `expected`.
template <typename Written, typename Read = Written>
void expect_refusal(const std::function<void(hid_t)>& damage, const std::string& expected) {
  SCOPED_TRACE("expecting: " + expected);
  TemporaryFile temporary("model_malformed");
  const std::string& path = temporary.path();
  {
    h5::Hid file = create_file(path);
    nn::ModelSpec spec;
    spec.hidden = {3};
    write_model(file.get(), nn::Network<Written>(spec));
    damage(file.get());
    file.close();
  }
  h5::Hid file = open_file(path);
  try {
    read_model<Read>(file.get(), path);
    ADD_FAILURE() << "no error";
  } catch (const UsageError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  } catch (const std::exception& error) {
    ADD_FAILURE() << "not a UsageError: " << error.what();
  }
}

void set_text(hid_t file, const std::string& name, const std::string& value) {
  h5::Hid group = h5::group_id(H5Gopen2(file, "/model", H5P_DEFAULT));
  h5::write_attribute(group.get(), name, value);
}
void set_int(hid_t file, const std::string& name, int64_t value) {
  h5::Hid group = h5::group_id(H5Gopen2(file, "/model", H5P_DEFAULT));
  h5::write_attribute(group.get(), name, value);
}

// Replaces /model/parameters by a float64 dataset holding `values`.
void replace_parameters(hid_t file, const std::vector<double>& values) {
  RGFLOW_H5(H5Ldelete(file, "/model/parameters", H5P_DEFAULT));
  h5::Hid space = h5::simple_space({static_cast<hsize_t>(values.size())});
  h5::Hid dataset = h5::dataset_id(H5Dcreate2(file, "/model/parameters", H5T_IEEE_F64LE,
                                              space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  RGFLOW_H5(
      H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
}

// Sets parameter `index` of the stored (float64) parameters to `value`.
void set_parameter(hid_t file, size_t index, double value) {
  h5::Hid dataset = h5::dataset_id(H5Dopen2(file, "/model/parameters", H5P_DEFAULT));
  h5::Hid space = h5::dataspace_id(H5Dget_space(dataset.get()));
  std::vector<double> values(static_cast<size_t>(H5Sget_simple_extent_npoints(space.get())));
  RGFLOW_H5(
      H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
  values.at(index) = value;
  RGFLOW_H5(
      H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
}

TEST(ModelFile, RefusesAFileWithoutAModelGroup) {
  expect_refusal<double>([](hid_t f) { RGFLOW_H5(H5Ldelete(f, "/model", H5P_DEFAULT)); },
                         "no /model group");
  expect_refusal<double>(
      [](hid_t f) {
        RGFLOW_H5(H5Lmove(f, "/model", f, "/elsewhere", H5P_DEFAULT, H5P_DEFAULT));
        RGFLOW_H5(H5Lmove(f, "/elsewhere/parameters", f, "/model", H5P_DEFAULT, H5P_DEFAULT));
      },
      "/model is not a group");
}

TEST(ModelFile, RefusesAnotherFormatOrSchemaVersion) {
  expect_refusal<double>([](hid_t f) { set_text(f, "model_format", "something else"); },
                         "not an rgflow model (model_format is 'something else'");
  expect_refusal<double>([](hid_t f) { set_int(f, "model_schema_version", 2); },
                         "model schema version 2");
}

TEST(ModelFile, RefusesUnknownAttributeValues) {
  expect_refusal<double>([](hid_t f) { set_text(f, "activation", "foo"); },
                         "unknown activation 'foo'");
  expect_refusal<double>([](hid_t f) { set_text(f, "tying", "everything"); },
                         "unknown tying 'everything'");
  expect_refusal<double>([](hid_t f) { set_text(f, "kind", "cnn\nx"); }, "unknown kind 'cnn x'");
  expect_refusal<double>([](hid_t f) { set_int(f, "bias", 2); }, "'bias' is 2, not 0 or 1");
  expect_refusal<double>([](hid_t f) { set_text(f, "hidden", "3,x"); }, "'hidden' is '3,x'");
  expect_refusal<double>([](hid_t f) { set_text(f, "scalar", "bfloat16"); },
                         "unknown scalar 'bfloat16'");
  expect_refusal<double>([](hid_t f) { set_text(f, "block_side", "2"); },
                         "'block_side' is not an integer");
  expect_refusal<double>(
      [](hid_t f) {
        h5::Hid group = h5::group_id(H5Gopen2(f, "/model", H5P_DEFAULT));
        RGFLOW_H5(H5Adelete(group.get(), "strategy"));
      },
      "no attribute 'strategy'");
}

TEST(ModelFile, RefusesASpecThatDoesNotValidate) {
  expect_refusal<double>(
      [](hid_t f) {
        set_text(f, "kind", "gnn");
        set_text(f, "tying", "inputs");
      },
      "applies to mlp only");
  expect_refusal<double>([](hid_t f) { set_int(f, "block_side", 1); }, "block side");
  expect_refusal<double>([](hid_t f) { set_text(f, "hidden", "100000,100000,100000"); },
                         "too large");
}

TEST(ModelFile, RefusesAParameterCountMismatch) {
  // The architecture of hidden {4} has 4 * 4 + 4 + 4 + 1 = 25 parameters, the file 19.
  expect_refusal<double>([](hid_t f) { set_text(f, "hidden", "4"); },
                         "parameter_count is 19 but the architecture");
  expect_refusal<double>(
      [](hid_t f) {
        set_text(f, "hidden", "4");
        set_int(f, "parameter_count", 25);
      },
      "/model/parameters holds 19 values");
  expect_refusal<double>([](hid_t f) { replace_parameters(f, std::vector<double>(20, 0.5)); },
                         "/model/parameters holds 20 values");
}

TEST(ModelFile, RefusesNonFiniteParameters) {
  expect_refusal<double>([](hid_t f) { set_parameter(f, 2, std::nan("")); },
                         "parameter 2 of /model/parameters is not finite");
  expect_refusal<double>(
      [](hid_t f) { set_parameter(f, 18, -std::numeric_limits<double>::infinity()); },
      "parameter 18 of /model/parameters is not finite");
}

TEST(ModelFile, RefusesAnotherScalarType) {
  expect_refusal<float, double>([](hid_t) {}, "holds a float32 model; a float64 model is needed");
  expect_refusal<double, float>([](hid_t) {}, "holds a float64 model; a float32 model is needed");
  // The attribute and the stored type must agree: float64 values behind scalar = float32.
  expect_refusal<float>([](hid_t f) { replace_parameters(f, std::vector<double>(19, 0.5)); },
                        "/model/parameters is not stored as float32");
}

TEST(ModelFile, ConvertWidensAFloatModelExactly) {
  nn::ModelSpec spec;
  spec.hidden = {6, 2};
  nn::Network<float> net(spec);
  perturb(net);
  TemporaryFile temporary("model_widen");
  h5::Hid file = written_model(net, temporary.path());
  const nn::Network<double> wide = read_model<double>(file.get(), temporary.path(), true);
  ASSERT_EQ(wide.parameter_count(), net.parameter_count());
  for (Eigen::Index i = 0; i < net.parameter_count(); ++i) {
    EXPECT_EQ(static_cast<float>(wide.parameters()[i]), net.parameters()[i]) << i;
    EXPECT_EQ(wide.parameters()[i], static_cast<double>(net.parameters()[i])) << i;
  }
}

// The whole model file as analyze reads it: network, provenance and /history; each malformed
// object refused with one line naming the file and the object.
TEST(ModelFile, TrainedModelReadsProvenanceAndHistoryAndRefusesMalformedObjects) {
  nn::ModelSpec spec;
  spec.hidden = {3, 2};
  nn::Network<float> net(spec);
  perturb(net);
  TemporaryFile temporary("model_trained");
  auto write = [&](const std::function<void(hid_t)>& damage) {
    h5::Hid file = create_file(temporary.path());
    write_model(file.get(), net);
    const hid_t f = file.get();
    h5::write_attribute(f, "dataset_path", std::string("data/uniform.h5"));
    h5::write_attribute(f, "training_samples", int64_t{90});
    h5::write_attribute(f, "validation_samples", int64_t{10});
    h5::write_attribute(f, "level_input", int64_t{2});
    h5::write_attribute(f, "level_target", int64_t{3});
    h5::Hid history =
        h5::group_id(H5Gcreate2(f, "/history", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    const std::vector<double> epochs{1, 2, 3}, order{0.5, 0.25, 0.4, 0.2, 0.3, 0.1};
    {
      h5::Hid space = h5::simple_space({3});
      h5::Hid d = h5::dataset_id(H5Dcreate2(f, "/history/epoch", H5T_IEEE_F64LE, space.get(),
                                            H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
      RGFLOW_H5(H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, epochs.data()));
    }
    {
      h5::Hid space = h5::simple_space({3, 2});
      h5::Hid d = h5::dataset_id(H5Dcreate2(f, "/history/order_parameter", H5T_IEEE_F32LE,
                                            space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
      RGFLOW_H5(H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, order.data()));
    }
    if (damage) damage(f);
    file.close();
  };
  write(nullptr);
  const TrainedModel model = read_trained_model(temporary.path());
  EXPECT_EQ(model.scalar, "float32");
  EXPECT_TRUE(model.has_provenance);
  EXPECT_EQ(model.dataset_path, "data/uniform.h5");
  EXPECT_EQ(model.training_samples, 90);
  EXPECT_EQ(model.validation_samples, 10);
  EXPECT_EQ(model.level_input, 2);
  EXPECT_EQ(model.level_target, 3);
  EXPECT_EQ(model.history.epoch, (std::vector<double>{1, 2, 3}));
  // Stored as float32: read back as the float32 values, widened exactly, one row per record.
  std::vector<double> stored;
  for (double v : {0.5, 0.25, 0.4, 0.2, 0.3, 0.1}) stored.push_back(static_cast<float>(v));
  ASSERT_EQ(model.history.order_parameter.size(), 3u);
  EXPECT_EQ(model.history.order_parameter[1], (std::vector<double>{stored[2], stored[3]}));
  EXPECT_EQ(model.history.order_parameter_table(), stored);
  // What analysis does not need is not read; a resume needs all of it.
  EXPECT_TRUE(model.history.step.empty());
  try {
    TrainingFileReader(temporary.path(), " to resume")
        .read<float>(ModelFileNeeds::resumption({net.parameter_count(), 0, 0}));
    ADD_FAILURE() << "a file without /checkpoint was read for a resume";
  } catch (const UsageError& error) {
    EXPECT_EQ(std::string(error.what()),
              "'" + temporary.path() + "' is a malformed rgflow model: /checkpoint is missing");
  }
  for (Eigen::Index i = 0; i < net.parameter_count(); ++i) {
    EXPECT_EQ(model.network.parameters()[i], static_cast<double>(net.parameters()[i]));
  }
  const std::vector<std::pair<std::function<void(hid_t)>, std::string>> cases{
      {[](hid_t f) { RGFLOW_H5(H5Adelete(f, "level_target")); },
       "root attribute 'level_target' is missing"},
      {[](hid_t f) {
         RGFLOW_H5(H5Adelete(f, "level_input"));
         h5::write_attribute(f, "level_input", std::string("two"));
       },
       "root attribute 'level_input' is not an integer"},
      {[](hid_t f) {
         RGFLOW_H5(H5Adelete(f, "level_target"));
         h5::write_attribute(f, "level_target", int64_t{5});
       },
       "level_input 2, level_target 5"},
      {[](hid_t f) {
         RGFLOW_H5(H5Ldelete(f, "/history/epoch", H5P_DEFAULT));
         h5::Hid g =
             h5::group_id(H5Gcreate2(f, "/history/epoch", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
       },
       "/history/epoch is a group, not a dataset"},
      {[](hid_t f) {
         RGFLOW_H5(H5Ldelete(f, "/history/epoch", H5P_DEFAULT));
         h5::Hid space = h5::simple_space({3});
         h5::Hid d = h5::dataset_id(H5Dcreate2(f, "/history/epoch", H5T_STD_I32LE, space.get(),
                                               H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
       },
       "/history/epoch holds integers, not floating-point numbers"},
      {[](hid_t f) {
         RGFLOW_H5(H5Ldelete(f, "/history/epoch", H5P_DEFAULT));
         h5::Hid space = h5::simple_space({2});
         h5::Hid d = h5::dataset_id(H5Dcreate2(f, "/history/epoch", H5T_IEEE_F64LE, space.get(),
                                               H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
       },
       "/history/order_parameter is 3 x 2, not 2 records (/history/epoch) x 2 hidden layers"},
  };
  for (const auto& [damage, expected] : cases) {
    write(damage);
    try {
      read_trained_model(temporary.path());
      ADD_FAILURE() << "accepted: " << expected;
    } catch (const UsageError& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find(expected), std::string::npos) << message;
      EXPECT_NE(message.find(temporary.path()), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
  try {
    read_trained_model(temporary.path() + ".missing");
    ADD_FAILURE() << "a missing file was accepted";
  } catch (const UsageError& error) {
    EXPECT_NE(std::string(error.what()).find("does not exist"), std::string::npos);
  }
}

}  // namespace
}  // namespace rgflow::io
