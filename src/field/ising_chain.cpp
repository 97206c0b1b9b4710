#include "rgflow/field/ising_chain.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "rgflow/field/cluster_merge.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::field {
namespace {

// Calls visit(offset) for every site of the layer `layer` along `axis` of the padded box, the
// other axes over their interior, in row-major order. A 2D box is a 3D one with a leading axis of
// extent 1 (as the kernels hold it).
template <typename Visit>
void for_each_layer_site(const IsingBox& box, int axis, int64_t layer, Visit visit) {
  const int shift = 3 - box.dim;
  int64_t padded[3], low[3], high[3];
  for (int k = 0; k < 3; ++k) {
    const bool used = k >= shift;
    padded[k] = used ? box.extent[static_cast<size_t>(k - shift)] + 2 : 1;
    low[k] = used ? 1 : 0;
    high[k] = used ? padded[k] - 1 : 1;
  }
  low[axis + shift] = layer;
  high[axis + shift] = layer + 1;
  const int64_t stride1 = padded[2], stride0 = padded[1] * padded[2];
  for (int64_t z = low[0]; z < high[0]; ++z) {
    for (int64_t y = low[1]; y < high[1]; ++y) {
      for (int64_t x = low[2]; x < high[2]; ++x) visit(z * stride0 + y * stride1 + x);
    }
  }
}

}  // namespace

int64_t face_sites(const IsingBox& box, int axis) {
  return box.interior_sites() / box.extent[static_cast<size_t>(axis)];
}

void pack_face(const IsingBox& box, const int8_t* padded, int axis, bool upper, int8_t* out) {
  const int64_t layer = upper ? box.extent[static_cast<size_t>(axis)] : 1;
  for_each_layer_site(box, axis, layer, [&](int64_t offset) { *out++ = padded[offset]; });
}

void unpack_halo(const IsingBox& box, int8_t* padded, int axis, bool upper, const int8_t* in) {
  const int64_t layer = upper ? box.extent[static_cast<size_t>(axis)] + 1 : 0;
  for_each_layer_site(box, axis, layer, [&](int64_t offset) { padded[offset] = *in++; });
}

int grid_neighbour(const std::array<int, lattice::kMaxDim>& grid, int lattice_rank, int axis,
                   int step) {
  std::array<int, lattice::kMaxDim> coordinate{};
  int remaining = lattice_rank;
  for (int a = lattice::kMaxDim - 1; a >= 0; --a) {
    coordinate[static_cast<size_t>(a)] = remaining % grid[static_cast<size_t>(a)];
    remaining /= grid[static_cast<size_t>(a)];
  }
  const int n = grid[static_cast<size_t>(axis)];
  coordinate[static_cast<size_t>(axis)] =
      ((coordinate[static_cast<size_t>(axis)] + step) % n + n) % n;
  int rank = 0;
  for (int a = 0; a < lattice::kMaxDim; ++a) {
    rank = rank * grid[static_cast<size_t>(a)] + coordinate[static_cast<size_t>(a)];
  }
  return rank;
}

IsingChain::IsingChain(const Comm& comm, const lattice::Geometry& geometry,
                       const std::array<int, lattice::kMaxDim>& grid, double beta, uint64_t seed)
    : comm_(&comm), grid_(grid), seed_(seed) {
  if (grid[0] * grid[1] * grid[2] != comm.size()) {
    throw std::logic_error("IsingChain: the process grid does not match the communicator");
  }
  owned_ = lattice::owned_box(geometry, grid, comm.rank());
  box_.dim = geometry.dim;
  box_.side = geometry.side;
  for (int a = 0; a < lattice::kMaxDim; ++a) {
    box_.origin[static_cast<size_t>(a)] =
        a < geometry.dim ? owned_.begin[static_cast<size_t>(a)] : 0;
    box_.extent[static_cast<size_t>(a)] =
        a < geometry.dim ? owned_.extent[static_cast<size_t>(a)] : 1;
  }
  check_box(box_);
  table_ = heat_bath_table(geometry.dim, beta);
  padded_.assign(static_cast<size_t>(box_.padded_sites()), int8_t{1});
  for (int a = 0; a < geometry.dim; ++a) {
    const int64_t face = face_sites(box_, a);
    if (face > INT_MAX) {
      throw std::invalid_argument("Ising lattice: a box face of " + std::to_string(face) +
                                  " sites is beyond one MPI message");
    }
    for (int upper = 0; upper < 2; ++upper) {
      send_[static_cast<size_t>(2 * a + upper)].resize(static_cast<size_t>(face));
      receive_[static_cast<size_t>(2 * a + upper)].resize(static_cast<size_t>(face));
    }
  }
  requests_.reserve(static_cast<size_t>(4 * geometry.dim));
}

void IsingChain::start_halo_exchange() {
  const MPI_Comm comm = comm_->get();
  requests_.clear();
  for (int axis = 0; axis < box_.dim; ++axis) {
    for (const bool upper : {false, true}) {
      const size_t face = static_cast<size_t>(2 * axis + (upper ? 1 : 0));
      pack_face(box_, padded_.data(), axis, upper, send_[face].data());
    }
    if (grid_[static_cast<size_t>(axis)] == 1) {
      // Alone along the axis: our upper face is our lower halo and the other way round.
      unpack_halo(box_, padded_.data(), axis, false, send_[2 * axis + 1].data());
      unpack_halo(box_, padded_.data(), axis, true, send_[2 * axis].data());
      continue;
    }
    const int count = static_cast<int>(face_sites(box_, axis));
    const int lower = grid_neighbour(grid_, comm_->rank(), axis, -1);
    const int upper = grid_neighbour(grid_, comm_->rank(), axis, +1);
    // Our lowest layer becomes the lower neighbour's upper halo (tag 2 axis) and our highest the
    // upper neighbour's lower halo (tag 2 axis + 1); the tags keep the two apart when both
    // neighbours are one rank (two boxes along the axis).
    for (const bool to_upper : {false, true}) {
      const size_t face = static_cast<size_t>(2 * axis + (to_upper ? 1 : 0));
      const int tag = static_cast<int>(face);
      requests_.emplace_back();
      RGFLOW_MPI(MPI_Irecv(receive_[face].data(), count, MPI_INT8_T, to_upper ? lower : upper, tag,
                           comm, &requests_.back()));
      requests_.emplace_back();
      RGFLOW_MPI(MPI_Isend(send_[face].data(), count, MPI_INT8_T, to_upper ? upper : lower, tag,
                           comm, &requests_.back()));
    }
  }
}

void IsingChain::finish_halo_exchange() {
  if (requests_.empty()) return;
  RGFLOW_MPI(
      MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE));
  requests_.clear();
  for (int axis = 0; axis < box_.dim; ++axis) {
    if (grid_[static_cast<size_t>(axis)] == 1) continue;
    // receive_[2 axis] came from the upper neighbour's lowest layer: our upper halo.
    unpack_halo(box_, padded_.data(), axis, true, receive_[2 * axis].data());
    unpack_halo(box_, padded_.data(), axis, false, receive_[2 * axis + 1].data());
  }
}

void IsingChain::exchange_halo() {
  start_halo_exchange();
  finish_halo_exchange();
}

void IsingChain::sweep(uint32_t sample, uint32_t sweep) {
  // The overlap needs layers that read no halo in flight: only axis 0 may be exchanged.
  bool overlap = overlap_;
  for (int axis = 1; axis < box_.dim; ++axis) overlap = overlap && grid_[axis] == 1;
  const int64_t layers = box_.extent[0];
  for (int colour = 0; colour < 2; ++colour) {
    if (!overlap) {
      exchange_halo();
      heat_bath_colour(box_, padded_.data(), table_, seed_, sample, sweep, colour);
      continue;
    }
    start_halo_exchange();
    heat_bath_colour_layers(box_, padded_.data(), table_, seed_, sample, sweep, colour, 1,
                            std::max<int64_t>(1, layers - 1));
    finish_halo_exchange();
    heat_bath_colour_layers(box_, padded_.data(), table_, seed_, sample, sweep, colour, 0, 1);
    if (layers > 1) {
      heat_bath_colour_layers(box_, padded_.data(), table_, seed_, sample, sweep, colour,
                              layers - 1, layers);
    }
  }
}

IsingMeasurement IsingChain::measure() {
  exchange_halo();
  std::vector<double> sums{static_cast<double>(box_magnetisation_sum(box_, padded_.data())),
                           static_cast<double>(box_bond_sum(box_, padded_.data()))};
  // Integer sums below 2^53 add exactly in double, so the result is the same on any rank count.
  comm_->sum(sums);
  const double sites = static_cast<double>(box_.side) * static_cast<double>(box_.side) *
                       (box_.dim == 3 ? static_cast<double>(box_.side) : 1.0);
  return {std::abs(sums[0]) / sites, -sums[1] / sites};
}

void IsingChain::copy_spins(int8_t* out) const {
  // The interior is the layers 1..extent of axis 0, each walked in row-major order.
  for (int64_t layer = 1; layer <= box_.extent[0]; ++layer) {
    for_each_layer_site(box_, 0, layer,
                        [&](int64_t offset) { *out++ = padded_[static_cast<size_t>(offset)]; });
  }
}

void IsingChain::set_spins(const int8_t* spins) {
  for (int64_t layer = 1; layer <= box_.extent[0]; ++layer) {
    for_each_layer_site(box_, 0, layer,
                        [&](int64_t offset) { padded_[static_cast<size_t>(offset)] = *spins++; });
  }
}

void IsingChain::swendsen_wang_sweep(uint32_t sample, uint32_t sweep, BoxClusters& clusters) {
  exchange_halo();
  field::swendsen_wang_sweep(*comm_, box_, padded_.data(), table_.beta, seed_, sample, sweep,
                             clusters);
}

}  // namespace rgflow::field
