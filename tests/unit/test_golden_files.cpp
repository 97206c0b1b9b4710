// The golden files of data/schema1 (made by data/make_golden.sh with rgflow 0.1.0, schema version
// 1), read with today's readers: every later version must still read the files users already
// share, and read the same values from them. Each value is checked against independent truth:
// the generator's definition and the block map of docs/science.md recomputed here, the network's
// forward pass written out from the stored weight matrices, the cumulant formulas of
// docs/schema.md, and the exact cumulants of the uniform distribution.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "rgflow/core/hdf5.hpp"
#include "rgflow/field/generator.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/io/model_file.hpp"
#include "rgflow/io/training_file.hpp"
#include "rgflow/nn/network.hpp"

namespace {

using rgflow::h5::NumberClass;

const std::string kGolden = std::string(RGFLOW_SOURCE_DIR) + "/data/schema1/";
const std::string kDatasetPath = kGolden + "dataset.h5";
const std::string kModelPath = kGolden + "model.h5";
const std::string kResultsPath = kGolden + "results.h5";

// What data/make_golden.sh asked for.
constexpr int kSide = 16, kBlockSide = 2, kLevels = 3, kSamples = 16;
constexpr uint64_t kSeed = 11;
constexpr int kTrainingSamples = 12;  // -val_fraction 0.25 of 16
constexpr int kOrders = 6, kGroups = 4;
// The model's prediction on the block (1, -0.5, 0.25, 2) when it was made.
constexpr double kPredictionOnMadeUpBlock = -1.5852984105366796;

int64_t level_side(int level) {
  return kSide >> level;
}
int64_t level_sites(int level) {
  return level_side(level) * level_side(level);
}

/// Every value of `path` (a numeric dataset of the file), as double, and its shape.
std::vector<double> read_array(const std::string& file_path, const std::string& path,
                               std::vector<hsize_t>* shape = nullptr) {
  const rgflow::h5::Hid file = rgflow::h5::open_read_only(file_path);
  return rgflow::h5::read_numeric_dataset(file.get(), path, NumberClass::kFloat, -1, 1 << 24,
                                          shape);
}

/// The four inputs of block I = (i0, i1) of `sample` at level `level` (sites in row-major block
/// order, docs/schema.md "Blocks and sites") and the target, the site I of level + 1.
struct Block {
  std::vector<double> inputs;
  double target;
};
Block block_of(const std::vector<double>& fine, const std::vector<double>& coarse, int level,
               int sample, int64_t i0, int64_t i1) {
  const int64_t side = level_side(level);
  Block block;
  for (int p0 = 0; p0 < kBlockSide; ++p0) {
    for (int p1 = 0; p1 < kBlockSide; ++p1) {
      const int64_t x0 = i0 * kBlockSide + p0, x1 = i1 * kBlockSide + p1;
      block.inputs.push_back(fine[sample * level_sites(level) + x0 * side + x1]);
    }
  }
  block.target = coarse[sample * level_sites(level + 1) + i0 * level_side(level + 1) + i1];
  return block;
}

/// The stored MLP 4 -> 4 (tanh) -> 1 applied to one block, written out from the effective
/// weights /model/layer_l/{weight,bias} (rows = outputs), not through rgflow's network code.
class StoredMlp {
 public:
  explicit StoredMlp(const std::string& path)
      : w0_(read_array(path, "/model/layer_0/weight")),
        b0_(read_array(path, "/model/layer_0/bias")),
        w1_(read_array(path, "/model/layer_1/weight")),
        b1_(read_array(path, "/model/layer_1/bias")) {}

  double operator()(const std::vector<double>& x) const {
    double y = b1_[0];
    for (int r = 0; r < 4; ++r) {
      double z = b0_[r];
      for (int c = 0; c < 4; ++c) z += w0_[r * 4 + c] * x[c];
      y += w1_[r] * std::tanh(z);
    }
    return y;
  }

 private:
  std::vector<double> w0_, b0_, w1_, b1_;
};

/// kappa_1..kappa_6 of a pool of values by two passes (mean, then central moments mu_p in long
/// double) and the formulas of docs/schema.md "Cumulants".
std::vector<double> two_pass_cumulants(const std::vector<double>& values) {
  long double mean = 0;
  for (double v : values) mean += v;
  mean /= values.size();
  long double mu[kOrders + 1] = {};
  for (double v : values) {
    long double power = 1;
    for (int p = 1; p <= kOrders; ++p) mu[p] += (power *= (v - mean));
  }
  for (int p = 1; p <= kOrders; ++p) mu[p] /= values.size();
  return {static_cast<double>(mean),
          static_cast<double>(mu[2]),
          static_cast<double>(mu[3]),
          static_cast<double>(mu[4] - 3 * mu[2] * mu[2]),
          static_cast<double>(mu[5] - 10 * mu[3] * mu[2]),
          static_cast<double>(mu[6] - 15 * mu[4] * mu[2] - 10 * mu[3] * mu[3] +
                              30 * mu[2] * mu[2] * mu[2])};
}

// ---------------------------------------------------------------------------------------------
// dataset.h5

TEST(GoldenDataset, SpecAndProvenanceAsMade) {
  const rgflow::io::DatasetReader reader(kDatasetPath);
  const rgflow::io::DatasetSpec& spec = reader.spec();
  EXPECT_TRUE(reader.complete());
  EXPECT_EQ(spec.geometry.dim, 2);
  EXPECT_EQ(spec.geometry.side, kSide);
  EXPECT_EQ(spec.geometry.block_side, kBlockSide);
  EXPECT_EQ(spec.geometry.levels, kLevels);
  EXPECT_EQ(spec.samples, kSamples);
  EXPECT_EQ(spec.seed, kSeed);
  EXPECT_EQ(spec.distribution.name(), "uniform");
  EXPECT_EQ(spec.dtype, "float32");
  EXPECT_EQ(spec.scaling_dimension, 1.0);
  EXPECT_EQ(spec.command_line.rfind("rgflow generate -quiet -o dataset.h5", 0), 0u)
      << spec.command_line;

  // The provenance attributes data/README.md tells users to check.
  const rgflow::h5::Hid file = rgflow::h5::open_read_only(kDatasetPath);
  EXPECT_EQ(rgflow::h5::read_string_attribute(file.get(), "format"), "rgflow dataset");
  EXPECT_EQ(rgflow::h5::read_int_attribute(file.get(), "schema_version"), 1);
  EXPECT_EQ(rgflow::h5::read_string_attribute(file.get(), "rgflow_version"), "0.1.0");
  EXPECT_EQ(rgflow::h5::read_string_attribute(file.get(), "rg_map"), "block_sum");
  EXPECT_EQ(rgflow::h5::read_double_attribute(file.get(), "block_map_scale"), 0.5);
  EXPECT_EQ(rgflow::h5::read_int_attribute(file.get(), "complete"), 1);
  const std::vector<double> sample_complete = rgflow::h5::read_numeric_dataset(
      file.get(), "/sample_complete", NumberClass::kInteger, 1, kSamples);
  EXPECT_EQ(sample_complete, std::vector<double>(kSamples, 1.0));
}

TEST(GoldenDataset, LevelZeroIsTheGeneratorsPureFunction) {
  // Same seed, same bits: site g of sample s is field::site_value(seed, s, g) rounded once to
  // float32, whatever version of rgflow generated the file (uniform needs no libm call).
  const rgflow::io::DatasetReader reader(kDatasetPath);
  const std::vector<double> level0 = reader.read(0, 0, kSamples);
  ASSERT_EQ(level0.size(), static_cast<size_t>(kSamples * level_sites(0)));
  rgflow::field::Distribution uniform;
  uniform.kind = rgflow::field::DistributionKind::kUniform;
  for (int s = 0; s < kSamples; ++s) {
    for (int64_t g = 0; g < level_sites(0); ++g) {
      const float expected = static_cast<float>(rgflow::field::site_value(uniform, kSeed, s, g));
      ASSERT_EQ(level0[s * level_sites(0) + g], static_cast<double>(expected))
          << "sample " << s << " site " << g;
    }
  }
}

TEST(GoldenDataset, EachLevelIsTheBlockSumOfTheLevelBelow) {
  // docs/science.md section 1 with Delta = d/2: y_I = b^(-d/2) sum_{i in I} x_i = (1/2) sum over
  // the 2x2 block, summed in double in lexicographic order, rounded once to float32.
  const rgflow::io::DatasetReader reader(kDatasetPath);
  for (int level = 0; level < kLevels; ++level) {
    const std::vector<double> fine = reader.read(level, 0, kSamples);
    const std::vector<double> coarse = reader.read(level + 1, 0, kSamples);
    ASSERT_EQ(coarse.size(), static_cast<size_t>(kSamples * level_sites(level + 1)));
    for (int s = 0; s < kSamples; ++s) {
      for (int64_t i0 = 0; i0 < level_side(level + 1); ++i0) {
        for (int64_t i1 = 0; i1 < level_side(level + 1); ++i1) {
          const Block block = block_of(fine, coarse, level, s, i0, i1);
          double sum = 0;
          for (double x : block.inputs) sum += x;
          ASSERT_EQ(block.target, static_cast<double>(static_cast<float>(sum * 0.5)))
              << "level " << level + 1 << " sample " << s << " block (" << i0 << "," << i1 << ")";
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// model.h5

TEST(GoldenModel, SpecProvenanceAndHistoryAsTrained) {
  const rgflow::io::TrainedModel model = rgflow::io::read_trained_model(kModelPath);
  const rgflow::nn::ModelSpec& spec = model.network.spec();
  EXPECT_EQ(spec.kind, rgflow::nn::ModelKind::kMlp);
  EXPECT_EQ(spec.hidden, std::vector<int>{4});
  EXPECT_EQ(spec.activation, rgflow::nn::Activation::kTanh);
  EXPECT_EQ(spec.tying, rgflow::nn::Tying::kNone);
  EXPECT_EQ(spec.strategy, rgflow::nn::Strategy::kNone);
  EXPECT_TRUE(spec.bias);
  // 4 x 4 weights + 4 biases, then 1 x 4 weights + 1 bias.
  EXPECT_EQ(model.network.parameter_count(), 25);
  EXPECT_EQ(model.network.layer_count(), 2);
  EXPECT_EQ(model.scalar, "float32");
  ASSERT_TRUE(model.has_provenance);
  EXPECT_EQ(model.dataset_path, "dataset.h5");
  EXPECT_EQ(model.training_samples, kTrainingSamples);
  EXPECT_EQ(model.validation_samples, kSamples - kTrainingSamples);
  EXPECT_EQ(model.level_input, 0);
  EXPECT_EQ(model.level_target, 1);
  EXPECT_EQ(model.history.epoch, (std::vector<double>{1, 2}));  // -epochs 2
  ASSERT_EQ(model.history.order_parameter.size(), 2u);
  EXPECT_EQ(model.history.order_parameter[0].size(), 1u);  // one hidden layer

  const rgflow::h5::Hid file = rgflow::h5::open_read_only(kModelPath);
  EXPECT_EQ(rgflow::h5::read_string_attribute(file.get(), "format"), "rgflow trained model");
  EXPECT_EQ(rgflow::h5::read_int_attribute(file.get(), "schema_version"), 1);
  EXPECT_EQ(rgflow::h5::read_string_attribute(file.get(), "rgflow_version"), "0.1.0");
  EXPECT_EQ(rgflow::h5::read_int_attribute(file.get(), "complete"), 1);
  EXPECT_EQ(rgflow::h5::read_int_attribute(file.get(), "dataset_seed"),
            static_cast<int64_t>(kSeed));
  // The model names the very file it was trained on: the dataset's creation time.
  const rgflow::io::DatasetReader data(kDatasetPath);
  EXPECT_EQ(rgflow::h5::read_string_attribute(file.get(), "dataset_created"), data.spec().created);
}

TEST(GoldenModel, ParametersAreTheStoredWeightsInTheSchemasOrder) {
  // Untied arrays: W_l(r, c) = theta[base + c R + r], then the bias (docs/schema.md).
  const std::vector<double> theta = read_array(kModelPath, "/model/parameters");
  ASSERT_EQ(theta.size(), 25u);
  int64_t base = 0;
  for (int layer = 0; layer < 2; ++layer) {
    const std::string group = "/model/layer_" + std::to_string(layer);
    std::vector<hsize_t> shape;
    const std::vector<double> weight = read_array(kModelPath, group + "/weight", &shape);
    const std::vector<double> bias = read_array(kModelPath, group + "/bias");
    const int64_t rows = static_cast<int64_t>(shape[0]), cols = static_cast<int64_t>(shape[1]);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        EXPECT_EQ(weight[r * cols + c], theta[base + c * rows + r]) << group << " " << r << c;
      }
    }
    base += rows * cols;
    for (int64_t r = 0; r < rows; ++r) EXPECT_EQ(bias[r], theta[base + r]) << group << " " << r;
    base += rows;
  }
  EXPECT_EQ(base, 25);
}

TEST(GoldenModel, PredictsAsItsStoredWeightsSay) {
  const rgflow::io::TrainedModel model = rgflow::io::read_trained_model(kModelPath);
  const StoredMlp by_hand(kModelPath);
  const rgflow::io::DatasetReader data(kDatasetPath);
  const std::vector<double> level0 = data.read(0, 0, kSamples);
  const std::vector<double> level1 = data.read(1, 0, kSamples);

  // Sample 0, blocks (0,0) and (3,5), and a made-up block: the network read back against the
  // forward pass written out from the weight matrices.
  const std::vector<std::vector<double>> blocks = {block_of(level0, level1, 0, 0, 0, 0).inputs,
                                                   block_of(level0, level1, 0, 0, 3, 5).inputs,
                                                   {1.0, -0.5, 0.25, 2.0}};
  rgflow::nn::Matrix<double> x(4, static_cast<Eigen::Index>(blocks.size()));
  for (size_t b = 0; b < blocks.size(); ++b) {
    for (int i = 0; i < 4; ++i) x(i, static_cast<Eigen::Index>(b)) = blocks[b][i];
  }
  rgflow::nn::Network<double>::Tape tape;
  model.network.forward(x, tape);
  for (size_t b = 0; b < blocks.size(); ++b) {
    EXPECT_NEAR(tape.output(0, static_cast<Eigen::Index>(b)), by_hand(blocks[b]), 1e-14)
        << "block " << b;
  }
  // The value this model gave when it was made (rgflow 0.1.0), to the float32 model's precision.
  EXPECT_NEAR(tape.output(0, 2), kPredictionOnMadeUpBlock, 1e-6);
}

// ---------------------------------------------------------------------------------------------
// results.h5

TEST(GoldenResults, AttributesAsAnalysed) {
  const rgflow::h5::Hid file = rgflow::h5::open_read_only(kResultsPath);
  const hid_t f = file.get();
  EXPECT_EQ(rgflow::h5::read_string_attribute(f, "format"), "rgflow results");
  EXPECT_EQ(rgflow::h5::read_int_attribute(f, "schema_version"), 1);
  EXPECT_EQ(rgflow::h5::read_string_attribute(f, "dataset_path"), "dataset.h5");
  EXPECT_EQ(rgflow::h5::read_int_attribute(f, "jackknife_groups"), kGroups);
  EXPECT_EQ(rgflow::h5::read_string_attribute(f, "command_line").rfind("rgflow analyze", 0), 0u);
  const rgflow::h5::Hid generalisation =
      rgflow::h5::group_id(H5Gopen2(f, "/generalisation", H5P_DEFAULT));
  EXPECT_EQ(rgflow::h5::read_string_attribute(generalisation.get(), "models"), "model");
  EXPECT_EQ(rgflow::h5::read_string_attribute(generalisation.get(), "test_sets"),
            "data,data_x2,data_x0.5");
  for (const char* group : {"/cumulants", "/flow/model", "/symmetry/model", "/propagation/model"}) {
    EXPECT_EQ(rgflow::h5::object_kind(f, group), "a group") << group;
  }
}

TEST(GoldenResults, CumulantsAreThoseOfTheDataset) {
  std::vector<hsize_t> shape;
  const std::vector<double> kappa = read_array(kResultsPath, "/cumulants/kappa", &shape);
  ASSERT_EQ(shape, (std::vector<hsize_t>{kLevels + 1, kOrders}));
  const rgflow::io::DatasetReader data(kDatasetPath);
  for (int level = 0; level <= kLevels; ++level) {
    const std::vector<double> expected = two_pass_cumulants(data.read(level, 0, kSamples));
    for (int n = 1; n <= kOrders; ++n) {
      EXPECT_NEAR(kappa[level * kOrders + n - 1], expected[n - 1], 1e-12)
          << "level " << level << " kappa_" << n;
    }
  }
}

TEST(GoldenResults, ExactCumulantsOfTheUniformFlow) {
  // lambda_n^k kappa_n with lambda_n = N^(1 - n/2), N = 4, and the uniform distribution's
  // kappa_2 = 1, kappa_4 = -6/5, kappa_6 = 48/7, odd ones 0 (docs/schema.md).
  const std::vector<double> exact = read_array(kResultsPath, "/cumulants/exact");
  const double kappa0[kOrders] = {0, 1, 0, -6.0 / 5.0, 0, 48.0 / 7.0};
  for (int level = 0; level <= kLevels; ++level) {
    for (int n = 1; n <= kOrders; ++n) {
      const double expected = std::pow(std::pow(4.0, 1.0 - n / 2.0), level) * kappa0[n - 1];
      EXPECT_NEAR(exact[level * kOrders + n - 1], expected, 1e-14 * std::max(1.0, expected))
          << "level " << level << " kappa_" << n;
    }
  }
}

TEST(GoldenResults, GeneralisationIsTheModelsHeldOutError) {
  // mse[0][t]: the model on the samples it did not train on (12..15), level 0 -> 1, with inputs
  // and targets scaled by 1, 2 and 1/2. The analysis ran the float32 model in float32: equal to
  // the double forward pass to about 1e-6 relative.
  const std::vector<double> mse = read_array(kResultsPath, "/generalisation/mse");
  ASSERT_EQ(mse.size(), 3u);
  const StoredMlp model(kModelPath);
  const rgflow::io::DatasetReader data(kDatasetPath);
  const std::vector<double> level0 = data.read(0, 0, kSamples);
  const std::vector<double> level1 = data.read(1, 0, kSamples);
  const double scales[3] = {1.0, 2.0, 0.5};
  for (int t = 0; t < 3; ++t) {
    double sum = 0;
    int64_t count = 0;
    for (int s = kTrainingSamples; s < kSamples; ++s) {
      for (int64_t i0 = 0; i0 < level_side(1); ++i0) {
        for (int64_t i1 = 0; i1 < level_side(1); ++i1) {
          Block block = block_of(level0, level1, 0, s, i0, i1);
          for (double& x : block.inputs) x *= scales[t];
          const double error = model(block.inputs) - scales[t] * block.target;
          sum += error * error;
          ++count;
        }
      }
    }
    const double expected = sum / count;
    EXPECT_NEAR(mse[t], expected, 1e-5 * expected) << "test set " << t;
  }
}

}  // namespace
