// One Ising Markov chain on a lattice split over the ranks of a communicator: the thin
// communication layer around the pure kernels of field/ising.hpp. Rank r of the process grid owns
// lattice::owned_box(geometry, grid, r) (whole top-level blocks, as generate splits every lattice)
// with a halo of one site; before each colour's update the halo is refreshed: along an axis the
// grid does not split, the box copies its own opposite faces (periodic); along the others it
// exchanges faces with its neighbours by nonblocking sends and receives. When only the slowest
// axis is split (slabs, what lattice::choose_process_grid gives first), each colour's update
// overlaps that exchange: the layers that read no halo along axis 0 are updated while the faces
// are in flight, the first and last layer after they arrive. Every random number is keyed by
// (seed, sample, sweep, colour, global site) inside the kernels, so the chain's configurations are
// the same bits for any rank count, grid and update order.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "rgflow/core/mpi.hpp"
#include "rgflow/field/ising.hpp"
#include "rgflow/field/ising_cluster.hpp"
#include "rgflow/lattice/geometry.hpp"

namespace rgflow::field {

/// The interior face (layer 1 or extent, `upper`) of a padded box along `axis`, the other axes'
/// interior only (nearest-neighbour updates read no edge or corner of the halo), packed in
/// row-major order; and its inverse into the halo layer (0 or extent + 1). Pure functions: the
/// sender's face and the receiver's halo have the same shape, since boxes of one grid row share
/// their ranges along the other axes.
int64_t face_sites(const IsingBox& box, int axis);
void pack_face(const IsingBox& box, const int8_t* padded, int axis, bool upper, int8_t* out);
void unpack_halo(const IsingBox& box, int8_t* padded, int axis, bool upper, const int8_t* in);

/// The lattice rank of the neighbour of `lattice_rank` one step up (+1) or down (-1) along `axis`
/// of `grid`, periodic; ranks numbered with the last axis fastest (as lattice::owned_box).
int grid_neighbour(const std::array<int, lattice::kMaxDim>& grid, int lattice_rank, int axis,
                   int step);

/// Per-site observables of one configuration of the whole lattice.
struct IsingMeasurement {
  double abs_magnetisation = 0;  // |sum s| / N
  double energy = 0;             // -(sum over bonds of s_i s_j) / N (J = 1)
};

class IsingChain {
 public:
  /// Collective on `comm`, whose size must be the product of `grid`. Starts cold (every spin +1).
  /// std::invalid_argument for a lattice the kernels refuse (d not 2 or 3, odd side).
  IsingChain(const Comm& comm, const lattice::Geometry& geometry,
             const std::array<int, lattice::kMaxDim>& grid, double beta, uint64_t seed);

  /// This rank's box (level-0 sites) as the kernels and as the dataset layer name it.
  const IsingBox& ising_box() const { return box_; }
  const lattice::Box& box() const { return owned_; }

  /// One checkerboard sweep keyed by (sample, sweep): halo exchange, colour 0, exchange, colour 1
  /// (each exchange overlapped with the colour's interior layers where the grid allows).
  /// Collective.
  void sweep(uint32_t sample, uint32_t sweep);
  /// Whether sweeps overlap the exchange with the interior update (default on; same bits either
  /// way). Off: exchange, then the whole colour, as before the overlap; for the benchmark that
  /// measures what the overlap gains (docs/performance.md).
  void set_halo_overlap(bool on) { overlap_ = on; }
  /// One Swendsen-Wang sweep keyed by (sample, sweep) (field/cluster_merge.hpp): halo exchange,
  /// then the distributed sweep; `clusters` is the caller's workspace, kept across sweeps.
  /// Collective.
  void swendsen_wang_sweep(uint32_t sample, uint32_t sweep, BoxClusters& clusters);
  /// |m| and the energy per site of the current configuration. Collective.
  IsingMeasurement measure();
  /// This rank's spins, unpadded (box().size() values, row-major), and their replacement (a chain
  /// continued from a stored configuration).
  void copy_spins(int8_t* out) const;
  void set_spins(const int8_t* spins);

 private:
  /// Refreshes the halo from the neighbouring boxes: start, then finish. Collective.
  void exchange_halo();
  /// Copies the periodic faces of the axes the grid does not split and posts the sends and
  /// receives of the others; finish waits for them and unpacks the received faces into the halo.
  void start_halo_exchange();
  void finish_halo_exchange();

  const Comm* comm_;
  std::array<int, lattice::kMaxDim> grid_;
  lattice::Box owned_;
  IsingBox box_;
  HeatBathTable table_;
  uint64_t seed_;
  bool overlap_ = true;
  std::vector<int8_t> padded_;
  // Per axis and side (index 2 axis + upper): the face sent and the face received.
  std::array<std::vector<int8_t>, 2 * lattice::kMaxDim> send_, receive_;
  std::vector<MPI_Request> requests_;
};

}  // namespace rgflow::field
