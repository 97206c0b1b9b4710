// results.h5's spin observables written by the io layer and read back with the HDF5 C API: the
// tables hold the flow's numbers, every axis is attached to the named dimensions `level` and
// `observable`, whose coordinate values are the levels and the observables' names. Each rank
// writes and reads its own file (serial HDF5).
#include <gtest/gtest.h>
#include <hdf5.h>
#include <hdf5_hl.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "rgflow/core/hdf5.hpp"
#include "rgflow/io/results_file.hpp"
#include "temporary_file.hpp"

namespace rgflow::io {
namespace {

using testing::TemporaryFile;

// The name of the dimension scale attached to axis `axis` of `path`.
std::string dimension_name(hid_t file, const std::string& path, unsigned axis) {
  h5::Hid dataset = h5::dataset_id(H5Dopen2(file, path.c_str(), H5P_DEFAULT));
  std::string name;
  auto visit = [](hid_t, unsigned, hid_t scale, void* out) -> herr_t {
    char buffer[64] = {0};
    if (H5DSget_scale_name(scale, buffer, sizeof buffer) < 0) return -1;
    *static_cast<std::string*>(out) = buffer;
    return 1;
  };
  RGFLOW_H5(H5DSiterate_scales(dataset.get(), axis, nullptr, visit, &name));
  return name;
}

TEST(ResultsFile, SpinObservablesReadBackWithNamedDimensions) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  analysis::SpinObservableFlow flow;
  flow.sites = {64, 16};
  for (int level = 0; level < 2; ++level) {
    flow.estimates.emplace_back();
    flow.exact.emplace_back();
    flow.z_exact.emplace_back();
    for (int o = 0; o < analysis::kSpinObservables; ++o) {
      flow.estimates.back().push_back({level + 0.125 * o, 0.01 * (o + 1)});
      flow.exact.back().push_back(level == 0 && o == 6 ? -1.5 : nan);
      flow.z_exact.back().push_back(level == 0 && o == 6 ? 3.25 : nan);
    }
  }
  TemporaryFile temporary("results_spin");
  {
    h5::Hid file =
        h5::file_id(H5Fcreate(temporary.path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    h5::Hid model =
        h5::group_id(H5Gcreate2(file.get(), "/flow_model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    write_spin_observables(file.get(), flow, 0, "the data");
    write_spin_observables(model.get(), flow, 3, "a learned flow");
    file.close();
  }
  h5::Hid file = h5::open_read_only(temporary.path());
  std::vector<hsize_t> shape;
  const auto value = h5::read_numeric_dataset(file.get(), "/spin_observables/value",
                                              h5::NumberClass::kFloat, 2, 100, &shape);
  ASSERT_EQ(shape, (std::vector<hsize_t>{2, 7}));
  EXPECT_EQ(value[7 + 4], 1.5);  // level 1, binder
  const auto error = h5::read_numeric_dataset(file.get(), "/spin_observables/error",
                                              h5::NumberClass::kFloat, 2, 100);
  EXPECT_EQ(error[3], 0.04);
  const auto z = h5::read_numeric_dataset(file.get(), "/spin_observables/z_exact",
                                          h5::NumberClass::kFloat, 2, 100);
  EXPECT_EQ(z[6], 3.25);
  EXPECT_TRUE(std::isnan(z[5]));
  const auto sites = h5::read_numeric_dataset(file.get(), "/spin_observables/sites",
                                              h5::NumberClass::kInteger, 1, 100);
  EXPECT_EQ(sites, (std::vector<double>{64, 16}));
  EXPECT_EQ(dimension_name(file.get(), "/spin_observables/exact", 0), "level");
  EXPECT_EQ(dimension_name(file.get(), "/spin_observables/exact", 1), "observable");
  EXPECT_EQ(dimension_name(file.get(), "/spin_observables/sites", 0), "level");
  const auto levels = h5::read_numeric_dataset(file.get(), "/flow_model/spin_observables/level",
                                               h5::NumberClass::kInteger, 1, 100);
  EXPECT_EQ(levels, (std::vector<double>{3, 4}));
  EXPECT_EQ(
      h5::read_string_attribute(
          h5::group_id(H5Gopen2(file.get(), "/flow_model/spin_observables", H5P_DEFAULT)).get(),
          "description"),
      "a learned flow");
}

}  // namespace
}  // namespace rgflow::io
