// A file name of this rank and process under /tmp, removed at scope exit (also when an assertion
// fails): what the MPI tests write and read back.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

#include "rgflow/core/mpi.hpp"

namespace rgflow::testing {

class TemporaryFile {
 public:
  explicit TemporaryFile(const std::string& stem)
      : path_("/tmp/rgflow_" + stem + "_" + std::to_string(Comm().rank()) + "_" +
              std::to_string(getpid()) + ".h5") {}
  ~TemporaryFile() { std::remove(path_.c_str()); }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace rgflow::testing
