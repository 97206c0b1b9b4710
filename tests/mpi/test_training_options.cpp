// The training options model.h5 stores (/options): written, read back and compared field by
// field, on every rank with its own file (serial HDF5).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/core/mpi.hpp"
#include "rgflow/train/options.hpp"

namespace rgflow::train {
namespace {

class TemporaryFile {
 public:
  TemporaryFile()
      : path_("/tmp/rgflow_options_" + std::to_string(Comm().rank()) + "_" +
              std::to_string(getpid()) + ".h5") {}
  ~TemporaryFile() { std::remove(path_.c_str()); }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const DataIdentity kData{7, "uniform", 16, 24};

// A model file's options and data identity, as checkpoint.cpp writes them.
void write_file(const std::string& path, const TrainingOptions& options, const DataIdentity& data) {
  h5::Hid file = h5::file_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  write_training_options(file.get(), options);
  h5::write_attribute(file.get(), "dataset_seed", static_cast<int64_t>(data.seed));
  h5::write_attribute(file.get(), "dataset_distribution", data.distribution);
  h5::write_attribute(file.get(), "dataset_L", data.side);
  h5::write_attribute(file.get(), "dataset_samples", data.samples);
  file.close();
}

TrainingOptions some_options() {
  TrainingOptions options;
  options.level = 1;
  options.model.hidden = {8, 3};
  options.settings.schedule.base = 0.003;
  options.settings.penalty.sign = 0.1;
  options.tuning.types = {"sign", "scale"};
  options.tuning.grid = {0, 0.001, 0.1};
  return options;
}

TEST(TrainingOptions, ReadBackEqualAndEveryFieldStored) {
  TemporaryFile temporary;
  const TrainingOptions options = some_options();
  write_file(temporary.path(), options, kData);
  EXPECT_EQ(difference_from_file(temporary.path(), options, kData), "");
  const h5::Hid file = h5::open_read_only(temporary.path());
  const StoredTraining stored = read_training_options(file.get(), temporary.path());
  EXPECT_EQ(stored.options.size(), options.fields().size());
  EXPECT_EQ(stored.data.seed, 7u);
  EXPECT_EQ(stored.data.distribution, "uniform");
  h5::Hid options_group = h5::group_id(H5Gopen2(file.get(), "/options", H5P_DEFAULT));
  EXPECT_EQ(h5::read_double_attribute(options_group.get(), "lr"), 0.003);
  EXPECT_EQ(h5::read_string_attribute(options_group.get(), "hidden"), "8,3");
  EXPECT_EQ(h5::read_string_attribute(options_group.get(), "tune_penalties"), "sign,scale");
  EXPECT_EQ(h5::read_string_attribute(options_group.get(), "tune_grid"), "0,0.001,0.1");
}

TEST(TrainingOptions, TheFirstDifferingFieldIsNamed) {
  TemporaryFile temporary;
  const TrainingOptions stored = some_options();
  write_file(temporary.path(), stored, kData);
  TrainingOptions run = stored;
  run.settings.schedule.base = 0.01;
  run.settings.epochs = 9;  // after -lr in the list: not the one named
  EXPECT_EQ(difference_from_file(temporary.path(), run, kData), "-lr 0.003 (this run: 0.01)");
  run = stored;
  run.model.hidden = {8};
  EXPECT_EQ(difference_from_file(temporary.path(), run, kData), "-hidden 8,3 (this run: 8)");
  run = stored;
  run.tuning.types.clear();  // no tuning: its grid no longer counts, its list does
  EXPECT_EQ(difference_from_file(temporary.path(), run, kData),
            "-tune_penalties sign,scale (this run: '')");
  run = stored;
  run.tuning.grid = {0, 1};
  EXPECT_EQ(difference_from_file(temporary.path(), run, kData),
            "-tune_grid 0,0.001,0.1 (this run: 0,1)");
  DataIdentity other = kData;
  other.seed = 8;
  EXPECT_EQ(difference_from_file(temporary.path(), stored, other),
            "the dataset's seed 7 (this run: 8)");
}

TEST(TrainingOptions, AFileWithoutStoredOptionsIsRefusedInOneLine) {
  TemporaryFile temporary;
  {
    h5::Hid file =
        h5::file_id(H5Fcreate(temporary.path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    h5::write_attribute(file.get(), "options_fingerprint", std::string("data seed 7 ..."));
    file.close();
  }
  try {
    difference_from_file(temporary.path(), some_options(), kData);
    FAIL() << "no error";
  } catch (const UsageError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("holds no training options"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace rgflow::train
