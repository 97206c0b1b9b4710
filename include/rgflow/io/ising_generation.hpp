// generate -field ising: one Markov chain (field/ising_chain.hpp) over every rank, its samples
// and their block-spin levels written to a dataset. Sample s is the configuration after the sweeps
// keyed by sample s: `thermalize` sweeps from a cold start for s = 0, `sweeps_between` sweeps from
// sample s - 1 for s > 0, each sweep of the spec's update (heat-bath, Swendsen-Wang or both).
// The chain's whole state after sample s is its level 0, so a resumed run continues from the last
// stored sample exactly. Levels of spins are int8; levels after block_sum are floats of the dtype.
// Every value is a pure function of the spec: the same bits for any rank count and grid.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "rgflow/core/mpi.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/lattice/geometry.hpp"

namespace rgflow::io {

struct IsingRunSummary {
  /// tau_int of |m| and of the energy per site over the sweeps between samples of this run, in
  /// sweeps (NaN when the run made fewer than 2 such sweeps), and that series' length.
  double tau_abs_magnetisation = 0;
  double tau_energy = 0;
  int64_t series_length = 0;
  double update_seconds = 0, map_seconds = 0, write_seconds = 0;
};

/// Level `level` (>= 1) of one sample on the box above `fine_box` (level - 1 sites, global
/// coordinates) from the level below: the spec's rg_map of `fine_spins` where the level holds
/// spins (into `coarse_spins`), else the block sum (scale b^(-Delta)) of `fine_values`, or of
/// `fine_spins` widened to T when the level below holds spins (into `coarse_values`). The pointers
/// a level does not use may be null. Pure: generate computes every level so, and info -verify
/// recomputes each level from the one below as stored.
template <typename T>
void ising_level(const DatasetSpec& spec, const lattice::Box& fine_box, int level, uint32_t sample,
                 const int8_t* fine_spins, const T* fine_values, int8_t* coarse_spins,
                 T* coarse_values);

/// Block-spin levels 1..K of one sample from its level 0 on this rank's box (level-0 sites):
/// `spins[k]` holds the box of level k where spec.level_holds_spins(k), `values[k]` (T = float or
/// double, the dtype) elsewhere; both sized by the caller. Majority ties are keyed by (seed,
/// sample, k) as field::majority_map describes; block_sum widens spins to T first. Pure.
template <typename T>
void ising_levels(const DatasetSpec& spec, const lattice::Box& box, uint32_t sample,
                  std::vector<std::vector<int8_t>>& spins, std::vector<std::vector<T>>& values);

/// Bytes a rank holding `box` (level-0 sites) needs for the chain and one sample's levels.
int64_t ising_box_bytes(const DatasetSpec& spec, const lattice::Box& box);

/// Where a run starts: samples [0, first) are in the output already (a resumed run); samples
/// [first, copy_end) are copied as stored from `source` (an extension's complete file) and checked
/// against its checksums; the chain continues from level 0 of sample max(first, copy_end) - 1 (of
/// the source, or of the output checked against its stored checksum), or starts cold.
struct IsingRunStart {
  int64_t first = 0;
  const DatasetReader* source = nullptr;
  int64_t copy_end = 0;
};

struct IsingRunHooks {
  bool progress = false;           // the progress line (rank 0)
  int64_t stop_after_samples = 0;  // test hook: end as if killed after this many samples
};

/// Writes samples [start.first, spec.samples) with `writer` (collective on `comm`, every rank
/// splitting the lattice over `grid`), marking each complete with its checksums, in order, so a
/// partial output always holds a prefix of the chain. Collective; errors are agreed on, so every
/// rank throws alike.
IsingRunSummary generate_ising(const Comm& comm, const std::array<int, lattice::kMaxDim>& grid,
                               const DatasetSpec& spec, DatasetWriter& writer,
                               const IsingRunStart& start, const IsingRunHooks& hooks);

}  // namespace rgflow::io
