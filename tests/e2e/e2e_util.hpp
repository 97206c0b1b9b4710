// Helpers for end-to-end tests: run the rgflow executable under mpiexec, read its files back.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../test_text.hpp"

namespace rgflow::e2e {

using tests::slurp;
using tests::write_text;

struct RunResult {
  int status = -1;  // exit status of mpiexec (non-zero if any rank failed)
  std::string out;
  std::string err;
  /// Lines of stderr written by rgflow itself (launcher messages and rgflow's notes excluded).
  std::vector<std::string> rgflow_error_lines() const;
};

/// "ASAN_OPTIONS='...' " for the rgflow processes a test starts when RGFLOW_E2E_RGFLOW_ASAN_OPTIONS
/// is set (the sanitizer build sets it for most e2e entries: every check but the leak check, which
/// costs each MPI process seconds at its exit; see docs/reliability.md), else "".
std::string rgflow_sanitizer_environment();

/// RGFLOW_TEST_TIMEOUT_SCALE (a whole number, default 1): the factor on every run's time bound.
/// The sanitizer build sets it (its runs are several times slower, more on a loaded machine); a
/// real hang still ends in status 124, only later.
int timeout_scale();

/// Runs `mpiexec -n ranks rgflow <arguments>`, with extra `environment` ("NAME=value ...", e.g.
/// "RGFLOW_INJECT_FAILURE='train: save@1'") when given, bounded by `timeout_seconds` times
/// timeout_scale(): a run still going then is killed and reported as status 124 (a hang). The
/// environment starts with rgflow_sanitizer_environment().
RunResult run_rgflow(int ranks, const std::string& arguments, const std::string& environment = "",
                     int timeout_seconds = 300);

/// The rule for every bad input: exit status 1 (not a timeout, not an abort or a signal), exactly
/// one line from rgflow on stderr, naming `expected`, and no MPI_ABORT, signal or PETSc trace.
/// `what` names the case in failure messages.
void expect_one_line_failure(const RunResult& result, const std::string& expected,
                             const std::string& what);

/// A fresh empty folder under /tmp, removed with its contents by the destructor.
class TempFolder {
 public:
  TempFolder();
  ~TempFolder();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

bool file_exists(const std::string& path);

/// Every value of an HDF5 dataset (by path inside the file) as double, flattened.
std::vector<double> table(const std::string& path, const std::string& name);

/// Every level of two datasets equal value for value (reports the first difference).
::testing::AssertionResult same_fields(const std::string& a, const std::string& b);

}  // namespace rgflow::e2e
