#include "rgflow/core/error.hpp"

#include <cstring>

namespace rgflow {

std::string source_location(const char* file, int line) {
  const char* slash = std::strrchr(file, '/');
  return std::string(slash ? slash + 1 : file) + ":" + std::to_string(line);
}

}  // namespace rgflow
