#include "rgflow/io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace rgflow::io {
namespace {

bool exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

std::string folder_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The verdict of rank 0 alone: the file system may differ between nodes only in timing, and one
// rank's look is what every rank will act on.
std::string check_on_root(const std::string& final_path, const std::string& option, bool force,
                          bool resume, OutputState* state) {
  const std::string folder = folder_of(final_path);
  struct stat info;
  if (final_path.empty() || final_path.back() == '/') {
    return "option " + option + ": '" + final_path + "' is not a file name";
  }
  if (stat(folder.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return "option " + option + ": output folder '" + folder + "' does not exist";
  }
  // Try it: permission bits say nothing for root, nor for read-only mounts.
  const std::string probe = folder + "/.rgflow-write-probe-" + std::to_string(getpid());
  const int probe_fd = open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (probe_fd < 0) {
    return "option " + option + ": output folder '" + folder + "' is not writable (" +
           std::strerror(errno) + ")";
  }
  close(probe_fd);
  unlink(probe.c_str());
  const std::string partial = partial_path(final_path);
  *state = OutputState::kFresh;
  if (exists(final_path)) {
    if (resume && !force) {
      *state = OutputState::kComplete;
      return "";
    }
    if (!force) {
      return "option " + option + ": output '" + final_path +
             "' exists (use -force to overwrite it)";
    }
  }
  if (exists(partial)) {
    if (resume && !force) {
      *state = OutputState::kResume;
    } else if (force) {
      if (std::remove(partial.c_str()) != 0) {
        return "cannot remove stale partial output '" + partial + "': " + std::strerror(errno);
      }
    } else {
      return "a partial output '" + partial +
             "' from an interrupted run exists (use -resume to continue it or -force to start "
             "over)";
    }
  }
  return "";
}

}  // namespace

std::string partial_path(const std::string& final_path) {
  return final_path + ".partial";
}

OutputState prepare_output(const Comm& comm, const std::string& final_path,
                           const std::string& option, bool force, bool resume) {
  OutputState state = OutputState::kFresh;
  std::string error;
  if (comm.rank() == 0) error = check_on_root(final_path, option, force, resume, &state);
  comm.raise_if_any(error);
  int code = static_cast<int>(state);
  RGFLOW_MPI(MPI_Bcast(&code, 1, MPI_INT, 0, comm.get()));
  return static_cast<OutputState>(code);
}

void commit_output(const Comm& comm, const std::string& final_path) {
  comm.barrier();
  std::string error;
  if (comm.rank() == 0) {
    const std::string partial = partial_path(final_path);
    if (std::rename(partial.c_str(), final_path.c_str()) != 0) {
      error = "cannot rename '" + partial + "' to '" + final_path + "': " + std::strerror(errno);
    }
  }
  comm.raise_if_any(error);
}

}  // namespace rgflow::io
