// libFuzzer target: the options layer (OptionReader over PETSc's options database). The input is
// a command line (PETSc's own tokeniser, as for -options_file, so -options_string_yaml inputs
// reach PETSc's YAML reader too); a stage's worth of options of every kind is then read, with
// and without a pipeline prefix, and unused options are checked, as every stage does. Each input
// must end in values within their ranges or a UsageError of one line; anything else (a crash, a
// sanitizer report, a PETSc error escaping as LibraryError, a message of several lines) is a
// finding. PETSc is initialised once, in LLVMFuzzerInitialize.
#include <mpi.h>
#include <petscsys.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "rgflow/core/error.hpp"
#include "rgflow/core/options.hpp"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_options: %s\n", what.c_str());
  std::abort();
}

// One stage's reading of its options, as generate and train do.
void read_stage(const std::string& prefix) {
  rgflow::OptionReader options(prefix, false);
  const int64_t side = options.get_int("L", 256, "side", 1, int64_t{1} << 40);
  if (side < 1 || side > (int64_t{1} << 40)) finding("get_int returned a value out of range");
  const int64_t dim = options.get_int("d", 2, "dimension", 1, 3);
  if (dim < 1 || dim > 3) finding("get_int returned a value out of range");
  options.get_int("seed", 7, "seed", 0, INT64_MAX);
  const double lr = options.get_real("lr", 1e-3, "learning rate");
  if (!std::isfinite(lr)) finding("get_real returned a value that is not finite");
  const std::string output = options.get_string("o", "dataset.h5", "output");
  if (output.empty()) finding("get_string returned an empty value");
  const std::string choice =
      options.get_choice("distribution", "uniform", {"uniform", "gaussian", "gamma"}, "kind");
  if (choice != "uniform" && choice != "gaussian" && choice != "gamma") {
    finding("get_choice returned '" + choice + "'");
  }
  options.get_flag("force", "overwrite");
  options.get_flag("quiet", "no progress");
  options.given("resume");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  // Open MPI would replace libFuzzer's handlers of SIGABRT, SIGSEGV, ... with its own, which
  // exit without saving the input that crashed: keep libFuzzer's.
  setenv("OMPI_MCA_opal_signal", "", 1);
  int no_arguments = 0;
  MPI_Init(&no_arguments, nullptr);
  // No PETSc arguments: the fuzzer's own (-max_len=...) are not options of rgflow.
  if (PetscInitializeNoArguments() != 0) finding("PetscInitialize failed");
  PetscPushErrorHandler(PetscReturnErrorHandler, nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  // PETSc's tokeniser stops at a NUL; options naming files would read this machine's files.
  for (char& c : text) {
    if (c == '\0') c = ' ';
  }
  for (size_t at = text.find("options_file"); at != std::string::npos;
       at = text.find("options_file", at)) {
    text.replace(at, 12, "options_fill");
  }
  if (PetscOptionsClear(nullptr) != 0) finding("PetscOptionsClear failed");
  if (PetscOptionsInsertString(nullptr, text.c_str()) != 0) return 0;  // PETSc refused the text
  try {
    read_stage("");
    read_stage("generate_uniform_");
    rgflow::require_all_options_used();
  } catch (const rgflow::UsageError& error) {
    if (std::strchr(error.what(), '\n') != nullptr) {
      finding(std::string("a message of several lines: ") + error.what());
    }
  }
  return 0;
}
