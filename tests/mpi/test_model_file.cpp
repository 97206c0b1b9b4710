// model.h5's /model group: bit-exact round trips, weights readable without rgflow, clean
// refusals of malformed files. Each rank works on files of its own (serial HDF5).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>

#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/core/mpi.hpp"
#include "rgflow/io/model_file.hpp"

namespace rgflow::io {
namespace {

std::string own_path(const std::string& stem) {
  return "/tmp/rgflow_model_" + stem + "_" + std::to_string(Comm().rank()) + "_" +
         std::to_string(getpid()) + ".h5";
}

h5::Hid create(const std::string& path) {
  return h5::file_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
}
h5::Hid open_read(const std::string& path) {
  return h5::file_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
}

template <typename Scalar>
void check_round_trip(const nn::ModelSpec& spec) {
  nn::Network<Scalar> net(spec);
  for (Eigen::Index i = 0; i < net.parameter_count(); ++i) {
    net.parameters()[i] += Scalar(0.01 * std::sin(3.0 * i));  // not the seeded initial values
  }
  const std::string path = own_path("round");
  {
    h5::Hid file = create(path);
    write_model(file.get(), net);
  }
  h5::Hid file = open_read(path);
  const nn::Network<Scalar> back = read_model<Scalar>(file.get(), path);
  ASSERT_EQ(back.parameter_count(), net.parameter_count());
  EXPECT_EQ(std::memcmp(back.parameters(), net.parameters(),
                        sizeof(Scalar) * static_cast<size_t>(net.parameter_count())),
            0);
  EXPECT_EQ(back.spec().hidden, spec.hidden);
  EXPECT_EQ(back.spec().tying, spec.tying);
  EXPECT_EQ(back.spec().activation, spec.activation);
  EXPECT_EQ(back.spec().strategy, spec.strategy);
  EXPECT_EQ(back.spec().tie_self_neighbour, spec.tie_self_neighbour);
  nn::Matrix<Scalar> x = nn::Matrix<Scalar>::Random(net.inputs(), 5);
  typename nn::Network<Scalar>::Tape a, b;
  net.forward(x, a);
  back.forward(x, b);
  EXPECT_EQ(a.output, b.output);
  // The effective weights as plain HDF5 sees them: row-major outputs x inputs.
  const nn::Matrix<Scalar> w = net.weight(0);
  h5::Hid dataset = h5::dataset_id(H5Dopen2(file.get(), "/model/layer_0/weight", H5P_DEFAULT));
  std::vector<double> stored(static_cast<size_t>(w.size()));
  RGFLOW_H5(
      H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, stored.data()));
  for (Eigen::Index r = 0; r < w.rows(); ++r) {
    for (Eigen::Index c = 0; c < w.cols(); ++c) {
      EXPECT_EQ(stored[static_cast<size_t>(r * w.cols() + c)], double(w(r, c)));
    }
  }
  std::remove(path.c_str());
}

TEST(ModelFile, RoundTripsAreBitExact) {
  nn::ModelSpec mlp;
  mlp.hidden = {7, 5};
  check_round_trip<double>(mlp);
  mlp.tying = nn::Tying::kOrbits;
  mlp.block = {2, 3};
  mlp.activation = nn::Activation::kGelu;
  mlp.strategy = nn::Strategy::kAverage;
  check_round_trip<float>(mlp);
  nn::ModelSpec gnn;
  gnn.kind = nn::ModelKind::kGnn;
  gnn.hidden = {4, 4};
  gnn.tying = nn::Tying::kSymmetric;
  gnn.tie_self_neighbour = true;
  gnn.mean_pooling = true;
  check_round_trip<float>(gnn);
  check_round_trip<double>(gnn);
}

// Writes a valid model, lets `damage` change the file, and expects a UsageError mentioning
// `expected` when reading it as double.
void expect_refusal(const std::function<void(hid_t)>& damage, const std::string& expected,
                    bool as_float = false) {
  const std::string path = own_path("bad");
  {
    h5::Hid file = create(path);
    nn::ModelSpec spec;
    spec.hidden = {3};
    write_model(file.get(), nn::Network<double>(spec));
    damage(file.get());
  }
  h5::Hid file = open_read(path);
  try {
    if (as_float) {
      read_model<float>(file.get(), path);
    } else {
      read_model<double>(file.get(), path);
    }
    ADD_FAILURE() << "no error for: " << expected;
  } catch (const UsageError& error) {
    EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
  }
  std::remove(path.c_str());
}

TEST(ModelFile, MalformedFilesAreRefusedWithAReason) {
  expect_refusal([](hid_t f) { RGFLOW_H5(H5Ldelete(f, "/model", H5P_DEFAULT)); }, "no /model");
  expect_refusal(
      [](hid_t f) {
        h5::Hid g = h5::group_id(H5Gopen2(f, "/model", H5P_DEFAULT));
        h5::write_attribute(g.get(), "model_format", std::string("something else"));
      },
      "not an rgflow model");
  expect_refusal(
      [](hid_t f) {
        h5::Hid g = h5::group_id(H5Gopen2(f, "/model", H5P_DEFAULT));
        h5::write_attribute(g.get(), "activation", std::string("foo"));
      },
      "unknown activation 'foo'");
  expect_refusal(
      [](hid_t f) {
        h5::Hid g = h5::group_id(H5Gopen2(f, "/model", H5P_DEFAULT));
        h5::write_attribute(g.get(), "hidden", std::string("3,2"));
      },
      "parameters");
  expect_refusal(
      [](hid_t f) {
        h5::Hid d = h5::dataset_id(H5Dopen2(f, "/model/parameters", H5P_DEFAULT));
        std::vector<double> values(static_cast<size_t>(4 * 3 + 3 + 3 + 1), 0.5);
        values[2] = NAN;
        RGFLOW_H5(
            H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
      },
      "not finite");
  expect_refusal([](hid_t) {}, "float64 model", true);
}

}  // namespace
}  // namespace rgflow::io
