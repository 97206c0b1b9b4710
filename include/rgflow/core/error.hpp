// Errors: every failure rgflow reports is one of these exceptions, caught once in main(), printed
// as one line on rank 0, and turned into a non-zero exit status.
#pragma once

#include <stdexcept>
#include <string>

namespace rgflow {

/// Something the user can fix: a bad option value, a missing or malformed input file, an output
/// that already exists. Raised identically on every rank (the check runs on replicated data, or
/// its outcome is broadcast first), so every rank ends cleanly without MPI_Abort.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A failure reported by a library (MPI, PETSc, HDF5) or the operating system. The message
/// carries the library's own text and where in rgflow the call was made.
class LibraryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws UsageError with `message` when `condition` is false.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw UsageError(message);
}

/// `text` with every control character written as an escape (\n, \t, \xHH), so that text taken
/// from the user (an option name, a YAML key) cannot split a one-line message.
std::string one_line(const std::string& text);

/// "file.cpp:123" for messages.
std::string source_location(const char* file, int line);

}  // namespace rgflow
