#include "rgflow/field/cluster_merge.hpp"

#include <limits>
#include <string>

namespace rgflow::field {

IsingBox ising_box_of(const lattice::Box& box, int64_t side) {
  IsingBox ising;
  ising.dim = box.dim;
  ising.side = side;
  ising.origin = box.begin;
  ising.extent = box.extent;
  return ising;
}

std::vector<ClusterLink> gather_cluster_links(const Comm& lattice_comm,
                                              const std::vector<ClusterLink>& local) {
  static_assert(sizeof(ClusterLink) == 2 * sizeof(uint64_t), "links travel as 2 words");
  const int ranks = lattice_comm.size();
  const int64_t local_words = 2 * static_cast<int64_t>(local.size());
  std::vector<int64_t> words(static_cast<size_t>(ranks));
  RGFLOW_MPI(MPI_Allgather(&local_words, 1, MPI_INT64_T, words.data(), 1, MPI_INT64_T,
                           lattice_comm.get()));
  int64_t total = 0;
  for (int64_t w : words) total += w;
  if (total > std::numeric_limits<int>::max()) {
    throw LibraryError("Swendsen-Wang: " + std::to_string(total / 2) +
                       " boundary links exceed one allgather; use fewer ranks per lattice");
  }
  std::vector<int> counts(static_cast<size_t>(ranks)), offsets(static_cast<size_t>(ranks));
  int offset = 0;
  for (int r = 0; r < ranks; ++r) {
    counts[r] = static_cast<int>(words[r]);
    offsets[r] = offset;
    offset += counts[r];
  }
  std::vector<ClusterLink> all(static_cast<size_t>(total / 2));
  RGFLOW_MPI(MPI_Allgatherv(local.data(), static_cast<int>(local_words), MPI_UINT64_T, all.data(),
                            counts.data(), offsets.data(), MPI_UINT64_T, lattice_comm.get()));
  return all;
}

void swendsen_wang_sweep(const Comm& lattice_comm, const IsingBox& box, int8_t* padded, double beta,
                         uint64_t seed, uint32_t sample, uint32_t sweep, BoxClusters& clusters) {
  lattice_comm.local_phase("cluster labelling", [&] {
    label_box_clusters(box, padded, beta, seed, sample, sweep, clusters);
  });
  const ClusterRoots roots(gather_cluster_links(lattice_comm, clusters.links));
  flip_box_clusters(box, padded, clusters, roots, seed, sample, sweep);
}

}  // namespace rgflow::field
