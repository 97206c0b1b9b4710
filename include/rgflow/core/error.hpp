// Errors: every failure rgflow reports is one of these exceptions, caught once in main(), printed
// as one line on rank 0, and turned into a non-zero exit status.
#pragma once

#include <stdexcept>
#include <string>

namespace rgflow {

/// `text` with every control character written as an escape (\n, \t, \xHH), so that text taken
/// from the user (an option name or value, a YAML key) cannot split a one-line message.
inline std::string one_line(const std::string& text) {
  static const char kHex[] = "0123456789abcdef";
  std::string line;
  line.reserve(text.size());
  for (const char c : text) {
    const auto code = static_cast<unsigned char>(c);
    if (c == '\n') {
      line += "\\n";
    } else if (c == '\t') {
      line += "\\t";
    } else if (code < 0x20 || code == 0x7f) {
      line += "\\x";
      line += kHex[code >> 4];
      line += kHex[code & 15];
    } else {
      line += c;
    }
  }
  return line;
}

/// Something the user can fix: a bad option value, a missing or malformed input file, an output
/// that already exists. Raised identically on every rank (the check runs on replicated data, or
/// its outcome is broadcast first), so every rank ends cleanly without MPI_Abort.
class UsageError : public std::runtime_error {
 public:
  /// The message is kept on one line whatever user text it quotes (one_line).
  explicit UsageError(const std::string& message) : std::runtime_error(one_line(message)) {}
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

/// Work that every rank must attempt in full even after a part failed (collective writes: a rank
/// that stopped early would leave the others waiting): each attempt's exception is caught and the
/// first message kept, for the ranks to agree on afterwards (Comm::raise_if_any).
class FirstFailure {
 public:
  template <typename Work>
  void attempt(Work&& work) {
    try {
      work();
    } catch (const std::exception& failure) {
      if (message_.empty()) message_ = failure.what();
    }
  }
  bool failed() const { return !message_.empty(); }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

/// "file.cpp:123" for messages.
std::string source_location(const char* file, int line);

}  // namespace rgflow
