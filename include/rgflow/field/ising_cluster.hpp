// Swendsen-Wang cluster updates of the Ising model (docs/science.md section 8) as pure kernels (no
// MPI): bonds drawn on a box of the lattice, clusters labelled on the box, the clusters of
// different boxes joined through a small graph of links, every cluster flipped by a fair coin.
//
// Every random number is keyed, never drawn in order, so the result does not depend on how the
// lattice is split into boxes:
// - the bond from global site g to its +1 neighbour along axis a (q = d g + a) is active, when
//   both spins agree, if its word is below the threshold of p = 1 - exp(-2 beta), the word as for
//   wolff_update (ising.hpp): leading half from Philox(counter = (q / 8 low, q / 8 high |
//   kClusterBond << 24, sample, sweep), philox_key(seed)), so one call serves 8 bonds, trailing
//   half from the kClusterBondTie stream when the leading one ties;
// - a cluster is flipped when bit r % 128 of Philox((r / 128 low, r / 128 high | kClusterFlip
//   << 24, sample, sweep)) is 1 (its 128 bits word after word: bit b is bit b % 32 of word b / 32),
//   r the cluster's smallest global site index. One call serves the coins of 128 consecutive
//   sites, so a box draws its coins a row at a time.
//
// A sweep of one box, in three steps:
//   1. label_box_clusters: bonds inside the box join sites into local clusters (union-find over
//      the runs of sites bonded along each row). An active bond that leaves the box through its
//      upper face gives the link (local cluster's label, global site across); the box above sees
//      the same bond entering from its halo (same key, same spins) and gives the link (its local
//      cluster's label, that same site): the two clusters meet at the site.
//   2. The links of every box of the lattice are gathered (one rank: its own; many ranks:
//      field::gather_cluster_links, an allgather) and ClusterRoots joins them: every local
//      cluster's root is the smallest global site of the whole cluster, whatever the split.
//   3. flip_box_clusters flips the interior sites of the clusters whose coin says so.
// swendsen_wang_sweep does the three with a callback for step 2. The distributed sweep on a
// lattice communicator is field::swendsen_wang_sweep (include/rgflow/field/cluster_merge.hpp):
// a caller that holds one box per rank, halo filled, calls it once per sweep on every rank of the
// lattice's communicator and refreshes the halo afterwards, e.g.
//
//   const field::IsingBox box = field::ising_box_of(owned_box(geometry, grid, rank), side);
//   field::BoxClusters clusters;  // kept across sweeps: no reallocation
//   for (uint32_t sweep = ...) {
//     /* halo exchange into padded */
//     field::swendsen_wang_sweep(lattice_comm, box, padded, beta, seed, sample, sweep, clusters);
//   }
//
// Heat-bath sweeps (stream kHeatBath) may be interleaved under the same sweep numbers; Wolff
// updates draw the same bond words (kClusterBond), so one chain must not use a number both as a
// Wolff step and as a Swendsen-Wang sweep.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "rgflow/field/ising.hpp"

namespace rgflow::field {

/// Two global site indices of the same Swendsen-Wang cluster: a local cluster's label (its
/// smallest global site) and the upper end of an active bond that crosses a box boundary (a site
/// of the box above, or of this box when the bond enters it from the halo).
struct ClusterLink {
  uint64_t label = 0;
  uint64_t site = 0;
  bool operator==(const ClusterLink& other) const {
    return label == other.label && site == other.site;
  }
  bool operator<(const ClusterLink& other) const {
    return label != other.label ? label < other.label : site < other.site;
  }
};

/// The clusters of one box, labelled by runs: a run is a maximal stretch of sites of one row
/// (axis d-1) joined by bonds along the row; runs are numbered in box order, and the clusters are
/// a union-find over runs in which every root is the smallest run of its cluster, so its first
/// site is the cluster's smallest (box order is global order). `links` are the boundary links,
/// each once, sorted. The rest is the kernels' workspace, reused from sweep to sweep, so nothing
/// is reallocated: bond bits per axis and row, run-start bits per row, each row's first run, the
/// runs' parents and coins, the blocks of 128 sites whose coins are drawn, each row's first global
/// site, Philox words, bond halves and flags.
struct BoxClusters {
  std::vector<ClusterLink> links;

  /// The box index of the smallest site of the local cluster of interior site `site` (box index,
  /// row-major), after label_box_clusters (and after flip_box_clusters, until the next labelling).
  uint32_t local_root(uint32_t site) const;

  int64_t row_length = 0;
  std::vector<uint64_t> bonds, starts, below, run_bits, run_heads, coin_blocks, row_sites;
  std::vector<uint32_t> row_runs, parent, words;
  std::vector<uint16_t> halves;
  std::vector<uint8_t> flags;
};

/// Throws std::invalid_argument (one line) when `box` fails check_box or holds more than
/// 2^32 - 1 sites (local indices are 32-bit: a rank's box beyond that must be split further).
void check_cluster_box(const IsingBox& box);

/// Step 1: draws the bonds of `box` (padded with a halo of one site, filled) and labels its local
/// clusters into `clusters`. Bonds along an axis the box spans whole wrap inside the box.
void label_box_clusters(const IsingBox& box, const int8_t* padded, double beta, uint64_t seed,
                        uint32_t sample, uint32_t sweep, BoxClusters& clusters);

/// Step 2: the clusters joined by the links of every box: root(label) is the smallest global site
/// of the cluster that holds `label` (the label itself for a local cluster with no links). The
/// links may come in any order and repeat: the roots are the same.
class ClusterRoots {
 public:
  explicit ClusterRoots(const std::vector<ClusterLink>& links);
  uint64_t root(uint64_t label) const;
  /// Distinct global sites named by the links.
  size_t nodes() const { return nodes_.size(); }

 private:
  std::vector<uint64_t> nodes_;  // sorted
  std::vector<uint64_t> root_;   // root_[k]: root of nodes_[k]
};

/// Step 3: flips the interior sites of every cluster of `box` whose keyed coin (of its root) is 1,
/// `clusters` as label_box_clusters left them for this box and `roots` made from the links of
/// every box. The halo is not updated.
void flip_box_clusters(const IsingBox& box, int8_t* padded, BoxClusters& clusters,
                       const ClusterRoots& roots, uint64_t seed, uint32_t sample, uint32_t sweep);

/// Step 2 as a callback: receives this box's links and returns the links of every box of the
/// lattice (in any order). An empty function stands for a box that is the whole lattice (or
/// that is treated alone: then clusters end at its boundary, which is not Swendsen-Wang).
using GatherClusterLinks =
    std::function<std::vector<ClusterLink>(const std::vector<ClusterLink>& local_links)>;

/// One Swendsen-Wang sweep of `box` (halo filled; left stale): steps 1 to 3.
void swendsen_wang_sweep(const IsingBox& box, int8_t* padded, double beta, uint64_t seed,
                         uint32_t sample, uint32_t sweep, const GatherClusterLinks& gather_links,
                         BoxClusters& clusters);

/// One Swendsen-Wang sweep of a lattice held whole by one rank (periodic halo refilled first).
void swendsen_wang_sweep(IsingLattice& lattice, double beta, uint64_t seed, uint32_t sample,
                         uint32_t sweep, BoxClusters& clusters);

}  // namespace rgflow::field
