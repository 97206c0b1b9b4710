// Thin RAII layer over MPI communicators and the few collectives rgflow needs.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "rgflow/core/error.hpp"

namespace rgflow {

/// Throws LibraryError with MPI's error string when `code` is not MPI_SUCCESS.
void mpi_check(int code, const char* call, const char* file, int line);
#define RGFLOW_MPI(call) ::rgflow::mpi_check((call), #call, __FILE__, __LINE__)

/// Test hook: throws LibraryError("injected failure in <phase> on rank <r>") when the
/// environment variable RGFLOW_INJECT_FAILURE is "<phase>@<rank>" for this phase and rank, so
/// tests can make one rank fail at any named phase and check that every rank ends cleanly.
void fail_if_injected(const char* phase, int rank);

/// A communicator handle. Owning handles (from split/dup) are freed on destruction; borrowed ones
/// (MPI_COMM_WORLD, MPI_COMM_SELF) are not. Move-only.
class Comm {
 public:
  /// Borrows `comm` without taking ownership.
  explicit Comm(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm), owned_(false) {}
  Comm(Comm&& other) noexcept
      : comm_(std::exchange(other.comm_, MPI_COMM_NULL)),
        owned_(std::exchange(other.owned_, false)) {}
  Comm& operator=(Comm&& other) noexcept;
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;
  ~Comm();

  MPI_Comm get() const { return comm_; }
  int rank() const;
  int size() const;

  /// Collective: splits into sub-communicators by `color`, ordered by `key`.
  Comm split(int color, int key) const;

  /// Collective: true on every rank if `flag` is true on any rank.
  bool any(bool flag) const;
  /// Collective: sum of `value` over ranks.
  long long sum(long long value) const;
  /// Collective: element-wise sum over ranks of `values`, in place. Every rank passes a vector of
  /// the same length. A sum in which every entry is non-zero on one rank only (each rank fills
  /// its own slots, the others hold zeros) is exact, hence independent of the rank count.
  void sum(std::vector<double>& values) const;
  /// Collective: element-wise sum modulo 2^64 over ranks of `values` (unsigned addition wraps:
  /// exact, so independent of the order), in place; every rank passes the same length.
  void sum(std::vector<uint64_t>& values) const;
  /// Collective: minimum of `value` over ranks.
  int64_t min(int64_t value) const;
  /// Collective: maximum of `value` over ranks.
  double max(double value) const;
  /// Collective: broadcasts a string from `root`.
  std::string broadcast(const std::string& text, int root = 0) const;
  /// Collective.
  void barrier() const;

  /// Collective: if any rank holds an error message (non-empty), every rank throws a UsageError
  /// carrying the message of the lowest such rank. Lets a check that only one rank can make
  /// (e.g. on the file system) end every rank the same way.
  void raise_if_any(const std::string& message) const;
  /// Collective: the message of the lowest rank holding one (non-empty), on every rank; "" when
  /// no rank holds one.
  std::string first_message(const std::string& message) const;

  /// Collective: runs `work` on rank 0 alone (local work, no collective inside), then agrees on
  /// its outcome: if it threw, every rank throws an `Error` (UsageError unless given) carrying
  /// its message. For what one rank does for all: a look at the file system, a rename, a file
  /// written with serial HDF5.
  template <typename Error = UsageError, typename Work>
  void on_root(Work&& work) const {
    std::string error;
    if (rank() == 0) {
      try {
        work();
      } catch (const std::exception& failure) {
        error = failure.what();
      }
    }
    const std::string agreed = first_message(error);
    if (!agreed.empty()) throw Error(agreed);
  }

  /// Collective: runs `phase`, work local to this rank (no collective inside), then agrees on
  /// its outcome: if it threw on any rank, every rank throws the UsageError of the lowest
  /// failing rank (raise_if_any). A failure seen by one rank (a bad value in its samples, a
  /// failed read, an allocation) thus ends every rank cleanly instead of leaving the others
  /// waiting in the next collective. `name` identifies the phase for the failure-injection
  /// hook (fail_if_injected).
  template <typename Phase>
  void local_phase(const char* name, Phase&& phase) const {
    std::string error;
    try {
      fail_if_injected(name, rank());
      phase();
    } catch (const std::exception& failure) {
      error = failure.what();
    }
    raise_if_any(error);
  }

  /// Collective: local_phase whose work runs on rank 0 alone, for what one rank looks at or does
  /// for all under a phase name (a look at the file system, a lock, a file written with serial
  /// HDF5): every rank passes the failure-injection hook `name`, and a failure on any rank ends
  /// every rank with one UsageError. The one way the stages run named work on rank 0 (on_root is
  /// the layers' unnamed form, with a choice of error type).
  template <typename Work>
  void root_phase(const char* name, Work&& work) const {
    local_phase(name, [&] {
      if (rank() == 0) work();
    });
  }

 private:
  MPI_Comm comm_;
  bool owned_;
};

/// Collective over `comm`: the largest peak resident set size of its ranks, MiB (for the closing
/// summary line of a stage).
double peak_rss_mib(const Comm& comm);

/// Test hook (-test_stop_after_steps): collective over `comm` (a barrier, so every rank has
/// finished the step), then every rank ends at once with status 3 and no clean-up, leaving the
/// partial output as a crash would.
[[noreturn]] void end_as_if_killed(const Comm& comm);

}  // namespace rgflow
