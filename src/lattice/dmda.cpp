#include "rgflow/lattice/dmda.hpp"

#include <petscdmda.h>

#include <string>
#include <vector>

#include "rgflow/core/error.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::lattice {

BlockDecomposition::BlockDecomposition(const Comm& group, const Geometry& geometry,
                                       const std::array<int, kMaxDim>& grid) {
  const int dim = geometry.dim;
  int64_t grid_blocks = 1;
  for (int axis = 0; axis < dim; ++axis) {
    if (grid_blocks > PETSC_MAX_INT / geometry.top_blocks_per_axis()) {
      throw LibraryError("a DMDA of " + std::to_string(geometry.top_blocks_per_axis()) + "^" +
                         std::to_string(dim) + " top-level blocks exceeds PetscInt");
    }
    grid_blocks *= geometry.top_blocks_per_axis();
  }
  const auto blocks = static_cast<PetscInt>(geometry.top_blocks_per_axis());
  // DMDA axis x is our last axis, y the one before, z our axis 0 (in 3D).
  std::vector<std::vector<PetscInt>> ranges(static_cast<size_t>(dim));
  for (int axis = 0; axis < dim; ++axis) {
    for (int64_t n : split_evenly(blocks, grid[axis])) {
      ranges[static_cast<size_t>(axis)].push_back(static_cast<PetscInt>(n));
    }
  }
  const auto& rx = ranges[static_cast<size_t>(dim - 1)];
  // Stencil width 0: coarse-graining never reads a neighbour's sites.
  if (dim == 1) {
    RGFLOW_PETSC(
        DMDACreate1d(group.get(), DM_BOUNDARY_PERIODIC, blocks, 1, 0, rx.data(), dm_.out()));
  } else if (dim == 2) {
    RGFLOW_PETSC(DMDACreate2d(group.get(), DM_BOUNDARY_PERIODIC, DM_BOUNDARY_PERIODIC,
                              DMDA_STENCIL_BOX, blocks, blocks, grid[1], grid[0], 1, 0, rx.data(),
                              ranges[0].data(), dm_.out()));
  } else {
    RGFLOW_PETSC(DMDACreate3d(group.get(), DM_BOUNDARY_PERIODIC, DM_BOUNDARY_PERIODIC,
                              DM_BOUNDARY_PERIODIC, DMDA_STENCIL_BOX, blocks, blocks, blocks,
                              grid[2], grid[1], grid[0], 1, 0, rx.data(), ranges[1].data(),
                              ranges[0].data(), dm_.out()));
  }
  RGFLOW_PETSC(DMSetUp(dm_.get()));

  PetscInt start[3] = {0, 0, 0}, size[3] = {1, 1, 1};
  RGFLOW_PETSC(
      DMDAGetCorners(dm_.get(), &start[0], &start[1], &start[2], &size[0], &size[1], &size[2]));
  const int64_t block = geometry.top_block_side();
  owned_.dim = dim;
  for (int axis = 0; axis < dim; ++axis) {
    const int dmda_axis = dim - 1 - axis;
    owned_.begin[axis] = start[dmda_axis] * block;
    owned_.extent[axis] = size[dmda_axis] * block;
  }
}

}  // namespace rgflow::lattice
