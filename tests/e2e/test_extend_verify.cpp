// Shared datasets that grow and can be trusted (issue 14): generate -extend gives the same bits as
// generating every sample at once, refuses without touching the file, and resumes after a crash;
// info -verify recomputes every coarse level and checksum and names the first problem, the same
// on any rank count; the golden files of schema 1 (no checksums) still verify.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "e2e_util.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/io/dataset.hpp"

namespace rgflow::e2e {
namespace {

const std::string kGoldenDataset = std::string(RGFLOW_SOURCE_DIR) + "/data/schema1/dataset.h5";

// Options of the datasets below (the sample count apart).
const std::string kOptions = "generate -quiet -d 2 -L 48 -b 2 -levels 2 -seed 13";

// Bytes and modification time of a file: what "unchanged" means below.
struct FileState {
  std::string bytes;
  int64_t mtime_ns = 0;
  bool operator==(const FileState& other) const {
    return bytes == other.bytes && mtime_ns == other.mtime_ns;
  }
};
FileState state_of(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return {};
  return {slurp(path),
          static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec};
}

// Writes `value` over the element at `index` of the dataset `name` of the file at `path` (HDF5's
// own serial API: converted to the dataset's stored type).
template <typename T>
void overwrite(const std::string& path, const std::string& name, const std::vector<hsize_t>& index,
               T value) {
  h5::Hid file = h5::file_id(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  h5::Hid dataset = h5::dataset_id(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT));
  h5::Hid space = h5::dataspace_id(H5Dget_space(dataset.get()));
  std::vector<hsize_t> one(index.size(), 1);
  RGFLOW_H5(
      H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, index.data(), nullptr, one.data(), nullptr));
  h5::Hid memory = h5::simple_space({1});
  const hid_t type = std::is_integral_v<T> ? H5T_NATIVE_UINT64 : H5T_NATIVE_DOUBLE;
  RGFLOW_H5(H5Dwrite(dataset.get(), type, memory.get(), space.get(), H5P_DEFAULT, &value));
  file.close();
}

// The value at (sample, x0, x1) of a level, as stored.
double stored_value(const std::string& path, int level, int64_t sample, int64_t x0, int64_t x1) {
  const io::DatasetReader reader(path);
  const int64_t side = reader.spec().geometry.level_side(level);
  return reader.read(level, sample, 1)[static_cast<size_t>(x0 * side + x1)];
}

// Every dataset of two files equal value for value: the fields (same_fields) and the checksums.
::testing::AssertionResult same_contents(const std::string& a, const std::string& b) {
  const auto fields = same_fields(a, b);
  if (!fields) return fields;
  if (table(a, "/checksums") != table(b, "/checksums")) {
    return ::testing::AssertionFailure() << "the checksums differ";
  }
  if (table(a, "/sample_complete") != table(b, "/sample_complete")) {
    return ::testing::AssertionFailure() << "/sample_complete differs";
  }
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------------------------
// generate -extend

TEST(Generate, ExtendGivesTheBitsOfGeneratingAtOnceOnOneAndThreeRanks) {
  TempFolder folder;
  for (const std::string dtype : {"float32", "float64"}) {
    const std::string options = kOptions + " -dtype " + dtype;
    const std::string reference = folder.file("reference_" + dtype + ".h5");
    ASSERT_EQ(run_rgflow(2, options + " -samples 11 -o " + reference).status, 0);
    // 1 rank; 3 ranks as sample groups; 3 ranks sharing each lattice (collective writes).
    int index = 0;
    for (const std::string run : {"1", "3", "3 -lattice_ranks 3 -io collective"}) {
      const int ranks = run[0] - '0';
      const std::string extra = run.size() > 1 ? run.substr(1) : "";
      const std::string output = folder.file(dtype + std::to_string(index++) + ".h5");
      ASSERT_EQ(run_rgflow(2, options + " -samples 4 -o " + output).status, 0);
      auto result = run_rgflow(ranks, options + extra + " -extend 7 -o " + output);
      ASSERT_EQ(result.status, 0) << result.err;
      // A second extension of an extended file.
      result = run_rgflow(ranks, options + extra + " -extend 11 -o " + output);
      ASSERT_EQ(result.status, 0) << result.err;
      EXPECT_FALSE(file_exists(output + ".partial"));
      EXPECT_TRUE(io::DatasetReader(output).complete());
      EXPECT_TRUE(same_contents(reference, output)) << dtype << " on " << run << " rank(s)";
    }
  }
}

TEST(Generate, ARefusedExtensionLeavesTheFileUnchanged) {
  TempFolder folder;
  const std::string output = folder.file("data.h5");
  ASSERT_EQ(run_rgflow(1, kOptions + " -samples 4 -o " + output).status, 0);
  const FileState before = state_of(output);
  struct Case {
    std::string options, expected;
  };
  const std::vector<Case> cases{
      {"generate -quiet -d 2 -L 48 -b 2 -levels 2 -seed 14 -extend 8", "-seed 13 (this run: 14)"},
      {kOptions + " -distribution laplace -extend 8", "-distribution uniform (this run: laplace)"},
      {kOptions + " -dtype float64 -extend 8", "-dtype float32 (this run: float64)"},
      {"generate -quiet -d 2 -L 48 -b 2 -levels 1 -seed 13 -extend 8", "-levels 2 (this run: 1)"},
      {kOptions + " -samples 5 -extend 8", "-samples 4 (this run: 5)"},
      {kOptions + " -extend 4", "-extend: 4 is not larger than the 4 samples"},
      {kOptions + " -extend 3", "-extend: 3 is not larger than the 4 samples"},
  };
  int index = 0;
  for (const auto& c : cases) {
    const int ranks = 2 - index++ % 2;  // 2 ranks, then 1, ..
    expect_one_line_failure(run_rgflow(ranks, c.options + " -o " + output), c.expected, c.options);
    EXPECT_TRUE(state_of(output) == before) << c.options << ": the file changed";
    EXPECT_FALSE(file_exists(output + ".partial")) << c.options;
  }
  expect_one_line_failure(run_rgflow(2, kOptions + " -extend 8 -o " + folder.file("none.h5")),
                          "does not exist", "a missing file");

  // An incomplete file (an interrupted run's partial file under the final name) is refused.
  const std::string budget = " -test_memory_bytes 4000";
  const std::string interrupted = folder.file("interrupted.h5");
  ASSERT_NE(
      run_rgflow(1, kOptions + budget + " -samples 4 -test_stop_after_chunks 2 -o " + interrupted)
          .status,
      0);
  ASSERT_EQ(std::rename((interrupted + ".partial").c_str(), interrupted.c_str()), 0);
  const FileState incomplete = state_of(interrupted);
  expect_one_line_failure(run_rgflow(2, kOptions + " -extend 8 -o " + interrupted),
                          "is not complete", "an incomplete file");
  EXPECT_TRUE(state_of(interrupted) == incomplete);

  // A damaged file: its stored values no longer match their checksums. The extension copies
  // samples and checks them, and stops at the first that does not match, leaving the file.
  overwrite(output, "/level_1/field", {2, 5, 7}, 0.125);
  const FileState damaged = state_of(output);
  expect_one_line_failure(run_rgflow(2, kOptions + " -extend 8 -o " + output),
                          "is damaged: level 1, sample 2", "a damaged file");
  EXPECT_TRUE(state_of(output) == damaged);
}

TEST(Generate, AnInterruptedExtensionResumesToTheSameFile) {
  TempFolder folder;
  // Tiles of a few block rows: many write steps per sample, so the crash falls inside the copy.
  const std::string budget = " -test_memory_bytes 4000";
  const std::string reference = folder.file("reference.h5");
  ASSERT_EQ(run_rgflow(1, kOptions + " -samples 9 -o " + reference).status, 0);
  const std::string output = folder.file("data.h5");
  ASSERT_EQ(run_rgflow(2, kOptions + " -samples 3 -o " + output).status, 0);
  const FileState before = state_of(output);

  auto result =
      run_rgflow(2, kOptions + budget + " -extend 9 -test_stop_after_chunks 7 -o " + output);
  ASSERT_EQ(result.status, 3) << "the test hook ends the run as a crash would\n" << result.err;
  ASSERT_TRUE(file_exists(output + ".partial"));
  EXPECT_TRUE(state_of(output) == before) << "the original must stay readable and complete";
  const auto marks = table(output + ".partial", "/sample_complete");
  EXPECT_GT(std::count(marks.begin(), marks.end(), 1.0), 0);
  EXPECT_LT(std::count(marks.begin(), marks.end(), 1.0), 9);
  ASSERT_EQ(run_rgflow(1, "info -data " + output + " -verify").status, 0);

  // Rerunning without -resume is refused (as for generate), with the remedy.
  expect_one_line_failure(run_rgflow(2, kOptions + " -extend 9 -o " + output), "-resume",
                          "a leftover partial extension");
  // Resumed on another rank count and budget: the file of an uninterrupted run.
  result = run_rgflow(3, kOptions + " -extend 9 -resume -o " + output);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_FALSE(file_exists(output + ".partial"));
  EXPECT_TRUE(same_contents(reference, output));
  // A retried job whose extension had finished does nothing and succeeds.
  const FileState done = state_of(output);
  result = run_rgflow(2, kOptions + " -extend 9 -resume -o " + output);
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(state_of(output) == done);
}

// One rank fails at any phase of an extension: every rank ends with the same line, the original
// is untouched, and -extend -resume finishes the extension (RGFLOW_INJECT_FAILURE, see
// include/rgflow/core/mpi.hpp).
TEST(Generate, AFailureOnOneRankDuringAnExtensionEndsEveryRankAndResumes) {
  TempFolder folder;
  const std::string reference = folder.file("reference.h5");
  ASSERT_EQ(run_rgflow(1, kOptions + " -samples 6 -o " + reference).status, 0);
  for (const std::string phase : {"generate: check the dataset to extend", "generate: compute",
                                  "generate: write", "generate: finish"}) {
    const std::string output = folder.file("data.h5");
    std::remove(output.c_str());
    ASSERT_EQ(run_rgflow(2, kOptions + " -samples 2 -o " + output).status, 0);
    const FileState before = state_of(output);
    const auto result = run_rgflow(2, kOptions + " -extend 6 -o " + output,
                                   "RGFLOW_INJECT_FAILURE='" + phase + "@1'");
    expect_one_line_failure(result, "injected failure in " + phase + " on rank 1", phase);
    EXPECT_TRUE(state_of(output) == before) << phase;
    EXPECT_FALSE(file_exists(output + ".lock")) << phase;
    const auto resumed = run_rgflow(2, kOptions + " -extend 6 -resume -o " + output);
    ASSERT_EQ(resumed.status, 0) << phase << "\n" << resumed.err;
    EXPECT_TRUE(same_contents(reference, output)) << phase;
  }
}

// ---------------------------------------------------------------------------------------------
// info -verify

// The one line of a failed -verify, checked to be the same on 1 and 3 ranks.
std::string verify_failure(const std::string& path, const std::string& expected) {
  std::string line;
  for (int ranks : {1, 3}) {
    const auto result = run_rgflow(ranks, "info -data " + path + " -verify");
    expect_one_line_failure(result, expected, path + " on " + std::to_string(ranks) + " ranks");
    const auto lines = result.rgflow_error_lines();
    if (lines.empty()) return "";
    if (!line.empty()) {
      EXPECT_EQ(lines[0], line) << "the message depends on the rank count";
    }
    line = lines[0];
  }
  return line;
}

TEST(Info, VerifyPassesOnGoodFilesAndNamesTheFirstProblem) {
  TempFolder folder;
  const std::string good = folder.file("good.h5");
  ASSERT_EQ(run_rgflow(2, kOptions + " -samples 7 -o " + good).status, 0);
  for (int ranks : {1, 2, 3}) {
    const auto result = run_rgflow(ranks, "info -data " + good + " -verify");
    ASSERT_EQ(result.status, 0) << result.err;
    EXPECT_NE(result.out.find("every checksum matches"), std::string::npos) << result.out;
  }
  const std::string copy = "cp " + good + " ";

  // A coarse value changed: not the block map of the level below (nor its checksum); named by
  // level, sample and site (row-major: 7 * 12 + 3 at level 2, side 12).
  const std::string coarse = folder.file("coarse.h5");
  ASSERT_EQ(std::system((copy + coarse).c_str()), 0);
  const double before = stored_value(coarse, 2, 5, 7, 3);
  overwrite(coarse, "/level_2/field", {5, 7, 3}, before + 0.5);
  // A later problem too (sample 6): the first one is reported whichever rank finds it.
  overwrite(coarse, "/level_1/field", {6, 0, 0}, 7.0);
  verify_failure(coarse, "level 2, sample 5, site 87: stored ");

  // A level-0 value changed: caught by its checksum (level 0 has no level below).
  const std::string fine = folder.file("fine.h5");
  ASSERT_EQ(std::system((copy + fine).c_str()), 0);
  overwrite(fine, "/level_0/field", {3, 40, 2}, 0.75);
  verify_failure(fine, "level 0, sample 3: checksum 0x");

  // A changed checksum: the values are right, the stored sum is not.
  const std::string sum = folder.file("sum.h5");
  ASSERT_EQ(std::system((copy + sum).c_str()), 0);
  overwrite(sum, "/checksums", {1, 4}, uint64_t{12345});
  verify_failure(sum, "level 1, sample 4: checksum 0x0000000000003039 stored");

  // A non-finite value.
  const std::string nan = folder.file("nan.h5");
  ASSERT_EQ(std::system((copy + nan).c_str()), 0);
  overwrite(nan, "/level_0/field", {1, 0, 9}, std::numeric_limits<double>::quiet_NaN());
  verify_failure(nan, "level 0, sample 1, site 9 holds NaN");

  // Completeness flags and attributes.
  const std::string flags = folder.file("flags.h5");
  ASSERT_EQ(std::system((copy + flags).c_str()), 0);
  overwrite(flags, "/sample_complete", {4}, 0.0);
  verify_failure(flags, "sample 4 is not marked complete");
  const std::string attributes = folder.file("attributes.h5");
  ASSERT_EQ(std::system((copy + attributes).c_str()), 0);
  {
    h5::Hid file = h5::file_id(H5Fopen(attributes.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    h5::Hid group = h5::group_id(H5Gopen2(file.get(), "/level_1", H5P_DEFAULT));
    RGFLOW_H5(H5Adelete(group.get(), "L_k"));
    h5::write_attribute(group.get(), "L_k", int64_t{12});
    file.close();
  }
  verify_failure(attributes, "/level_1 attribute L_k is not L / b^k");
}

// Files of rgflow 0.1.0 have no checksums: everything else is verified, and the output says so.
TEST(Info, GoldenFilesWithoutChecksumsStillVerify) {
  auto result = run_rgflow(2, "info -data " + kGoldenDataset + " -verify");
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_NE(result.out.find("checksums absent"), std::string::npos) << result.out;
  // A changed coarse value of such a file is found by the block map alone.
  TempFolder folder;
  const std::string copy = folder.file("golden.h5");
  ASSERT_EQ(std::system(("cp " + kGoldenDataset + " " + copy).c_str()), 0);
  overwrite(copy, "/level_1/field", {9, 2, 3}, 4.0);
  verify_failure(copy, "level 1, sample 9, site 19: stored 4, but the block map of level 0");
  // And it extends: the new file has checksums for every sample and verifies.
  const std::string golden_options =
      "generate -quiet -d 2 -L 16 -b 2 -levels 3 -distribution uniform -seed 11 -dtype float32";
  const std::string extended = folder.file("extended.h5");
  ASSERT_EQ(std::system(("cp " + kGoldenDataset + " " + extended).c_str()), 0);
  result = run_rgflow(2, golden_options + " -extend 20 -o " + extended);
  ASSERT_EQ(result.status, 0) << result.err;
  const std::string at_once = folder.file("at_once.h5");
  ASSERT_EQ(run_rgflow(1, golden_options + " -samples 20 -o " + at_once).status, 0);
  EXPECT_TRUE(same_contents(at_once, extended));
}

}  // namespace
}  // namespace rgflow::e2e
