// Set-up shared by the Ising benchmarks: a lattice brought to the cluster sizes of its beta, the
// process's CPU time.
#pragma once

#include <time.h>

#include <cstdint>

#include "rgflow/field/ising.hpp"
#include "rgflow/field/ising_cluster.hpp"

namespace rgflow::bench {

/// CPU seconds of the process (on a shared machine wall time counts the other jobs).
inline double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

/// Hot start (seed 7, sample 0), then Swendsen-Wang sweeps 0 .. sweeps - 1 at `beta`.
inline void thermalise_swendsen_wang(field::IsingLattice& lattice, double beta, uint32_t sweeps,
                                     field::BoxClusters& clusters) {
  lattice.randomise(7, 0);
  for (uint32_t sweep = 0; sweep < sweeps; ++sweep) {
    field::swendsen_wang_sweep(lattice, beta, 7, 0, sweep, clusters);
  }
}

}  // namespace rgflow::bench
