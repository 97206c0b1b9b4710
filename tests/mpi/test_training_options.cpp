// The training options model.h5 stores (/options): written, read back and compared field by
// field, on every rank with its own file (serial HDF5).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "rgflow/core/error.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/core/mpi.hpp"
#include "rgflow/train/data.hpp"
#include "rgflow/train/options.hpp"
#include "temporary_file.hpp"

namespace rgflow::train {
namespace {

using testing::TemporaryFile;

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
  TemporaryFile temporary("options");
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
  TemporaryFile temporary("options");
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
  TemporaryFile temporary("options");
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

// The split and windows of a 16 x 16 lattice (b = 2): level 0 has 8 x 8 = 64 pairs of 4 inputs
// and a target per sample, 64 x 5 x 4 = 1280 bytes in float32.
TEST(DataPlan, SplitAndWindowsFollowFromTheSizesAndTheBudget) {
  io::DatasetSpec data;
  data.geometry = {2, 16, 2, 2};
  data.samples = 10;
  DataPlan plan = DataPlan::make(data, 0, 0.2, 64, 1 << 20, 4, "-");
  EXPECT_EQ(plan.training_samples, 8);
  EXPECT_EQ(plan.validation_samples, 2);
  EXPECT_EQ(plan.pairs_per_sample, 64);
  EXPECT_EQ(plan.window_samples, (1 << 20) / 1280);
  EXPECT_FALSE(plan.streamed);
  // A budget of three samples: the 8 training samples are read in windows.
  plan = DataPlan::make(data, 0, 0.2, 64, 3 * 1280 + 1279, 4, "-");
  EXPECT_EQ(plan.window_samples, 3);
  EXPECT_TRUE(plan.streamed);
  // Level 1 (4 x 4 sites): 16 pairs per sample; 1 % of 10 samples still holds one out.
  plan = DataPlan::make(data, 1, 0.01, 16, 1 << 20, 8, "-");
  EXPECT_EQ(plan.pairs_per_sample, 16);
  EXPECT_EQ(plan.validation_samples, 1);
  auto refusal = [&](double val_fraction, int64_t batch, int64_t budget) {
    try {
      DataPlan::make(data, 0, val_fraction, batch, budget, 4, "-train_m_");
    } catch (const UsageError& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refusal(0.2, 64, 1 << 20), "accepted");
  EXPECT_NE(refusal(0.96, 64, 1 << 20).find("-train_m_val_fraction: leaves no training samples"),
            std::string::npos);
  EXPECT_NE(refusal(0.2, 8 * 64 + 1, 1 << 20).find("-train_m_batch: 513 exceeds"),
            std::string::npos);
  EXPECT_NE(refusal(0.2, 64, 1279).find("-train_m_memory_mb"), std::string::npos);
  EXPECT_NE(refusal(0.2, 3 * 64 + 1, 3 * 1280).find("a window of -train_m_memory_mb holds"),
            std::string::npos);
}

}  // namespace
}  // namespace rgflow::train
