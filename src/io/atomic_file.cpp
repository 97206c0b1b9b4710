#include "rgflow/io/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "rgflow/core/text.hpp"

namespace rgflow::io {
namespace {

bool exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

bool is_folder(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::string folder_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {0};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown-host";
  return name;
}

// The whole content of a small file, or nullopt-like false when it cannot be read.
bool read_small_file(const std::string& path, std::string* text) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[512];
  const ssize_t length = read(fd, buffer, sizeof buffer);
  close(fd);
  if (length < 0) return false;
  text->assign(buffer, static_cast<size_t>(length));
  return true;
}

// Writes `claim` to a new file `path`: 0, or the errno of the failure (EEXIST when `path`
// exists). The claim goes to a file of this process first, which is then hard-linked to `path`
// (atomic, and refused when `path` exists), so another job never reads the lock empty or half
// written: it would take a live job's lock for an unreadable one. Where hard links are not
// supported, exclusive creation, then the write.
int create_claim(const std::string& path, const std::string& claim) {
  auto write_new = [&claim](const std::string& name) {
    const int fd = open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    const ssize_t written = write(fd, claim.data(), claim.size());
    int error = written < 0 ? errno : 0;
    if (written >= 0 && written != static_cast<ssize_t>(claim.size())) error = ENOSPC;
    if (close(fd) != 0 && error == 0) error = errno;
    if (error != 0) unlink(name.c_str());
    return error;
  };
  const std::string own = path + ".claim-" + std::to_string(getpid());
  unlink(own.c_str());  // left by a killed process of the same id
  if (const int error = write_new(own)) return error;
  const int error = link(own.c_str(), path.c_str()) == 0 ? 0 : errno;
  unlink(own.c_str());
  if (error == EPERM || error == ENOTSUP || error == EOPNOTSUPP) return write_new(path);
  return error;
}

// Who holds a lock, parsed from its claim "<host> <pid>\n".
struct Claim {
  std::string host;
  long pid = 0;
  bool valid = false;
};

Claim parse_claim(const std::string& text) {
  Claim claim;
  std::istringstream in(text);
  if (in >> claim.host >> claim.pid && claim.pid > 0) claim.valid = true;
  return claim;
}

// Whether `pid` is a live process (kill(pid, 0) is the portable test; EPERM means it exists under
// another user). A zombie (ended, not yet reaped by its parent) holds nothing: not alive.
bool process_alive(pid_t pid) {
  if (kill(pid, 0) != 0) return errno != ESRCH;
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(stat_file, stat);
  const auto name_end = stat.rfind(')');
  if (name_end == std::string::npos || name_end + 2 >= stat.size()) return true;
  const char state = stat[name_end + 2];
  return state != 'Z' && state != 'X';
}

// True when the process of a claim made on this host has ended. A killed job's ranks may still be
// exiting when the next job starts: a live holder gets two seconds to end before it counts.
bool ended_here(const Claim& claim) {
  if (!claim.valid || claim.host != host_name()) return false;
  for (int wait = 0; wait < 40; ++wait) {
    if (!process_alive(static_cast<pid_t>(claim.pid))) return true;
    usleep(50 * 1000);
  }
  return false;
}

std::string holder_text(const std::string& path, const std::string& what, const Claim& claim) {
  if (!claim.valid) {
    return what + " is locked by '" + path +
           "', whose content is unreadable (remove it if no job is writing " + what + ")";
  }
  if (claim.host != host_name()) {
    // Whether a process on another host still runs cannot be seen from here: never taken over.
    return what + " is being written by process " + std::to_string(claim.pid) + " on host " +
           claim.host + ", which cannot be checked from host " + host_name() + " (lock '" + path +
           "'; if you are sure that job has ended, remove the lock: rm '" + path + "')";
  }
  return what + " is being written by process " + std::to_string(claim.pid) + " on host " +
         claim.host + " (lock '" + path + "'; if that job has ended, remove the lock)";
}

// The locks prepare_output took in this process, by final path, until commit_output,
// release_output or release_all_outputs.
std::map<std::string, FileLock>& held_locks() {
  static std::map<std::string, FileLock> locks;
  return locks;
}

void release_held(const std::string& final_path);

// The verdict of rank 0 alone: the file system may differ between nodes only in timing, and one
// rank's look is what every rank will act on.
std::string check_on_root(const std::string& final_path, const std::string& option, bool force,
                          bool resume, Resumable resumable, bool extend, OutputState* state) {
  const std::string folder = folder_of(final_path);
  struct stat info;
  if (final_path.empty() || final_path.back() == '/') {
    return "option " + option + ": '" + final_path + "' is not a file name";
  }
  if (stat(folder.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return "option " + option + ": output folder '" + folder + "' does not exist";
  }
  if (is_folder(final_path)) {
    return "option " + option + ": the output '" + final_path + "' is a folder, not a file name";
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
  // The lock first: what is on disk is only worth looking at once no other job can change it.
  // A claim this process made earlier on the same output is superseded.
  release_held(final_path);
  FileLock lock;
  const std::string held =
      FileLock::acquire(lock_path(final_path), "output '" + final_path + "'", &lock);
  if (!held.empty()) return "option " + option + ": " + held;
  const std::string partial = partial_path(final_path);
  *state = OutputState::kFresh;
  if (extend) {
    // The output is the input of its own extension: it must be there, and stays until the
    // extended file replaces it.
    if (!exists(final_path)) {
      return "option " + option + ": '" + final_path +
             "' does not exist (-extend grows an existing dataset)";
    }
  } else if (exists(final_path)) {
    if (resume && !force) {
      *state = OutputState::kComplete;
      held_locks()[final_path] = std::move(lock);
      return "";
    }
    if (!force) {
      return "option " + option + ": output '" + final_path +
             "' exists (use -force to overwrite it)";
    }
  }
  if (exists(partial)) {
    if (resume && !force && resumable == Resumable::kNo) {
      return "a partial output '" + partial +
             "' from an interrupted run exists and this output cannot be resumed (use -force to "
             "start over)";
    }
    if (resume && !force) {
      *state = OutputState::kResume;
    } else if (force) {
      if (std::remove(partial.c_str()) != 0) {
        return "cannot remove stale partial output '" + partial + "': " + std::strerror(errno);
      }
    } else {
      return "a partial output '" + partial + "' from an interrupted run exists (use " +
             (resumable == Resumable::kYes ? "-resume to continue it or -force to start over"
                                           : "-force to start over") +
             ")";
    }
  }
  held_locks()[final_path] = std::move(lock);
  return "";
}

void release_held(const std::string& final_path) {
  held_locks().erase(final_path);
}

}  // namespace

FileLock::FileLock(FileLock&& other) noexcept
    : path_(std::exchange(other.path_, std::string())),
      claim_(std::exchange(other.claim_, std::string())) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::exchange(other.path_, std::string());
    claim_ = std::exchange(other.claim_, std::string());
  }
  return *this;
}

FileLock::~FileLock() {
  release();
}

void FileLock::release() {
  if (path_.empty()) return;
  // Remove only our own claim: never a lock another job took over meanwhile.
  std::string text;
  if (read_small_file(path_, &text) && text == claim_) unlink(path_.c_str());
  path_.clear();
  claim_.clear();
}

std::string FileLock::acquire(const std::string& path, const std::string& what, FileLock* lock) {
  const std::string claim = host_name() + " " + std::to_string(getpid()) + "\n";
  // A few rounds: a stale lock is moved aside, then the exclusive creation is tried again.
  for (int attempt = 0; attempt < 4; ++attempt) {
    const int error = create_claim(path, claim);
    if (error == 0) {
      lock->release();
      lock->path_ = path;
      lock->claim_ = claim;
      return "";
    }
    if (error != EEXIST) return "cannot create the lock '" + path + "': " + std::strerror(error);
    std::string text;
    if (!read_small_file(path, &text)) continue;  // released meanwhile: try again
    const Claim holder = parse_claim(text);
    if (!ended_here(holder)) return holder_text(path, what, holder);
    // The holder has ended. Move its lock aside atomically; if what moved is not the stale claim
    // (another job took the lock over in between), put it back and look again.
    const std::string aside = path + ".stale-" + std::to_string(getpid());
    if (std::rename(path.c_str(), aside.c_str()) != 0) continue;
    std::string moved;
    read_small_file(aside, &moved);
    if (moved != text) {
      if (link(aside.c_str(), path.c_str()) != 0) {
        // The path was taken again: the moved claim is lost to its owner, who will see its lock
        // gone at release; nothing better can be done without a lock on the lock.
      }
      unlink(aside.c_str());
      continue;
    }
    unlink(aside.c_str());
    std::fprintf(stderr,
                 "rgflow: note: taking over the lock '%s' of process %ld on this host, which has "
                 "ended\n",
                 path.c_str(), holder.pid);
  }
  return "cannot take the lock '" + path + "' (it keeps changing: another job is starting on " +
         what + ")";
}

std::string FileLock::held_by_other(const std::string& path, const std::string& what) {
  std::string text;
  if (!read_small_file(path, &text)) return "";
  const Claim holder = parse_claim(text);
  if (ended_here(holder)) return "";
  return holder_text(path, what, holder);
}

std::string partial_path(const std::string& final_path) {
  return final_path + ".partial";
}

std::string lock_path(const std::string& final_path) {
  return final_path + ".lock";
}

namespace {

// prepare_output and prepare_extension: rank 0 looks, every rank gets its verdict. Collective
// over `comm`.
OutputState prepare(const Comm& comm, const std::string& final_path, const std::string& option,
                    bool force, bool resume, Resumable resumable, bool extending) {
  OutputState state = OutputState::kFresh;
  comm.on_root([&] {
    const std::string error =
        check_on_root(final_path, option, force, resume, resumable, extending, &state);
    if (!error.empty()) throw UsageError(error);
  });
  int code = static_cast<int>(state);
  RGFLOW_MPI(MPI_Bcast(&code, 1, MPI_INT, 0, comm.get()));
  return static_cast<OutputState>(code);
}

}  // namespace

OutputState prepare_output(const Comm& comm, const std::string& final_path,
                           const std::string& option, bool force, bool resume,
                           Resumable resumable) {
  return prepare(comm, final_path, option, force, resume, resumable, false);
}

OutputState prepare_extension(const Comm& comm, const std::string& final_path,
                              const std::string& option, bool force, bool resume) {
  return prepare(comm, final_path, option, force, resume, Resumable::kYes, true);
}

void commit_output(const Comm& comm, const std::string& final_path) {
  comm.barrier();
  comm.on_root([&] {
    const std::string partial = partial_path(final_path);
    const bool renamed = std::rename(partial.c_str(), final_path.c_str()) == 0;
    const std::string reason = renamed ? "" : std::strerror(errno);
    release_output(final_path);
    if (!renamed) {
      throw UsageError("cannot rename '" + partial + "' to '" + final_path + "': " + reason);
    }
  });
}

PartialOutputDiscard::PartialOutputDiscard(const Comm& comm, std::string final_path)
    : root_(comm.rank() == 0),
      final_path_(std::move(final_path)),
      exceptions_(std::uncaught_exceptions()) {}

PartialOutputDiscard::~PartialOutputDiscard() {
  if (root_ && std::uncaught_exceptions() > exceptions_) unlink(partial_path(final_path_).c_str());
}

void keep_complete_output(const Comm& comm, const std::string& command,
                          const std::string& final_path, bool quiet,
                          const std::function<std::string()>& problem) {
  comm.root_phase((command + ": check existing output").c_str(), [&] {
    const std::string reason = problem();
    if (!reason.empty()) throw UsageError(reason + " (use -force to replace it)");
  });
  if (comm.rank() == 0) release_output(final_path);
  if (comm.rank() == 0 && !quiet) {
    std::printf("rgflow %s: '%s' is already complete; nothing to do\n", command.c_str(),
                final_path.c_str());
  }
}

void release_output(const std::string& final_path) {
  release_held(final_path);
}

void release_all_outputs() {
  held_locks().clear();
}

namespace {

// Writes `bytes` as the file `path` (replacing it): its blocks are reserved first (fallocate,
// where the file system has it), so a full disk or a quota is found before any byte is written,
// then written and synced. Any failure removes the file and throws WriteFailure.
void write_file_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  int fd = -1;
  auto fail = [&path, &fd](const std::string& what, int reason) {
    if (fd >= 0) ::close(fd);
    ::unlink(path.c_str());
    throw WriteFailure("writing '" + path + "' failed (" + what + std::strerror(reason) + ")");
  };
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("", errno);
  if (!bytes.empty() && fallocate(fd, 0, 0, static_cast<off_t>(bytes.size())) != 0) {
    const int reason = errno;
    if (reason != EOPNOTSUPP && reason != ENOSYS) {
      fail("reserving " + std::to_string(bytes.size()) + " bytes: ", reason);
    }
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t written = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) fail("", written == 0 ? ENOSPC : errno);
    done += static_cast<size_t>(written);
  }
  // Network file systems may report a failed write only when the data is synced or closed.
  if (::fsync(fd) != 0) fail("", errno);
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) fail("", errno);
}

}  // namespace

void replace_file_atomically(const std::string& path, const std::vector<unsigned char>& bytes,
                             const char* injection_phase) {
  const std::string temporary = path + ".tmp";
  // A failed write leaves no temporary behind and never reaches `path`.
  write_file_bytes(temporary, bytes);
  struct RemoveUnlessKept {
    const std::string& file;
    bool keep = false;
    ~RemoveUnlessKept() {
      if (!keep) std::remove(file.c_str());
    }
  } cleanup{temporary};
  fail_if_injected(injection_phase, 0);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    throw LibraryError("cannot rename '" + temporary + "' to '" + path +
                       "': " + std::strerror(errno));
  }
  cleanup.keep = true;
}

std::string make_folders(const std::string& path) {
  std::string built;
  if (!path.empty() && path[0] == '/') built = "/";
  for (const std::string& part : split_list(path, '/')) {
    if (part.empty()) continue;
    built += (built.empty() || built.back() == '/' ? "" : "/") + part;
    if (mkdir(built.c_str(), 0755) != 0 && errno != EEXIST) {
      return "cannot create '" + built + "': " + std::strerror(errno);
    }
  }
  if (!is_folder(path)) return "'" + path + "' is not a folder";
  return "";
}

std::string input_file_problem(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return "does not exist";
  if (!S_ISREG(info.st_mode)) return "is not a file";
  if (!std::ifstream(path)) return "cannot be read";
  return "";
}

bool same_file(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char resolved_a[PATH_MAX], resolved_b[PATH_MAX];
  return realpath(a.c_str(), resolved_a) != nullptr && realpath(b.c_str(), resolved_b) != nullptr &&
         std::string(resolved_a) == resolved_b;
}

double modification_time(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return -1;
  return static_cast<double>(info.st_mtim.tv_sec) +
         1e-9 * static_cast<double>(info.st_mtim.tv_nsec);
}

}  // namespace rgflow::io
