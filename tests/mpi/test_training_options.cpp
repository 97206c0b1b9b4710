// The training options model.h5 stores (/options): written, read back and compared field by
// field, on every rank with its own file (serial HDF5).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "rgflow/coarse/block_pairs.hpp"
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
  io::write_stored_options(file.get(), options.fields());
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
  const StoredTraining stored = io::read_stored_options(file.get(), temporary.path());
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
// and a target per sample, 64 x 5 x 4 = 1280 bytes in float32, and 64 x 4 bytes of epoch order:
// 1536 bytes of the budget.
TEST(DataPlan, SplitAndWindowsFollowFromTheSizesAndTheBudget) {
  io::DatasetSpec data;
  data.geometry = {2, 16, 2, 2};
  data.samples = 10;
  DataPlan plan = DataPlan::make(data, 0, 0.2, 64, 1 << 20, 4, "-");
  EXPECT_EQ(plan.training_samples, 8);
  EXPECT_EQ(plan.validation_samples, 2);
  EXPECT_EQ(plan.pairs_per_sample, 64);
  EXPECT_EQ(plan.window_samples, (1 << 20) / 1536);
  EXPECT_FALSE(plan.streamed);
  // A budget of three samples: the 8 training samples are read in windows.
  plan = DataPlan::make(data, 0, 0.2, 64, 3 * 1536 + 1535, 4, "-");
  EXPECT_EQ(plan.window_samples, 3);
  EXPECT_TRUE(plan.streamed);
  // Each split fits a window, but not both at once: they are streamed, one window at a time.
  plan = DataPlan::make(data, 0, 0.2, 64, 9 * 1536, 4, "-");
  EXPECT_EQ(plan.window_samples, 9);
  EXPECT_TRUE(plan.streamed);
  EXPECT_EQ(plan.window_pairs, 8 * 64);
  EXPECT_FALSE(DataPlan::make(data, 0, 0.2, 64, 10 * 1536, 4, "-").streamed);
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
  EXPECT_NE(refusal(0.2, 3 * 64 + 1, 3 * 1536).find("a window of -train_m_memory_mb holds"),
            std::string::npos);
}

// Below one sample the windows are tiles of whole top-level blocks (side b^K = 4 on a 16 x 16
// lattice: 4 x 4 blocks of 4 pairs at level 0, 20 bytes a pair in float32 and 4 of epoch order).
TEST(DataPlan, WindowsSmallerThanOneSampleAreTilesOfWholeTopLevelBlocks) {
  io::DatasetSpec data;
  data.geometry = {2, 16, 2, 2};
  data.samples = 10;
  // 1279 bytes hold 53 pairs, 3 block rows of 16: the 4 block rows in the fewest tiles (2),
  // split evenly (2 + 2 rows).
  DataPlan plan = DataPlan::make(data, 0, 0.2, 16, 1279, 4, "-");
  EXPECT_TRUE(plan.tiled);
  EXPECT_TRUE(plan.streamed);
  EXPECT_EQ(plan.tiling.split_axis, 0);
  EXPECT_EQ(plan.tiling.pieces, 2);
  EXPECT_EQ(plan.tile_pairs, (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(plan.window_pairs, 32);
  // 300 bytes hold 12 pairs: less than a block row (16), so tiles of 3 blocks along axis 1 (12
  // pairs), cut evenly as 2 + 2 blocks: 4 block rows x 2 tiles, 8 pairs each.
  plan = DataPlan::make(data, 0, 0.2, 8, 300, 4, "-");
  EXPECT_EQ(plan.tiling.split_axis, 1);
  EXPECT_EQ(plan.tiling.count(), 8);
  EXPECT_EQ(plan.tile_pairs, std::vector<int64_t>(8, 8));
  const lattice::Box tile = plan.tiling.tile(3);  // block row 1, second half
  EXPECT_EQ(tile.begin[0], 4);
  EXPECT_EQ(tile.begin[1], 8);
  EXPECT_EQ(tile.extent[0], 4);
  EXPECT_EQ(tile.extent[1], 8);
  // Level 1 (8 x 8 sites, 16 pairs): a top-level block is one block of level 1, one pair; 96
  // bytes hold a block row of 4.
  plan = DataPlan::make(data, 1, 0.2, 4, 4 * 24, 4, "-");
  EXPECT_EQ(plan.tiling.count(), 4);
  EXPECT_EQ(plan.window_pairs, 4);
  auto refusal = [&](int64_t batch, int64_t budget) {
    try {
      DataPlan::make(data, 0, 0.2, batch, budget, 4, "-train_m_", "test_memory_bytes");
    } catch (const UsageError& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refusal(8, 300), "accepted");
  // One top-level block, 4 blocks of level 0, needs 96 bytes.
  EXPECT_EQ(refusal(1, 79),
            "option -train_m_test_memory_bytes: 79 bytes cannot hold the training pairs of one "
            "top-level block (side b^K = 4, 4 pairs of level 0): they need 96 bytes; raise it");
  EXPECT_NE(refusal(9, 300).find("-train_m_batch: 9 exceeds the 8 pairs a tile of "
                                 "-train_m_test_memory_bytes holds"),
            std::string::npos);
}

// What rgflow train's first line says about the plans above: nothing when the pairs fit in
// memory, the window's samples when streamed, the tiles and their pairs when tiled.
TEST(DataPlan, StreamingSaysHowThePairsAreRead) {
  io::DatasetSpec data;
  data.geometry = {2, 16, 2, 2};
  data.samples = 10;
  EXPECT_EQ(DataPlan::make(data, 0, 0.2, 64, 1 << 20, 4, "-").streaming(), "");
  EXPECT_EQ(DataPlan::make(data, 0, 0.2, 64, 3 * 1280 + 1279, 4, "-").streaming(),
            " (streamed from the file in windows of 3 samples)");
  EXPECT_EQ(DataPlan::make(data, 0, 0.2, 16, 1279, 4, "-").streaming(),
            " (streamed from the file in tiles of whole top-level blocks, 2 per sample, of up to "
            "32 pairs)");
}

TEST(TrainingOptions, HiddenWidthsAreACommaListOfPositiveIntegers) {
  EXPECT_EQ(parse_hidden_widths("-hidden", "64,64"), (std::vector<int>{64, 64}));
  EXPECT_EQ(parse_hidden_widths("-hidden", "1"), (std::vector<int>{1}));
  EXPECT_EQ(parse_hidden_widths("-hidden", "1048576,3"), (std::vector<int>{1 << 20, 3}));
  auto refusal = [](const std::string& text) {
    try {
      parse_hidden_widths("-train_m_hidden", text);
    } catch (const UsageError& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  for (const char* bad : {"0", "-4", "8,,8", "8x", "1048577", "4.5", ","}) {
    EXPECT_EQ(refusal(bad), "option -train_m_hidden: '" + std::string(bad) +
                                "' is not a list of positive widths (e.g. 64,64)")
        << bad;
  }
  EXPECT_EQ(refusal(""), "option -train_m_hidden: no hidden widths given");
}

// The pairs of a box equal the pairs of the whole sample at the same blocks (coarse::extract_pairs,
// the whole-sample kernel), in d = 1, 2, 3.
TEST(ExtractBoxPairs, EqualTheWholeSamplePairsOfTheSameBlocks) {
  for (int dim = 1; dim <= 3; ++dim) {
    const int64_t side = dim == 3 ? 8 : 12, b = 2, coarse_side = side / b;
    int64_t sites = 1, pairs = 1, n = 1;
    for (int axis = 0; axis < dim; ++axis) {
      sites *= side;
      pairs *= coarse_side;
      n *= b;
    }
    std::vector<double> fine(static_cast<size_t>(sites)), coarse(static_cast<size_t>(pairs));
    for (size_t i = 0; i < fine.size(); ++i) fine[i] = 0.25 * double(i) - 3;
    for (size_t i = 0; i < coarse.size(); ++i) coarse[i] = 1000 + double(i);
    std::vector<double> all_x(static_cast<size_t>(pairs * n)), all_y(static_cast<size_t>(pairs));
    coarse::extract_pairs(dim, side, b, fine.data(), coarse.data(), all_x.data(), all_y.data());
    // A box of blocks [1, 1 + 3) on every axis but the last, [2, 2 + 2) on the last.
    lattice::Box blocks;
    blocks.dim = dim;
    for (int axis = 0; axis < dim; ++axis) {
      blocks.begin[axis] = axis + 1 == dim ? 2 : 1;
      blocks.extent[axis] = axis + 1 == dim ? 2 : 3;
    }
    const lattice::Box box{dim,
                           {blocks.begin[0] * b, blocks.begin[1] * b, blocks.begin[2] * b},
                           {blocks.extent[0] * b, dim > 1 ? blocks.extent[1] * b : 1,
                            dim > 2 ? blocks.extent[2] * b : 1}};
    // The box's values, row-major, as read_box returns them.
    std::vector<double> box_fine, box_coarse;
    const std::array<int64_t, 3> fine_sides{side, dim > 1 ? side : 1, dim > 2 ? side : 1};
    const std::array<int64_t, 3> coarse_sides{coarse_side, dim > 1 ? coarse_side : 1,
                                              dim > 2 ? coarse_side : 1};
    for (int64_t i = 0; i < box.extent[0]; ++i)
      for (int64_t j = 0; j < box.extent[1]; ++j)
        for (int64_t k = 0; k < box.extent[2]; ++k) {
          const int64_t x = box.begin[0] + i, y = box.begin[1] + j, z = box.begin[2] + k;
          box_fine.push_back(fine[size_t((x * fine_sides[1] + y) * fine_sides[2] + z)]);
        }
    std::vector<int64_t> whole_pair;  // the whole-sample pair of each box pair, row-major
    for (int64_t i = 0; i < blocks.extent[0]; ++i)
      for (int64_t j = 0; j < blocks.extent[1]; ++j)
        for (int64_t k = 0; k < blocks.extent[2]; ++k) {
          const int64_t x = blocks.begin[0] + i, y = blocks.begin[1] + j, z = blocks.begin[2] + k;
          whole_pair.push_back((x * coarse_sides[1] + y) * coarse_sides[2] + z);
          box_coarse.push_back(coarse[size_t(whole_pair.back())]);
        }
    const size_t box_pairs = whole_pair.size();
    std::vector<float> x(box_pairs * size_t(n)), y(box_pairs);
    extract_box_pairs(dim, box.extent, b, box_fine.data(), box_coarse.data(), x.data(), y.data());
    for (size_t p = 0; p < box_pairs; ++p) {
      const size_t whole = size_t(whole_pair[p]);
      ASSERT_EQ(y[p], float(all_y[whole])) << "d = " << dim << ", pair " << p;
      for (int64_t s = 0; s < n; ++s) {
        ASSERT_EQ(x[p * size_t(n) + size_t(s)], float(all_x[whole * size_t(n) + size_t(s)]))
            << "d = " << dim << ", pair " << p << ", site " << s;
      }
    }
  }
}

}  // namespace
}  // namespace rgflow::train
