// generate's collective layer: opens the partial dataset, walks lattice's plan step by step
// (field values of each tile from field::fill_box, coarse-grained by coarse::block_sum_map, or
// copied from the dataset being extended), writes every level through DatasetWriter and marks
// each run complete with its checksums. The plan itself is lattice/generation_plan.hpp; the
// options and the report are app/generate.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rgflow/core/mpi.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/io/ising_generation.hpp"
#include "rgflow/lattice/generation_plan.hpp"

namespace rgflow::io {

/// What one `rgflow generate` writes and how.
struct GenerationSettings {
  DatasetSpec spec;
  std::string output;               // the final file; the partial one is partial_path(output)
  std::string io_mode = "auto";     // auto, collective, independent
  int64_t memory_budget_bytes = 0;  // field values held at once per rank, all levels
  int64_t stop_after_steps = 0;     // test hook: end as if killed after this many write steps
  bool quiet = false;               // no progress line
};

/// In an extension, samples [0, samples) are copied from the existing output as stored (their
/// checksums checked against its own, where it has them) instead of being generated again.
struct CopySource {
  const DatasetReader* reader = nullptr;
  int64_t samples = 0;
};

/// The dataset `generate -extend` grows, opened and checked.
struct Extension {
  std::unique_ptr<DatasetReader> reader;  // null when there is nothing to do
  CopySource source;
};

/// Collective over `world` (one local phase: every rank opens `output` with serial HDF5 and
/// reaches the same verdict): checks that the complete dataset `output` can grow to `spec`
/// (spec.samples is the final count): complete, made with the same options (`samples_option`,
/// when -samples was given, must be its sample count), and smaller than spec.samples. A finished
/// extension retried with `resume` returns a null reader (nothing to do). UsageError naming
/// `extend_option` otherwise, on every rank.
Extension open_extension(const Comm& world, const DatasetSpec& spec, const std::string& output,
                         std::optional<int64_t> samples_option, bool resume,
                         const std::string& extend_option);

/// Local (rank 0 of keep_complete_output calls it): why the complete file `output` is not the
/// dataset `spec` describes, or "" when it is.
std::string complete_output_problem(const std::string& output, const DatasetSpec& spec);

/// Seconds of each phase on this rank.
struct GenerationTimes {
  double open = 0, random = 0, coarse = 0, write = 0, close = 0;
};

/// One generate run on the partial file of `settings.output`: opened (created, or reopened when
/// `resume`) on construction, written by write_pending, closed by finish; the caller then commits
/// it (io::commit_output). Every member function is collective over `world`.
class DatasetGeneration {
 public:
  /// Collective over `world`: splits it into the sample groups of `decomposition` (consecutive
  /// ranks), creates (rank 0, then every rank opens it with MPI-IO on `world`) or reopens the
  /// partial file, reads which samples are done and plans the rest. A failure (a full disk
  /// when the blocks are reserved) ends every rank with one UsageError saying how to recover.
  DatasetGeneration(const Comm& world, const GenerationSettings& settings,
                    const lattice::Decomposition& decomposition, bool resume,
                    const CopySource& source);

  const lattice::GenerationPlan& plan() const { return plan_; }
  /// Samples still to write (all of them unless resuming).
  int64_t pending() const { return pending_; }
  /// Whether field data is written with collective MPI-IO.
  bool collective() const { return collective_; }

  /// Collective over `world` (every write step; the completion marks over each sample group, or
  /// over `world` in collective mode): generates, or copies, every pending sample and writes it.
  /// A failed write on any rank ends every rank with one UsageError; the samples marked complete
  /// before it stay for -resume. An Ising dataset (spec.field "ising", one sample group: every
  /// rank on the one chain) is written by io::generate_ising, continuing after the samples
  /// already done; its tau_int is stored in the file.
  void write_pending();

  /// The Ising chain's summary after write_pending (Ising datasets only).
  const std::optional<IsingRunSummary>& ising_summary() const { return ising_summary_; }

  /// Collective over `world`: closes the file, flushing it (a full disk may show only here).
  void finish();

  const GenerationTimes& times() const { return times_; }

 private:
  template <typename T>
  void write_pending_as();

  const Comm& world_;
  const GenerationSettings& settings_;
  CopySource source_;
  Comm group_;
  bool collective_ = false;
  std::optional<DatasetWriter> writer_;
  int64_t pending_ = 0;
  int64_t first_pending_ = 0;
  lattice::GenerationPlan plan_;
  std::array<int, lattice::kMaxDim> grid_;
  GenerationTimes times_;
  std::optional<IsingRunSummary> ising_summary_;
};

}  // namespace rgflow::io
