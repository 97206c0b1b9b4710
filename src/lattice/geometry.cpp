#include "rgflow/lattice/geometry.hpp"

#include <algorithm>

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

GeometryCheck check_geometry(const Geometry& geometry, int64_t samples) {
  GeometryCheck check;
  for (int k = 0; k < geometry.levels; ++k) {
    if (check.top_block_side > geometry.side / geometry.block_side) {
      check.problem = GeometryProblem::kTooManyLevels;
      return check;
    }
    check.top_block_side *= geometry.block_side;
  }
  if (geometry.side % check.top_block_side != 0) {
    check.problem = GeometryProblem::kSideNotDivisible;
    return check;
  }
  int64_t values = std::max<int64_t>(samples, 1);
  for (int axis = 0; axis < geometry.dim; ++axis) {
    if (values > kMaxLevelValues / geometry.side) {
      check.problem = GeometryProblem::kBeyondIndexRange;
      return check;
    }
    values *= geometry.side;
  }
  return check;
}

std::vector<Box> boxes_at_levels(const Geometry& geometry, const Box& box) {
  std::vector<Box> boxes;
  int64_t factor = 1;
  for (int level = 0; level <= geometry.levels; ++level) {
    boxes.push_back(box.coarsened(factor));
    factor *= geometry.block_side;
  }
  return boxes;
}

int64_t box_bytes_all_levels(const Geometry& geometry, const Box& box, int64_t value_bytes) {
  int64_t values = 0;
  for (const Box& level_box : boxes_at_levels(geometry, box)) values += level_box.size();
  return values * value_bytes;
}

}  // namespace rgflow::lattice
