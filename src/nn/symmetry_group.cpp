#include "rgflow/nn/symmetry_group.hpp"

#include <algorithm>
#include <array>
#include <numeric>

#include "rgflow/field/philox.hpp"

namespace rgflow::nn {
namespace {

std::array<int, 3> coordinates(const BlockShape& block, int site) {
  std::array<int, 3> c{0, 0, 0};
  for (int axis = block.dim - 1; axis >= 0; --axis) {
    c[static_cast<size_t>(axis)] = site % block.side;
    site /= block.side;
  }
  return c;
}

int site_of(const BlockShape& block, const std::array<int, 3>& c) {
  int site = 0;
  for (int axis = 0; axis < block.dim; ++axis)
    site = site * block.side + c[static_cast<size_t>(axis)];
  return site;
}

// The site map of "new axis a takes old axis order[a], reflected if flips bit a is set".
Permutation axis_map(const BlockShape& block, const std::vector<int>& order, unsigned flips) {
  Permutation image(static_cast<size_t>(block.sites()));
  for (int site = 0; site < block.sites(); ++site) {
    const auto old = coordinates(block, site);
    std::array<int, 3> moved{0, 0, 0};
    for (int axis = 0; axis < block.dim; ++axis) {
      int value = old[static_cast<size_t>(order[static_cast<size_t>(axis)])];
      if ((flips >> axis) & 1u) value = block.side - 1 - value;
      moved[static_cast<size_t>(axis)] = value;
    }
    image[static_cast<size_t>(site)] = site_of(block, moved);
  }
  return image;
}

}  // namespace

int BlockShape::sites() const {
  int n = 1;
  for (int axis = 0; axis < dim; ++axis) n *= side;
  return n;
}

std::vector<Permutation> point_group(const BlockShape& block) {
  std::vector<int> order(static_cast<size_t>(block.dim));
  std::iota(order.begin(), order.end(), 0);
  std::vector<Permutation> group;
  do {
    for (unsigned flips = 0; flips < (1u << block.dim); ++flips) {
      group.push_back(axis_map(block, order, flips));
    }
  } while (std::next_permutation(order.begin(), order.end()));
  return group;
}

std::vector<Permutation> reflection_group(const BlockShape& block) {
  std::vector<int> order(static_cast<size_t>(block.dim));
  std::iota(order.begin(), order.end(), 0);
  std::vector<Permutation> group;
  for (unsigned flips = 0; flips < (1u << block.dim); ++flips) {
    group.push_back(axis_map(block, order, flips));
  }
  return group;
}

Permutation random_permutation(int sites, uint64_t seed, uint64_t index) {
  Permutation image(static_cast<size_t>(sites));
  std::iota(image.begin(), image.end(), 0);
  const field::PhiloxKey key = field::philox_key(seed);
  for (int i = sites - 1; i > 0; --i) {
    const auto words = field::philox4x32_10(
        {static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32), static_cast<uint32_t>(i),
         0x5045524du},  // "PERM": a stream of its own
        key);
    // 64 random bits reduce modulo i+1 with a bias below 2^-50 for any block size.
    const uint64_t bits = (uint64_t{words[0]} << 32) | words[1];
    const int j = static_cast<int>(bits % static_cast<uint64_t>(i + 1));
    std::swap(image[static_cast<size_t>(i)], image[static_cast<size_t>(j)]);
  }
  return image;
}

std::vector<int> site_orbits(const std::vector<Permutation>& group, int sites) {
  std::vector<int> label(static_cast<size_t>(sites), -1);
  int next = 0;
  for (int site = 0; site < sites; ++site) {
    if (label[static_cast<size_t>(site)] >= 0) continue;
    // The orbit of `site` is the set of its images (the group is closed under composition).
    label[static_cast<size_t>(site)] = next;
    for (const auto& g : group) label[static_cast<size_t>(g[static_cast<size_t>(site)])] = next;
    ++next;
  }
  return label;
}

std::vector<std::vector<int>> block_neighbours(const BlockShape& block, bool periodic) {
  std::vector<std::vector<int>> neighbours(static_cast<size_t>(block.sites()));
  for (int site = 0; site < block.sites(); ++site) {
    const auto c = coordinates(block, site);
    for (int axis = 0; axis < block.dim; ++axis) {
      for (int step : {-1, 1}) {
        auto moved = c;
        int value = c[static_cast<size_t>(axis)] + step;
        if (value < 0 || value >= block.side) {
          if (!periodic) continue;
          value = (value + block.side) % block.side;
        }
        moved[static_cast<size_t>(axis)] = value;
        const int other = site_of(block, moved);
        auto& list = neighbours[static_cast<size_t>(site)];
        if (other != site && std::find(list.begin(), list.end(), other) == list.end()) {
          list.push_back(other);
        }
      }
    }
    std::sort(neighbours[static_cast<size_t>(site)].begin(),
              neighbours[static_cast<size_t>(site)].end());
  }
  return neighbours;
}

}  // namespace rgflow::nn
