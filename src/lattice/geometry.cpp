#include "rgflow/lattice/geometry.hpp"

namespace rgflow::lattice {

int64_t Geometry::sites_per_block() const {
  int64_t n = 1;
  for (int axis = 0; axis < dim; ++axis) n *= block_side;
  return n;
}

int64_t Geometry::top_block_side() const {
  int64_t side_k = 1;
  for (int k = 0; k < levels; ++k) side_k *= block_side;
  return side_k;
}

int64_t Geometry::level_side(int level) const {
  int64_t s = side;
  for (int k = 0; k < level; ++k) s /= block_side;
  return s;
}

int64_t Geometry::level_sites(int level) const {
  const int64_t s = level_side(level);
  int64_t n = 1;
  for (int axis = 0; axis < dim; ++axis) n *= s;
  return n;
}

Box Box::coarsened(int64_t factor) const {
  Box result = *this;
  for (int axis = 0; axis < dim; ++axis) {
    result.begin[axis] = begin[axis] / factor;
    result.extent[axis] = extent[axis] / factor;
  }
  return result;
}

Box full_box(int dim, int64_t side) {
  Box box;
  box.dim = dim;
  for (int axis = 0; axis < dim; ++axis) box.extent[axis] = side;
  return box;
}

}  // namespace rgflow::lattice
