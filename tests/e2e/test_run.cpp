// rgflow run end to end: the quickstart pipeline and its outputs, a rerun that does no work, the
// single stages batch jobs use, and bad pipeline files refused before anything is written.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <fstream>

#include "e2e_util.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/io/model_file.hpp"

namespace rgflow::e2e {
namespace {

// Modification time in nanoseconds: a rerun that does no work leaves every one unchanged.
long long modified(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return -1;
  return static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec;
}

int count_of(const std::string& text, const std::string& word) {
  int count = 0;
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++count;
  return count;
}

const std::vector<std::string> kQuickstartOutputs = {"data/uniform.h5",
                                                     "data/laplace.h5",
                                                     "data/rademacher.h5",
                                                     "models/linear.h5",
                                                     "models/tanh.h5",
                                                     "models/quadratic.h5",
                                                     "models/gnn.h5",
                                                     "results/results.h5",
                                                     "results/results_cumulants.csv",
                                                     "results/results_generalisation.csv"};

TEST(Pipeline, QuickstartRunsChecksOutAndARerunDoesNoWork) {
  TempFolder folder;
  const std::string outdir = folder.file("quick");
  const std::string pipeline = std::string(RGFLOW_SOURCE_DIR) + "/pipelines/quickstart.yaml";
  auto result = run_rgflow(2, "run " + pipeline + " -outdir " + outdir);
  ASSERT_EQ(result.status, 0) << result.err;
  for (const auto& name : kQuickstartOutputs) {
    EXPECT_TRUE(file_exists(outdir + "/" + name)) << name;
  }
  EXPECT_NE(result.out.find("Tables: " + outdir + "/results/*.csv"), std::string::npos);

  // The linear model with tied inputs learns the exact map: effective weights N^(-1/2) = 1/2.
  const std::string linear = outdir + "/models/linear.h5";
  {
    h5::Hid file = h5::file_id(H5Fopen(linear.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    const auto net = io::read_model<double>(file.get(), linear, true);
    const nn::Matrix<double> effective = net.weight(1) * net.weight(0);
    ASSERT_EQ(effective.size(), 4);
    for (Eigen::Index i = 0; i < effective.size(); ++i) EXPECT_NEAR(effective(0, i), 0.5, 1e-5);
  }
  // Its learned flow follows the exact recursion within the errors, at every level.
  const std::string results = outdir + "/results/results.h5";
  const auto learned = table(results, "/flow/linear/kappa");
  const auto learned_error = table(results, "/flow/linear/kappa_error");
  const auto exact = table(results, "/cumulants/exact");
  ASSERT_EQ(learned.size(), exact.size());
  const size_t orders = 8, levels = learned.size() / orders;
  EXPECT_EQ(levels, 7u);
  for (size_t level = 0; level < levels; ++level) {
    for (size_t n : {2u, 4u}) {
      const size_t i = level * orders + n - 1;
      EXPECT_NEAR(learned[i], exact[i], 5 * learned_error[i]) << "level " << level << " n " << n;
    }
  }
  // Four models against four test sets: held-out, laplace, rademacher, x2 and x0.5.
  const auto mse = table(results, "/generalisation/mse");
  ASSERT_EQ(mse.size(), 4u * 5u);
  for (size_t t = 0; t < 5; ++t) EXPECT_LT(mse[t], 1e-10) << "linear, test set " << t;
  EXPECT_GT(mse[5 + 1], mse[5]) << "tanh drifts on laplace";

  // Everything is complete and current: the rerun keeps every output untouched.
  std::vector<long long> before;
  for (const auto& name : kQuickstartOutputs) before.push_back(modified(outdir + "/" + name));
  result = run_rgflow(2, "run " + pipeline + " -outdir " + outdir + " -quiet");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(count_of(result.out, " kept "), 7) << result.out;
  EXPECT_EQ(count_of(result.out, " up to date "), 1) << result.out;
  for (size_t k = 0; k < kQuickstartOutputs.size(); ++k) {
    EXPECT_EQ(modified(outdir + "/" + kQuickstartOutputs[k]), before[k]) << kQuickstartOutputs[k];
  }
}

const char* kSmallPipeline =
    "generate:\n"
    "  fine: {d: 1, L: 64, levels: 2, samples: 8, seed: 3}\n"
    "analyze: {groups: 4}\n"
    "train:\n"
    "  defaults: {data: fine, epochs: 1, batch: 16, hidden: [2]}\n"
    "  first: {activation: identity}\n"
    "  second: {activation: tanh}\n";

TEST(Pipeline, SingleStagesAsBatchJobsRunThem) {
  TempFolder folder;
  const std::string pipeline = folder.file("small.yaml"), outdir = folder.file("out");
  write_text(pipeline, kSmallPipeline);
  auto result = run_rgflow(1, "run " + pipeline + " -list_models");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(result.out, "first\nsecond\n");
  EXPECT_FALSE(file_exists(outdir)) << "listing writes nothing";

  result = run_rgflow(2, "run " + pipeline + " -outdir " + outdir + " -stage generate -quiet");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(file_exists(outdir + "/data/fine.h5"));
  EXPECT_FALSE(file_exists(outdir + "/models/first.h5"));
  // One task of a job array: the model at index 1 only.
  result = run_rgflow(
      1, "run " + pipeline + " -outdir " + outdir + " -stage train -model_index 1 -quiet");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(file_exists(outdir + "/models/second.h5"));
  EXPECT_FALSE(file_exists(outdir + "/models/first.h5"));
  // The analysis needs every model: with one missing it is refused before it starts, naming
  // the file.
  result = run_rgflow(2, "run " + pipeline + " -outdir " + outdir + " -stage analyze -quiet");
  EXPECT_NE(result.status, 0);
  ASSERT_EQ(result.rgflow_error_lines().size(), 1u) << result.err;
  EXPECT_NE(result.rgflow_error_lines()[0].find("the analysis reads"), std::string::npos);
  EXPECT_NE(result.rgflow_error_lines()[0].find("first.h5', which does not exist"),
            std::string::npos);
  result = run_rgflow(1, "run " + pipeline + " -outdir " + outdir + " -stage train -model first");
  ASSERT_EQ(result.status, 0) << result.err;
  result = run_rgflow(2, "run " + pipeline + " -outdir " + outdir + " -stage analyze -quiet");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(table(outdir + "/results/results.h5", "/generalisation/mse").size(), 2u * 3u);
  // -force redoes the selected stage even though it is up to date.
  result = run_rgflow(1, "run " + pipeline + " -outdir " + outdir + " -stage analyze -force");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(count_of(result.out, " done "), 1) << result.out;
  // A command-line value wins over the file's; a changed model is not silently kept.
  result = run_rgflow(1, "run " + pipeline + " -outdir " + outdir +
                             " -stage train -model first -train_first_epochs 2");
  EXPECT_NE(result.status, 0);
  ASSERT_EQ(result.rgflow_error_lines().size(), 1u) << result.err;
  EXPECT_NE(result.rgflow_error_lines()[0].find("trained with other options"), std::string::npos);
}

TEST(Pipeline, NamedAnalysesTakeTheModelsAndTestSetsOfTheirData) {
  TempFolder folder;
  const std::string pipeline = folder.file("two.yaml"), outdir = folder.file("out");
  write_text(
      pipeline,
      "generate:\n"
      "  line: {d: 1, L: 64, levels: 2, samples: 8, seed: 3}\n"
      "  line_laplace: {d: 1, L: 64, levels: 2, samples: 8, seed: 4, distribution: laplace}\n"
      "  square: {d: 2, L: 16, levels: 2, samples: 8, seed: 5}\n"
      "train:\n"
      "  defaults: {epochs: 1, batch: 16, hidden: [2]}\n"
      "  on_line: {data: line}\n"
      "  on_square: {data: square}\n"
      "analyze:\n"
      "  first: {data: line, groups: 4}\n"
      "  second: {data: square, groups: 4}\n");
  const auto result = run_rgflow(2, "run " + pipeline + " -outdir " + outdir + " -quiet");
  ASSERT_EQ(result.status, 0) << result.err;
  const auto read_attribute = [](const std::string& path, const std::string& name) {
    h5::Hid file = h5::file_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    h5::Hid group = h5::group_id(H5Gopen2(file.get(), "/generalisation", H5P_DEFAULT));
    return h5::read_string_attribute(group.get(), name);
  };
  // Each analysis has the models trained on its data, and the other datasets of the same d and b.
  const std::string first = outdir + "/results/first.h5", second = outdir + "/results/second.h5";
  EXPECT_EQ(read_attribute(first, "models"), "on_line");
  EXPECT_EQ(read_attribute(second, "models"), "on_square");
  EXPECT_NE(read_attribute(first, "test_sets").find("line_laplace"), std::string::npos);
  EXPECT_EQ(read_attribute(second, "test_sets").find("laplace"), std::string::npos);
  EXPECT_TRUE(file_exists(outdir + "/results/first_generalisation.csv"));
}

void expect_refused(const RunResult& result, const std::string& expected,
                    const std::string& outdir) {
  expect_one_line_failure(result, expected, expected);
  EXPECT_FALSE(file_exists(outdir)) << expected << ": nothing may be written";
}

TEST(PipelineBadInput, RefusedBeforeAnyStageStarts) {
  TempFolder folder;
  const std::string outdir = folder.file("out");
  const auto attempt = [&](const std::string& name, const std::string& text) {
    const std::string path = folder.file(name + ".yaml");
    write_text(path, text);
    return run_rgflow(2, "run " + path + " -outdir " + outdir);
  };
  expect_refused(run_rgflow(2, "run " + folder.file("absent.yaml") + " -outdir " + outdir),
                 "does not exist", outdir);
  expect_refused(run_rgflow(1, "run -outdir " + outdir), "no pipeline file given", outdir);
  expect_refused(attempt("malformed", "generate:\n  fine: {d: 1\n"), "malformed YAML at line",
                 outdir);
  expect_refused(attempt("stage", "generate:\n  fine: {d: 1}\nplot:\n  x: 1\n"),
                 "line 3: unknown stage 'plot'", outdir);
  expect_refused(attempt("key", std::string(kSmallPipeline) + "  third: {activaton: tanh}\n"),
                 "line 8: unknown option 'train: third: activaton'", outdir);
  expect_refused(attempt("value", std::string(kSmallPipeline) + "  third: {activation: sine}\n"),
                 "line 8: option -train_third_activation: unknown value 'sine'", outdir);
  expect_refused(attempt("dataset", std::string(kSmallPipeline) + "  third: {data: coarse}\n"),
                 "data 'coarse' is not a dataset of the generate stage: fine", outdir);
  expect_refused(attempt("twice", "generate:\n  fine: {d: 1, d: 2}\n"), "'d' appears twice",
                 outdir);
  expect_refused(attempt("output", "generate:\n  fine: {d: 1, o: x.h5}\n"),
                 "'o' under 'generate: fine' is decided by rgflow run", outdir);
  expect_refused(attempt("empty", ""), "is empty", outdir);
  // An output folder that cannot be made (a regular file is in the way).
  const std::string blocker = folder.file("blocker");
  write_text(blocker, "x");
  const std::string good = folder.file("good.yaml");
  write_text(good, kSmallPipeline);
  expect_refused(run_rgflow(1, "run " + good + " -outdir " + blocker + "/out"),
                 "option -outdir: cannot create", blocker + "/out");
  expect_refused(run_rgflow(1, "run " + good + " -outdir " + outdir + " -train_third_epochs 2"),
                 "unknown option -train_third_epochs", outdir);
  expect_refused(run_rgflow(1, "run " + good + " -outdir " + outdir + " -train_first_epoch 2"),
                 "unknown option -train_first_epoch", outdir);
  expect_refused(run_rgflow(1, "run " + good + " -outdir " + outdir + " -model first"),
                 "need -stage train", outdir);
  expect_refused(
      run_rgflow(1, "run " + good + " -outdir " + outdir + " -stage train -model_index 2"),
      "out of range", outdir);
}

TEST(PipelineBadInput, AFailingStageStopsThePipelineAndKeepsFinishedOutputs) {
  TempFolder folder;
  const std::string outdir = folder.file("out"), pipeline = folder.file("failing.yaml");
  // 8 samples of 32 blocks, 1 held out: 224 training pairs, fewer than the batch.
  write_text(pipeline, std::string(kSmallPipeline) + "  third: {batch: 1000}\n");
  auto result = run_rgflow(2, "run " + pipeline + " -outdir " + outdir + " -quiet");
  EXPECT_NE(result.status, 0);
  ASSERT_EQ(result.rgflow_error_lines().size(), 1u) << result.err;
  EXPECT_NE(result.rgflow_error_lines()[0].find(
                "stage train 'third' failed: option -train_third_batch: 1000 exceeds"),
            std::string::npos)
      << result.rgflow_error_lines()[0];
  EXPECT_TRUE(file_exists(outdir + "/data/fine.h5"));
  EXPECT_TRUE(file_exists(outdir + "/models/first.h5"));
  EXPECT_TRUE(file_exists(outdir + "/models/second.h5"));
  EXPECT_FALSE(file_exists(outdir + "/models/third.h5"));
  EXPECT_FALSE(file_exists(outdir + "/results/results.h5"));
  // Fixed on the command line, the rerun continues from the failed stage.
  result = run_rgflow(2, "run " + pipeline + " -outdir " + outdir + " -train_third_batch 16");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(count_of(result.out, " kept "), 3) << result.out;
  EXPECT_TRUE(file_exists(outdir + "/results/results.h5"));
}

}  // namespace
}  // namespace rgflow::e2e
