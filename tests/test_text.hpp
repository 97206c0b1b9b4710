// Small text-file helpers shared by the test programs (header-only: the MPI, end-to-end and
// mutation tests link different libraries).
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace rgflow::tests {

/// The whole content of a file ("" when it cannot be read).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Writes `text` as the whole content of the file `path`.
inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

}  // namespace rgflow::tests
