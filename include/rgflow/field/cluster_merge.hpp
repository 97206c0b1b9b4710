// The MPI layer of the Swendsen-Wang update (field/ising_cluster.hpp holds the kernels): the
// links that join clusters across the boxes of a lattice's ranks, gathered on every rank, so each
// rank resolves every cluster to its smallest global site and flips it by the same keyed coin:
// a sweep on P ranks gives the same spins as on one, for any decomposition.
//
// Gathering the whole link graph (an allgather) costs the active bonds on box boundaries, a
// surface term: for a 4096^2 lattice on 2 ranks about 8e3 links, 130 kB, per sweep.
#pragma once

#include <cstdint>
#include <vector>

#include "rgflow/core/mpi.hpp"
#include "rgflow/field/ising_cluster.hpp"
#include "rgflow/lattice/geometry.hpp"

namespace rgflow::field {

/// The Ising box of a partition box (owned_box) on a lattice of side `side`.
IsingBox ising_box_of(const lattice::Box& box, int64_t side);

/// Collective over `lattice_comm`: the links of every rank, in rank order, on every rank.
/// LibraryError on every rank when they exceed what one allgather carries (2^31 - 1 words).
std::vector<ClusterLink> gather_cluster_links(const Comm& lattice_comm,
                                              const std::vector<ClusterLink>& local);

/// Collective over `lattice_comm`, the ranks that share one lattice, each holding its `box`
/// (halo filled, as after a halo exchange) in `padded`: one Swendsen-Wang sweep of the whole
/// lattice. The halos are stale afterwards. A failure in one rank's labelling (a box too large)
/// ends every rank with the same UsageError.
void swendsen_wang_sweep(const Comm& lattice_comm, const IsingBox& box, int8_t* padded, double beta,
                         uint64_t seed, uint32_t sample, uint32_t sweep, BoxClusters& clusters);

}  // namespace rgflow::field
