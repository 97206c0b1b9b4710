#include "rgflow/field/ising_cluster.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "ising_detail.hpp"
#include "rgflow/field/philox.hpp"

namespace rgflow::field {

namespace {

using namespace ising_detail;

// Union-find in which every root is the smallest index of its set: parent[i] <= i always, so
// after all unions one pass in increasing order leaves every entry pointing at its root.
template <typename Index>
Index find_root(Index* parent, Index i) {
  while (parent[i] != i) {
    parent[i] = parent[parent[i]];  // path halving
    i = parent[i];
  }
  return i;
}

template <typename Index>
void unite(Index* parent, Index a, Index b) {
  a = find_root(parent, a);
  b = find_root(parent, b);
  if (a < b) {
    parent[b] = a;
  } else if (b < a) {
    parent[a] = b;
  }
}

template <typename Index>
void point_at_roots(std::vector<Index>& parent) {
  for (size_t i = 0; i < parent.size(); ++i) parent[i] = parent[parent[i]];
}

// Global row-major index of the interior site at box coordinates c (three axes).
uint64_t global_site(const Geometry& g, const int64_t* c) {
  return static_cast<uint64_t>(
      ((g.origin[0] + c[0]) * g.global[1] + g.origin[1] + c[1]) * g.global[2] + g.origin[2] + c[2]);
}

// Global index of the site one step from box coordinates c along axis a (periodic).
uint64_t global_neighbour(const Geometry& g, const int64_t* c, int a, int64_t step) {
  int64_t shifted[3] = {c[0], c[1], c[2]};
  shifted[a] = wrap(g.origin[a] + c[a] + step, g.global[a]) - g.origin[a];
  return global_site(g, shifted);
}

uint64_t global_of_local(const Geometry& g, uint64_t local) {
  const int64_t i = static_cast<int64_t>(local);
  const int64_t c[3] = {i / (g.extent[1] * g.extent[2]), i / g.extent[2] % g.extent[1],
                        i % g.extent[2]};
  return global_site(g, c);
}

}  // namespace

void check_cluster_box(const IsingBox& box) {
  check_box(box);
  if (box.interior_sites() > int64_t{std::numeric_limits<uint32_t>::max()}) {
    throw std::invalid_argument("Swendsen-Wang: a box of " + std::to_string(box.interior_sites()) +
                                " sites exceeds the 2^32 - 1 of one rank's labels; use more ranks");
  }
}

namespace {

// Pass 1: the bonds of the box, bit (a - first_axis) of bonds[i] set when the bond from interior
// site i to its +1 neighbour along axis a is active. Row by row, branch-free, so it vectorises.
template <int Dim>
void draw_bonds(const Geometry& g, const int8_t* padded, uint64_t threshold, PhiloxKey key,
                uint32_t sample, uint32_t sweep, uint8_t* bonds) {
  const int64_t nx = g.extent[2];
  // w < threshold as w <= threshold - 1 in 32 bits (threshold is at most 2^32); none when 0.
  const uint32_t limit = threshold == 0 ? 0 : static_cast<uint32_t>(threshold - 1);
  const uint8_t any = threshold == 0 ? 0 : 0xff;
  std::vector<uint32_t> words(static_cast<size_t>(4 * ((Dim * nx) / 4 + 2)));
  int64_t c[3] = {0, 0, 0};
  for (c[0] = 0; c[0] < g.extent[0]; ++c[0]) {
    for (c[1] = 0; c[1] < g.extent[1]; ++c[1]) {
      const uint64_t first_bond = Dim * global_site(g, c);
      const uint64_t first_group = first_bond / 4;
      const uint64_t last_group = (first_bond + Dim * static_cast<uint64_t>(nx) - 1) / 4;
      philox_row(key, first_group, static_cast<int64_t>(last_group - first_group + 1),
                 IsingStream::kClusterBond, sample, sweep, words.data());
      // word[Dim x + k]: the bond from site x of the row along used axis k (k = Dim - 1 fastest).
      const uint32_t* __restrict word = words.data() + (first_bond - 4 * first_group);
      const int8_t* __restrict row =
          padded + (c[0] + g.halo[0]) * g.stride[0] + (c[1] + 1) * g.stride[1] + 1;
      uint8_t* __restrict out = bonds + (c[0] * g.extent[1] + c[1]) * nx;
      const int64_t sz = g.stride[0], sy = g.stride[1];
      for (int64_t x = 0; x < nx; ++x) {
        const int8_t spin = row[x];
        const uint32_t* w = word + Dim * x;
        uint8_t bits =
            static_cast<uint8_t>(((row[x + 1] == spin) & (w[Dim - 1] <= limit)) << (Dim - 1));
        bits |= static_cast<uint8_t>(((row[x + sy] == spin) & (w[Dim - 2] <= limit)) << (Dim - 2));
        if constexpr (Dim == 3)
          bits |= static_cast<uint8_t>((row[x + sz] == spin) & (w[0] <= limit));
        out[x] = bits & any;
      }
    }
  }
}

// Pass 2: raster labelling (Hoshen-Kopelman with union-find): each site takes the root of its
// lower neighbours joined to it by a bond inside the box, joining their clusters when they
// differ; roots are the smallest index of their cluster.
template <int Dim>
void label_lower_bonds(const Geometry& g, const uint8_t* bonds, uint32_t* parent) {
  const int64_t nx = g.extent[2];
  const uint32_t sy = static_cast<uint32_t>(nx);
  const uint32_t sz = static_cast<uint32_t>(g.extent[1] * nx);
  // Joins the cluster of root r with that of `lower` (a site of an earlier row) when `bonded`,
  // returning the joint root. Written so the bond decides through selects, not branches: the
  // bonds are coin flips no predictor learns, and a mispredicted branch costs more than the rest.
  auto join = [parent](uint32_t r, bool bonded, uint32_t lower) {
    const uint32_t n = find_root(parent, bonded ? parent[lower] : r);
    const uint32_t low = n < r ? n : r, high = n < r ? r : n;
    parent[high] = low;
    return low;
  };
  uint32_t i = 0;
  for (int64_t z = 0; z < g.extent[0]; ++z) {
    for (int64_t y = 0; y < g.extent[1]; ++y) {
      const bool has_y = y > 0, has_z = Dim == 3 && z > 0;
      uint32_t left_root = 0;  // the root given to site i - 1, still a root
      for (int64_t x = 0; x < nx; ++x, ++i) {
        parent[i] = i;
        uint32_t r = (x > 0) & (bonds[x > 0 ? i - 1 : i] >> (Dim - 1) & 1) ? left_root : i;
        const uint32_t up = has_y ? i - sy : i;  // i itself when there is no row above
        r = join(r, has_y & (bonds[up] >> (Dim - 2) & 1), up);
        if constexpr (Dim == 3) {
          const uint32_t back = has_z ? i - sz : i;
          r = join(r, has_z & (bonds[back] & 1), back);
        }
        parent[i] = r;
        left_root = r;
      }
    }
  }
}

// Calls visit(c, i) for every interior site on layer `layer` of axis a (c: box coordinates,
// i: local index).
template <typename Visit>
void for_each_on_layer(const Geometry& g, int a, int64_t layer, Visit&& visit) {
  int64_t c[3] = {0, 0, 0};
  const int64_t begin[3] = {a == 0 ? layer : 0, a == 1 ? layer : 0, a == 2 ? layer : 0};
  const int64_t end[3] = {a == 0 ? layer + 1 : g.extent[0], a == 1 ? layer + 1 : g.extent[1],
                          a == 2 ? layer + 1 : g.extent[2]};
  for (c[0] = begin[0]; c[0] < end[0]; ++c[0]) {
    for (c[1] = begin[1]; c[1] < end[1]; ++c[1]) {
      for (c[2] = begin[2]; c[2] < end[2]; ++c[2]) {
        visit(c, static_cast<uint32_t>((c[0] * g.extent[1] + c[1]) * g.extent[2] + c[2]));
      }
    }
  }
}

}  // namespace

void label_box_clusters(const IsingBox& box, const int8_t* padded, double beta, uint64_t seed,
                        uint32_t sample, uint32_t sweep, BoxClusters& clusters) {
  check_cluster_box(box);
  const Geometry g = geometry_of(box);
  const PhiloxKey key = philox_key(seed);
  const uint64_t threshold = word_threshold(1.0 - std::exp(-2.0 * beta));
  const int first_axis = 3 - g.dim;
  const size_t sites = static_cast<size_t>(box.interior_sites());
  std::vector<uint8_t>& bonds = clusters.scratch;
  bonds.resize(sites);
  std::vector<uint32_t>& parent = clusters.parent;
  parent.resize(sites);
  uint32_t* p = parent.data();
  if (g.dim == 3) {
    draw_bonds<3>(g, padded, threshold, key, sample, sweep, bonds.data());
    label_lower_bonds<3>(g, bonds.data(), p);
  } else {
    draw_bonds<2>(g, padded, threshold, key, sample, sweep, bonds.data());
    label_lower_bonds<2>(g, bonds.data(), p);
  }
  // The bonds of the last layer along each axis: inside the box through the periodic wrap when
  // the box spans the axis, else across to another box (a link, once the labels are known). The
  // bonds entering the first layer from the halo belong to the box below, which draws the same
  // word and links its cluster to the site entered: this box links that site to its own
  // cluster, so the two clusters meet at the site.
  std::vector<std::pair<uint32_t, uint64_t>> crossing;  // (local site, global site)
  const int64_t local_stride[3] = {g.extent[1] * g.extent[2], g.extent[2], 1};
  for (int a = first_axis; a < 3; ++a) {
    const int bit = a - first_axis;
    const bool spans = g.extent[a] == g.global[a];
    for_each_on_layer(g, a, g.extent[a] - 1, [&](const int64_t* c, uint32_t i) {
      if (!(bonds[i] >> bit & 1)) return;
      if (spans) {
        unite(p, i, i - static_cast<uint32_t>((g.extent[a] - 1) * local_stride[a]));
      } else {
        crossing.emplace_back(i, global_neighbour(g, c, a, 1));
      }
    });
    if (spans) continue;
    for_each_on_layer(g, a, 0, [&](const int64_t* c, uint32_t i) {
      const int8_t* site =
          padded + (c[0] + g.halo[0]) * g.stride[0] + (c[1] + 1) * g.stride[1] + c[2] + 1;
      if (site[-g.stride[a]] != site[0]) return;
      const uint64_t bond =
          static_cast<uint64_t>(g.dim) * global_neighbour(g, c, a, -1) + static_cast<uint64_t>(bit);
      if (stream_word(key, bond, IsingStream::kClusterBond, sample, sweep) < threshold) {
        crossing.emplace_back(i, global_site(g, c));
      }
    });
  }
  clusters.links.clear();
  clusters.links.reserve(crossing.size());
  for (const auto& [local, across] : crossing) {
    clusters.links.push_back({global_of_local(g, find_root(p, local)), across});
  }
  std::sort(clusters.links.begin(), clusters.links.end());
  clusters.links.erase(std::unique(clusters.links.begin(), clusters.links.end()),
                       clusters.links.end());
}

ClusterRoots::ClusterRoots(const std::vector<ClusterLink>& links) {
  nodes_.reserve(2 * links.size());
  for (const ClusterLink& link : links) {
    nodes_.push_back(link.label);
    nodes_.push_back(link.site);
  }
  std::sort(nodes_.begin(), nodes_.end());
  nodes_.erase(std::unique(nodes_.begin(), nodes_.end()), nodes_.end());
  auto index_of = [&](uint64_t node) {
    return static_cast<size_t>(std::lower_bound(nodes_.begin(), nodes_.end(), node) -
                               nodes_.begin());
  };
  // Indices follow node order, so the smallest index of a set is its smallest global site.
  std::vector<size_t> parent(nodes_.size());
  std::iota(parent.begin(), parent.end(), size_t{0});
  for (const ClusterLink& link : links) {
    unite(parent.data(), index_of(link.label), index_of(link.site));
  }
  point_at_roots(parent);
  root_.resize(nodes_.size());
  for (size_t k = 0; k < nodes_.size(); ++k) root_[k] = nodes_[parent[k]];
}

uint64_t ClusterRoots::root(uint64_t label) const {
  const auto found = std::lower_bound(nodes_.begin(), nodes_.end(), label);
  if (found == nodes_.end() || *found != label) return label;
  return root_[static_cast<size_t>(found - nodes_.begin())];
}

void flip_box_clusters(const IsingBox& box, int8_t* padded, BoxClusters& clusters,
                       const ClusterRoots& roots, uint64_t seed, uint32_t sample, uint32_t sweep) {
  const Geometry g = geometry_of(box);
  const PhiloxKey key = philox_key(seed);
  uint32_t* parent = clusters.parent.data();
  std::vector<uint8_t>& coin = clusters.scratch;  // the bonds are no longer needed
  coin.resize(clusters.parent.size());
  // The coins of the local roots, 64 Philox calls at a time (vectorised).
  constexpr int kChunk = 64;
  uint32_t local[kChunk], lane[kChunk], x0[kChunk], x1[kChunk], x2[kChunk], x3[kChunk];
  uint64_t site[kChunk];
  int n = 0;
  // Only a local root that is the label of one of this box's links can belong to a larger
  // cluster (a bond into the box is recorded by this box too, as a link of the entered site's
  // cluster). Roots come in increasing global order, the links are sorted by label: one walk
  // finds them, and the search in `roots` is spent on those alone.
  const std::vector<ClusterLink>& links = clusters.links;
  size_t next_link = 0;
  auto root_of = [&](uint64_t local_root) {
    while (next_link < links.size() && links[next_link].label < local_root) ++next_link;
    const bool linked = next_link < links.size() && links[next_link].label == local_root;
    return linked ? roots.root(local_root) : local_root;
  };
  auto toss = [&] {
    for (int k = 0; k < n; ++k) {
      const uint64_t root = root_of(site[k]);
      lane[k] = static_cast<uint32_t>(root % 4);
      x0[k] = static_cast<uint32_t>(root / 4);
      x1[k] = tagged_high(root / 4, IsingStream::kClusterFlip);
      x2[k] = sample;
      x3[k] = sweep;
    }
    philox4x32_10_batch(x0, x1, x2, x3, n, key);
    for (int k = 0; k < n; ++k) {
      const uint32_t w = lane[k] == 0 ? x0[k] : lane[k] == 1 ? x1[k] : lane[k] == 2 ? x2[k] : x3[k];
      coin[local[k]] = static_cast<uint8_t>(w >> 31);
    }
    n = 0;
  };
  int64_t c[3] = {0, 0, 0};
  uint32_t i = 0;
  for (c[0] = 0; c[0] < g.extent[0]; ++c[0]) {
    for (c[1] = 0; c[1] < g.extent[1]; ++c[1]) {
      const uint64_t row_site = global_site(g, c);
      for (int64_t x = 0; x < g.extent[2]; ++x, ++i) {
        local[n] = i;  // kept only if i is a root: appended without a branch
        site[n] = row_site + static_cast<uint64_t>(x);
        n += parent[i] == i;
        if (n == kChunk) toss();
      }
    }
  }
  if (n > 0) toss();
  // Every site pointed at its root (parent[i] < i is already done: one pass in increasing order)
  // and flipped with it.
  i = 0;
  for (int64_t z = 0; z < g.extent[0]; ++z) {
    for (int64_t y = 0; y < g.extent[1]; ++y) {
      int8_t* row = padded + (z + g.halo[0]) * g.stride[0] + (y + 1) * g.stride[1] + 1;
      for (int64_t x = 0; x < g.extent[2]; ++x, ++i) {
        const uint32_t root = parent[parent[i]];
        parent[i] = root;
        // -s = s ^ 0xfe for s = +-1: flipped without a branch.
        row[x] = static_cast<int8_t>(row[x] ^ (coin[root] * 0xfe));
      }
    }
  }
}

void swendsen_wang_sweep(const IsingBox& box, int8_t* padded, double beta, uint64_t seed,
                         uint32_t sample, uint32_t sweep, const GatherClusterLinks& gather_links,
                         BoxClusters& clusters) {
  label_box_clusters(box, padded, beta, seed, sample, sweep, clusters);
  const ClusterRoots roots(gather_links ? gather_links(clusters.links) : clusters.links);
  flip_box_clusters(box, padded, clusters, roots, seed, sample, sweep);
}

void swendsen_wang_sweep(IsingLattice& lattice, double beta, uint64_t seed, uint32_t sample,
                         uint32_t sweep, BoxClusters& clusters) {
  fill_periodic_halo(lattice.box(), lattice.padded());
  swendsen_wang_sweep(lattice.box(), lattice.padded(), beta, seed, sample, sweep, {}, clusters);
}

}  // namespace rgflow::field
