// The readers' checks of what an HDF5 file holds: h5::open_numeric_dataset and
// h5::read_numeric_dataset, the attribute readers, and io::DatasetReader on the damaged datasets
// of the issue reports (levels = 64, a field that is a group, strings or int32, NaN and Inf, an
// attribute that is an array, a truncated file). Every refusal is a UsageError of one line naming
// the file and the object. Each rank works on files of its own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/core/mpi.hpp"
#include "rgflow/io/checksum.hpp"
#include "rgflow/io/dataset.hpp"

namespace rgflow {
namespace {

std::string own_path(const std::string& stem) {
  return "/tmp/rgflow_checks_" + stem + "_" + std::to_string(Comm().rank()) + "_" +
         std::to_string(getpid()) + ".h5";
}

// The UsageError message of `action`, or a marker that says what happened instead.
template <typename Action>
std::string refusal(Action&& action) {
  try {
    action();
  } catch (const UsageError& error) {
    const std::string message = error.what();
    return message.find('\n') == std::string::npos ? message : "several lines: " + message;
  } catch (const std::exception& error) {
    return std::string("not a UsageError: ") + error.what();
  }
  return "accepted";
}

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' lacks '" << part << "'";
}

// A dataset file of d = 2, L = 8, b = 2, 2 levels, 3 samples, float32, with site value
// 0.5 * (sample + 1) everywhere.
class DatasetChecks : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = own_path(::testing::UnitTest::GetInstance()->current_test_info()->name());
    const Comm self(MPI_COMM_SELF);
    io::DatasetSpec spec;
    spec.geometry = {2, 8, 2, 2};
    spec.samples = 3;
    spec.distribution.kind = field::DistributionKind::kUniform;
    io::DatasetWriter writer = io::DatasetWriter::create(self, path_, spec, false);
    std::vector<uint64_t> checksums;
    for (int level = 0; level <= 2; ++level) {
      const lattice::Box box = lattice::full_box(2, spec.geometry.level_side(level));
      std::vector<float> values(static_cast<size_t>(3 * box.size()));
      for (size_t i = 0; i < values.size(); ++i) {
        values[i] = 0.5f * static_cast<float>(1 + i / static_cast<size_t>(box.size()));
      }
      writer.write(level, 0, 3, box, values.data());
      for (int64_t s = 0; s < 3; ++s) {
        checksums.push_back(io::box_checksum(values.data() + s * box.size(), box,
                                             spec.geometry.level_side(level),
                                             io::checksum_key(level, s)));
      }
    }
    writer.mark_complete(self, 0, 3, checksums);
    writer.finish();
  }
  void TearDown() override { std::remove(path_.c_str()); }

  h5::Hid open_writable() const {
    return h5::file_id(H5Fopen(path_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  }
  // Replaces /level_<level>/field by a dataset of `type` of the level's shape.
  void replace_field(int level, hid_t type) const {
    h5::Hid file = open_writable();
    const std::string field = "/level_" + std::to_string(level) + "/field";
    const hsize_t side = 8 >> level;
    RGFLOW_H5(H5Ldelete(file.get(), field.c_str(), H5P_DEFAULT));
    h5::Hid space = h5::simple_space({3, side, side});
    h5::dataset_id(H5Dcreate2(file.get(), field.c_str(), type, space.get(), H5P_DEFAULT,
                              H5P_DEFAULT, H5P_DEFAULT));
  }
  void write_value(int level, hsize_t sample, hsize_t row, hsize_t column, double value) const {
    h5::Hid file = open_writable();
    const std::string field = "/level_" + std::to_string(level) + "/field";
    h5::Hid dataset = h5::dataset_id(H5Dopen2(file.get(), field.c_str(), H5P_DEFAULT));
    h5::Hid space = h5::dataspace_id(H5Dget_space(dataset.get()));
    const hsize_t start[3] = {sample, row, column}, count[3] = {1, 1, 1};
    RGFLOW_H5(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr));
    h5::Hid memory = h5::simple_space({1, 1, 1});
    RGFLOW_H5(
        H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, memory.get(), space.get(), H5P_DEFAULT, &value));
  }
  std::string open_refusal() const {
    return refusal([&] { io::DatasetReader reader(path_); });
  }

  std::string path_;
};

TEST_F(DatasetChecks, TheValidFileReadsBack) {
  const io::DatasetReader reader(path_);
  const std::vector<double> level1 = reader.read(1, 1, 2);
  ASSERT_EQ(level1.size(), 2u * 16u);
  EXPECT_EQ(level1.front(), 1.0);
  EXPECT_EQ(level1.back(), 1.5);
}

TEST_F(DatasetChecks, LevelsWhosePowerOverflowsAreRefused) {
  const std::string prefix = "'" + path_ + "' is a malformed rgflow dataset: ";
  h5::write_attribute(open_writable().get(), "levels", int64_t{64});
  EXPECT_EQ(open_refusal(), prefix + "attribute levels is 64, outside 0..62");
  h5::write_attribute(open_writable().get(), "levels", int64_t{4});
  EXPECT_EQ(open_refusal(), prefix + "b^levels = 2^4 exceeds L = 8");
  h5::write_attribute(open_writable().get(), "levels", int64_t{2});
  h5::write_attribute(open_writable().get(), "b", int64_t{1} << 62);
  EXPECT_EQ(open_refusal(), prefix + "b^levels = 4611686018427387904^2 exceeds L = 8");
}

TEST_F(DatasetChecks, SidesAndSampleCountsThatOverflowAreRefused) {
  h5::write_attribute(open_writable().get(), "levels", int64_t{0});
  h5::write_attribute(open_writable().get(), "L", int64_t{1} << 40);
  EXPECT_TRUE(contains(open_refusal(), "n_samples x L^d = 3 x 1099511627776^2 is too large"));
  h5::write_attribute(open_writable().get(), "L", int64_t{8});
  h5::write_attribute(open_writable().get(), "n_samples", INT64_MAX);
  EXPECT_TRUE(contains(open_refusal(), "is too large"));
  h5::write_attribute(open_writable().get(), "n_samples", int64_t{-3});
  EXPECT_TRUE(contains(open_refusal(), "attribute n_samples is -3, outside 1.."));
}

TEST_F(DatasetChecks, AFieldThatIsAGroupIsRefused) {
  {
    h5::Hid file = open_writable();
    RGFLOW_H5(H5Ldelete(file.get(), "/level_0/field", H5P_DEFAULT));
    h5::group_id(H5Gcreate2(file.get(), "/level_0/field", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  }
  EXPECT_EQ(
      open_refusal(),
      "'" + path_ + "' is a malformed rgflow dataset: /level_0/field is a group, not a dataset");
}

TEST_F(DatasetChecks, ALevelGroupThatIsADatasetIsRefused) {
  {
    h5::Hid file = open_writable();
    RGFLOW_H5(H5Ldelete(file.get(), "/level_1", H5P_DEFAULT));
    h5::Hid space = h5::simple_space({2});
    h5::dataset_id(H5Dcreate2(file.get(), "/level_1", H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                              H5P_DEFAULT, H5P_DEFAULT));
  }
  EXPECT_EQ(open_refusal(),
            "'" + path_ + "' is a malformed rgflow dataset: /level_1/field is missing");
}

TEST_F(DatasetChecks, AFieldOfStringsIsRefused) {
  h5::Hid type = h5::datatype_id(H5Tcopy(H5T_C_S1));
  RGFLOW_H5(H5Tset_size(type.get(), 4));
  replace_field(0, type.get());
  EXPECT_EQ(open_refusal(), "'" + path_ +
                                "' is a malformed rgflow dataset: /level_0/field holds strings, "
                                "not floating-point numbers");
}

TEST_F(DatasetChecks, AFieldOfInt32IsRefused) {
  replace_field(2, H5T_STD_I32LE);
  EXPECT_EQ(open_refusal(), "'" + path_ +
                                "' is a malformed rgflow dataset: /level_2/field holds integers, "
                                "not floating-point numbers");
}

TEST_F(DatasetChecks, AFieldOfAnotherWidthIsRefused) {
  replace_field(1, H5T_IEEE_F64LE);
  EXPECT_EQ(open_refusal(), "'" + path_ +
                                "' is a malformed rgflow dataset: /level_1/field holds 64-bit "
                                "floats, but attribute dtype is float32");
}

TEST_F(DatasetChecks, NaNAndInfAreRefusedNamingLevelSampleAndSite) {
  write_value(1, 2, 1, 3, std::nan(""));  // site 1 * 4 + 3 = 7 of sample 2
  write_value(0, 1, 0, 0, -INFINITY);
  const io::DatasetReader reader(path_);
  EXPECT_EQ(refusal([&] { reader.read(1, 0, 3); }),
            "dataset '" + path_ + "' holds a non-finite value (NaN) at level 1, sample 2, site 7");
  std::vector<float> floats;
  EXPECT_EQ(refusal([&] { reader.read_stored_floats(1, 2, 1, floats); }),
            "dataset '" + path_ + "' holds a non-finite value (NaN) at level 1, sample 2, site 7");
  EXPECT_EQ(refusal([&] { reader.read(0, 0, 3); }),
            "dataset '" + path_ + "' holds a non-finite value (Inf) at level 0, sample 1, site 0");
  // A box read names the site in the whole level: (1, 3) of side 4 is site 7.
  lattice::Box box;
  box.dim = 2;
  box.begin = {1, 2, 0};
  box.extent = {1, 2, 1};
  EXPECT_EQ(refusal([&] { reader.read_box_stored_floats(1, 2, box, floats); }),
            "dataset '" + path_ + "' holds a non-finite value (NaN) at level 1, sample 2, site 7");
  std::vector<double> doubles;
  box.extent = {1, 1, 1};  // (1, 2): finite
  reader.read_box(1, 2, box, doubles);
  EXPECT_EQ(doubles.size(), 1u);
  // Samples without the bad values read as usual.
  EXPECT_EQ(reader.read(1, 0, 2).size(), 32u);
  EXPECT_EQ(reader.read(0, 2, 1).size(), 64u);
}

TEST_F(DatasetChecks, AttributesThatAreArraysOrOfAnotherTypeAreRefused) {
  {
    h5::Hid file = open_writable();
    RGFLOW_H5(H5Adelete(file.get(), "L"));
    const hsize_t three = 3;
    h5::Hid space = h5::dataspace_id(H5Screate_simple(1, &three, nullptr));
    h5::Hid attribute = h5::attribute_id(
        H5Acreate2(file.get(), "L", H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT));
    const int64_t values[3] = {8, 8, 8};
    RGFLOW_H5(H5Awrite(attribute.get(), H5T_NATIVE_INT64, values));
  }
  EXPECT_EQ(open_refusal(), "'" + path_ +
                                "' is a malformed rgflow dataset: HDF5 attribute 'L' holds 3 "
                                "values, not one");
  h5::write_attribute(open_writable().get(), "L", 8.0);
  EXPECT_EQ(open_refusal(), "'" + path_ +
                                "' is a malformed rgflow dataset: HDF5 attribute 'L' holds "
                                "floating-point numbers, not an integer");
  h5::write_attribute(open_writable().get(), "L", int64_t{8});
  h5::write_attribute(open_writable().get(), "dtype", std::string("float16"));
  EXPECT_EQ(open_refusal(), "'" + path_ +
                                "' is a malformed rgflow dataset: dtype is 'float16', not float32 "
                                "or float64");
}

TEST_F(DatasetChecks, ATruncatedFileIsAUsageError) {
  FILE* file = std::fopen(path_.c_str(), "r+");
  ASSERT_NE(file, nullptr);
  std::fseek(file, 0, SEEK_END);
  const long size = std::ftell(file);
  std::fclose(file);
  for (const long keep : {size / 2, size - 1, 200L}) {
    ASSERT_EQ(truncate(path_.c_str(), keep), 0);
    const std::string message = refusal([&] {
      const io::DatasetReader reader(path_);
      for (int level = 0; level <= 2; ++level) reader.read(level, 0, 3);
    });
    EXPECT_TRUE(contains(message, "'" + path_ + "'")) << message;
    EXPECT_NE(message, "accepted");
    EXPECT_EQ(message.find("not a UsageError"), std::string::npos) << message;
  }
}

class NumericDatasetChecks : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = own_path(::testing::UnitTest::GetInstance()->current_test_info()->name());
    file_ = h5::file_id(H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    h5::Hid group =
        h5::group_id(H5Gcreate2(file_.get(), "/history", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    h5::Hid space = h5::simple_space({2, 3});
    h5::Hid dataset =
        h5::dataset_id(H5Dcreate2(file_.get(), "/history/counts", H5T_STD_I32BE, space.get(),
                                  H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    const int32_t values[6] = {1, -2, 3, 4, 5, 1 << 30};
    RGFLOW_H5(H5Dwrite(dataset.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, values));
  }
  void TearDown() override {
    file_.close();
    std::remove(path_.c_str());
  }
  std::string path_;
  h5::Hid file_;
};

TEST_F(NumericDatasetChecks, ReadsCheckedValuesExactly) {
  std::vector<hsize_t> shape;
  const std::vector<double> values = h5::read_numeric_dataset(
      file_.get(), "/history/counts", h5::NumberClass::kInteger, 2, 6, &shape);
  EXPECT_EQ(shape, (std::vector<hsize_t>{2, 3}));
  EXPECT_EQ(values, (std::vector<double>{1, -2, 3, 4, 5, 1 << 30}));
  const h5::NumericDataset open =
      h5::open_numeric_dataset(file_.get(), "/history/counts", h5::NumberClass::kInteger, -1);
  EXPECT_EQ(open.value_bytes, 4u);
}

TEST_F(NumericDatasetChecks, RefusesWhatIsNotTheNumbersAsked) {
  const hid_t f = file_.get();
  using h5::NumberClass;
  EXPECT_EQ(
      refusal([&] { h5::open_numeric_dataset(f, "/history/counts", NumberClass::kFloat, 2); }),
      "/history/counts holds integers, not floating-point numbers");
  EXPECT_EQ(
      refusal([&] { h5::open_numeric_dataset(f, "/history/counts", NumberClass::kInteger, 1); }),
      "/history/counts has 2 dimension(s), not 1");
  EXPECT_EQ(
      refusal([&] { h5::read_numeric_dataset(f, "/history/counts", NumberClass::kInteger, 2, 5); }),
      "/history/counts holds 6 values, more than the 5 expected");
  EXPECT_EQ(refusal([&] { h5::open_numeric_dataset(f, "/history", NumberClass::kFloat, 1); }),
            "/history is a group, not a dataset");
  EXPECT_EQ(refusal([&] { h5::open_numeric_dataset(f, "/history/loss", NumberClass::kFloat, 1); }),
            "/history/loss is missing");
  EXPECT_EQ(
      refusal([&] { h5::open_numeric_dataset(f, "/history/counts/x", NumberClass::kFloat, 1); }),
      "/history/counts/x is missing");
  EXPECT_EQ(refusal([&] { h5::open_numeric_dataset(f, "/nothing/x", NumberClass::kFloat, 1); }),
            "/nothing/x is missing");
  RGFLOW_H5(H5Lcreate_soft("/gone", f, "/history/dangling", H5P_DEFAULT, H5P_DEFAULT));
  EXPECT_EQ(
      refusal([&] { h5::open_numeric_dataset(f, "/history/dangling", NumberClass::kFloat, 1); }),
      "/history/dangling is missing");
  EXPECT_EQ(h5::object_kind(f, "/history/counts"), "a dataset");
  EXPECT_EQ(h5::object_kind(f, "history"), "a group");
}

}  // namespace
}  // namespace rgflow
