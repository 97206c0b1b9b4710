// The lattice's block-aligned decomposition as PETSc's DMDA makes it, laid over the lattice of
// top-level blocks (side b^K) with the ranges of owned_box(). generate does not use it: a DMDA
// keeps index arrays of about 20 bytes per local block and its sizes are PetscInt (32-bit in
// Debian's PETSc), so rgflow computes the boxes itself (lattice/partition.hpp; see
// docs/design-notes.md). The MPI tests use it as an independent check that owned_box() is the
// decomposition PETSc makes.
#pragma once

#include <array>

#include "rgflow/core/mpi.hpp"
#include "rgflow/core/petsc.hpp"
#include "rgflow/lattice/geometry.hpp"

namespace rgflow::lattice {

class BlockDecomposition {
 public:
  /// Collective on `group`. `grid` (ranks per axis, product = group size) comes from
  /// choose_process_grid; the ownership ranges are those of owned_box(). LibraryError (on every
  /// rank, before any collective) if the block grid does not fit PetscInt.
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
