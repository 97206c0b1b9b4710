#include "e2e_util.hpp"

#include "rgflow/core/hdf5.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "rgflow/io/dataset.hpp"

namespace rgflow::e2e {

std::vector<std::string> RunResult::rgflow_error_lines() const {
  std::vector<std::string> lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    // Notes (e.g. a stale lock of a killed run taken over) are not errors.
    if (line.rfind("rgflow", 0) == 0 && line.rfind("rgflow: note:", 0) != 0) {
      lines.push_back(line);
    }
  }
  return lines;
}

std::string rgflow_sanitizer_environment() {
  const char* options = std::getenv("RGFLOW_E2E_RGFLOW_ASAN_OPTIONS");
  return options == nullptr ? "" : "ASAN_OPTIONS='" + std::string(options) + "' ";
}

int timeout_scale() {
  const char* text = std::getenv("RGFLOW_TEST_TIMEOUT_SCALE");
  const int scale = text == nullptr ? 1 : std::atoi(text);
  return scale >= 1 ? scale : 1;
}

RunResult run_rgflow(int ranks, const std::string& arguments, const std::string& environment,
                     int timeout_seconds) {
  // Open MPI refuses root without these; set here so the binary also runs outside CTest.
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  TempFolder logs;
  const std::string variables = rgflow_sanitizer_environment() + environment;
  const std::string command = (variables.empty() ? "" : "env " + variables + " ") +
                              "timeout -k 10 " + std::to_string(timeout_seconds * timeout_scale()) +
                              " " + RGFLOW_MPIEXEC + " --oversubscribe -n " +
                              std::to_string(ranks) + " " + RGFLOW_EXE + " " + arguments + " > " +
                              logs.file("out") + " 2> " + logs.file("err") + " < /dev/null";
  RunResult result;
  const int raw = std::system(command.c_str());
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128;
  result.out = slurp(logs.file("out"));
  result.err = slurp(logs.file("err"));
  return result;
}

void expect_one_line_failure(const RunResult& result, const std::string& expected,
                             const std::string& what) {
  EXPECT_NE(result.status, 124) << what << ": timed out (a hang)";
  EXPECT_EQ(result.status, 1) << what << "\n" << result.err;
  const auto lines = result.rgflow_error_lines();
  ASSERT_EQ(lines.size(), 1u) << what << "\nstderr:\n" << result.err;
  EXPECT_NE(lines[0].find(expected), std::string::npos)
      << what << ": '" << lines[0] << "' should mention '" << expected << "'";
  EXPECT_EQ(result.err.find("MPI_ABORT"), std::string::npos) << what << "\n" << result.err;
  EXPECT_EQ(result.err.find("Signal"), std::string::npos) << what << "\n" << result.err;
  EXPECT_EQ(result.err.find("PETSC ERROR"), std::string::npos) << what << "\n" << result.err;
}

TempFolder::TempFolder() {
  char pattern[] = "/tmp/rgflow_e2e_XXXXXX";
  path_ = mkdtemp(pattern);
}

TempFolder::~TempFolder() {
  const std::string command = "rm -rf '" + path_ + "'";
  if (std::system(command.c_str()) != 0) std::perror("rm");
}

bool file_exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

::testing::AssertionResult same_fields(const std::string& a, const std::string& b) {
  const io::DatasetReader first(a), second(b);
  const std::string difference = first.spec().difference(second.spec());
  if (!difference.empty()) return ::testing::AssertionFailure() << "specs differ: " << difference;
  const auto& spec = first.spec();
  for (int level = 0; level <= spec.geometry.levels; ++level) {
    const auto x = first.read(level, 0, spec.samples);
    const auto y = second.read(level, 0, spec.samples);
    for (size_t i = 0; i < x.size(); ++i) {
      if (x[i] != y[i]) {
        return ::testing::AssertionFailure()
               << "level " << level << " value " << i << ": " << x[i] << " vs " << y[i];
      }
    }
  }
  return ::testing::AssertionSuccess();
}

std::vector<double> table(const std::string& path, const std::string& name) {
  h5::Hid file = h5::file_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  h5::Hid dataset = h5::dataset_id(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT));
  h5::Hid space = h5::dataspace_id(H5Dget_space(dataset.get()));
  std::vector<double> values(static_cast<size_t>(H5Sget_simple_extent_npoints(space.get())));
  RGFLOW_H5(
      H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
  return values;
}

}  // namespace rgflow::e2e
