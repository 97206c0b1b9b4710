// The lattice's domain decomposition as a PETSc DMDA. The DMDA is laid over the lattice of
// top-level blocks (side b^K), so its ownership ranges, in sites, are multiples of b^K: every block
// at every level lies on one rank and coarse-graining needs no communication. Working in blocks
// also keeps the DMDA's sizes far below PetscInt's 32-bit range for large lattices.
#pragma once

#include <array>

#include "rgflow/core/mpi.hpp"
#include "rgflow/core/petsc.hpp"
#include "rgflow/lattice/geometry.hpp"

namespace rgflow::lattice {

class BlockDecomposition {
 public:
  /// Collective on `group`. `grid` (ranks per axis, product = group size) comes from
  /// choose_process_grid; the ownership ranges are those of owned_box().
  BlockDecomposition(const Comm& group, const Geometry& geometry,
                     const std::array<int, kMaxDim>& grid);

  /// The level-0 sites this rank owns, as the DMDA reports them.
  const Box& owned() const { return owned_; }
  DM dm() const { return dm_.get(); }

 private:
  DMHandle dm_;
  Box owned_;
};

}  // namespace rgflow::lattice
