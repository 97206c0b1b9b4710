// Atomic outputs: a stage writes to "<output>.partial" in the output's folder and renames it to
// the final name only when complete, so a crash never leaves a half-written file under the final
// name; the partial file of an interrupted run is what -resume continues.
//
// One writer per output: prepare_output takes "<output>.lock" (created exclusively, holding the
// host name and process id of rank 0) and commit_output, release_output or the end of the process
// gives it back, so a second job writing the same output is refused instead of mixing its data
// into the first one's file. A lock left by a job that was killed (same host, process gone) is
// taken over with a note; a lock of another host never is (its process cannot be seen from here),
// and the refusal says how to remove it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "rgflow/core/error.hpp"
#include "rgflow/core/mpi.hpp"

namespace rgflow::io {

enum class OutputState {
  kFresh,     // write a new partial file from scratch
  kResume,    // a partial file exists and -resume asks to continue it
  kComplete,  // the final output exists and -resume was given: nothing left to do
};

/// Whether the stage can continue a partial output (-resume): decides what the message about a
/// leftover partial file suggests.
enum class Resumable { kNo, kYes };

std::string partial_path(const std::string& final_path);
std::string lock_path(const std::string& final_path);

/// An exclusive claim on a path: the lock file, created with O_EXCL, holds "<host> <pid>". The
/// destructor removes it (only if it still holds this process's claim). Move-only.
class FileLock {
 public:
  FileLock() = default;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  /// Takes the lock file `path` for writing `what`. Returns "" and fills `lock`, or the reason it
  /// is held (by a live process on this host, by a process on another host, or by an unreadable
  /// claim). A lock whose process has ended on this host is taken over with a note on stderr.
  static std::string acquire(const std::string& path, const std::string& what, FileLock* lock);

  /// The reason `path` is held by a live claim, or "" (without taking it).
  static std::string held_by_other(const std::string& path, const std::string& what);

  bool held() const { return !path_.empty(); }
  void release();

 private:
  std::string path_;
  std::string claim_;  // the text written into the file
};

/// Collective on `comm`: checks on rank 0 that the output's folder exists and is writable, that
/// the output is not a folder, takes the output's lock, and that existing files are allowed to be
/// replaced or resumed; removes stale files when `force`. Every rank returns the same state or
/// throws the same UsageError (and then holds no lock). `option` names the output option in
/// messages (e.g. "-o").
OutputState prepare_output(const Comm& comm, const std::string& final_path,
                           const std::string& option, bool force, bool resume,
                           Resumable resumable = Resumable::kNo);

/// Collective: prepare_output for an output that is grown in place (generate -extend): the final
/// output must exist and is left as it is (commit_output later replaces it with the grown
/// partial file); a leftover partial file is continued with `resume`, removed with `force`, and
/// refused otherwise. Returns kFresh or kResume, the same on every rank, or throws the same
/// UsageError everywhere.
OutputState prepare_extension(const Comm& comm, const std::string& final_path,
                              const std::string& option, bool force, bool resume);

/// Collective: renames the partial file to the final name on rank 0 (after every rank has closed
/// it), then releases the output's lock.
void commit_output(const Comm& comm, const std::string& final_path);

/// For an output written whole at the end, never resumed (results.h5): while it lives, leaving
/// the scope by an exception removes the partial file on rank 0 of `comm`, so a failed stage
/// leaves no partial output behind (the lock goes with release_all_outputs). Local: no
/// communication (rank 0 unlinks).
class PartialOutputDiscard {
 public:
  PartialOutputDiscard(const Comm& comm, std::string final_path);
  ~PartialOutputDiscard();
  PartialOutputDiscard(const PartialOutputDiscard&) = delete;
  PartialOutputDiscard& operator=(const PartialOutputDiscard&) = delete;

 private:
  bool root_;
  std::string final_path_;
  int exceptions_;  // std::uncaught_exceptions() when made
};

/// For an output that prepare_output found complete. Collective over `comm`: rank 0 runs
/// `problem`, which returns "" when the existing output may be kept, else why not (it may
/// throw); the reason, with " (use -force to replace it)", ends every rank as one UsageError (the
/// local phase "<command>: check existing output"). Kept: the lock is released and rank 0 says
/// "rgflow <command>: '<output>' is already complete; nothing to do" unless `quiet`.
void keep_complete_output(const Comm& comm, const std::string& command,
                          const std::string& final_path, bool quiet,
                          const std::function<std::string()>& problem);

/// Releases the lock prepare_output took for `final_path` (no-op where none is held), e.g. when
/// the output turned out to be complete already. Local.
void release_output(const std::string& final_path);

/// A file could not be written (a full disk, a quota, permissions): the message says which file
/// and why; nothing was left under its name or its temporary name.
class WriteFailure : public LibraryError {
 public:
  using LibraryError::LibraryError;
};

/// Replaces the file `path` by `bytes` atomically: writes `path`.tmp (its blocks reserved first
/// with fallocate where the file system has it, so a full disk or a quota is found before any
/// byte is written; then synced), then renames it to `path`. WriteFailure, with the temporary
/// removed and `path` untouched, when the disk refuses it; `injection_phase` is the failure
/// injection hook's name for the moment between the two (fail_if_injected, as rank 0). Local.
void replace_file_atomically(const std::string& path, const std::vector<unsigned char>& bytes,
                             const char* injection_phase);

/// Creates the folder `path` and its missing parents (mkdir -p): "" or the reason it failed.
/// Local.
std::string make_folders(const std::string& path);

/// What is wrong with `path` as an input file: "" (a regular, readable file), "does not exist",
/// "is not a file" or "cannot be read". Local.
std::string input_file_problem(const std::string& path);

/// True if both paths name the same file, compared resolved (data/x.h5 and ./data/x.h5 agree);
/// paths that do not resolve are the same only when equal. Local.
bool same_file(const std::string& a, const std::string& b);

/// The modification time of `path` in seconds (with nanoseconds), or -1 when it does not exist.
/// Local.
double modification_time(const std::string& path);

/// Releases every lock this process holds; main() calls it on every exit path. Local.
void release_all_outputs();

}  // namespace rgflow::io
