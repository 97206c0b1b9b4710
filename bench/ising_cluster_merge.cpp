// What the distributed Swendsen-Wang sweep costs beyond the work of each rank's box: one sweep of
// a d = 2 lattice at beta_c split over the ranks (choose_process_grid), timed in its three steps
// on every rank: labelling (CPU time), the merge (the gather of the boundary links, wall time
// after a barrier, since MPI waits by polling: the fastest of 10 back-to-back gathers and of the
// repeats, as on a shared machine a rank that is not scheduled makes the others wait; then their
// union-find, CPU time), flipping (CPU). Every rank first thermalises the whole lattice itself (20
// sweeps, untimed, the same bits on every rank), then each repeat loads its box with the halo from
// that state and sweeps once (sweep numbers differ between repeats). Rank 0 prints medians over the
// repeats of the largest value over ranks. Run:
//
//   mpiexec -n 2 build/bench/rgflow_bench_ising_merge [side] [repeats]
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "ising_bench.hpp"
#include "mpi_bench.hpp"
#include "rgflow/core/mpi.hpp"
#include "rgflow/field/cluster_merge.hpp"
#include "rgflow/field/ising.hpp"
#include "rgflow/field/ising_cluster.hpp"
#include "rgflow/lattice/partition.hpp"

namespace {

using rgflow::bench::median;

double cpu_seconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

int run(int argc, char** argv) {
  const rgflow::Comm world(MPI_COMM_WORLD);
  const int64_t side = argc > 1 ? std::atoll(argv[1]) : 4096;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  const int dim = 2;
  const double beta = rgflow::field::beta_critical_2d();
  const auto grid = rgflow::lattice::choose_process_grid(dim, side, world.size());
  if (!grid || side < 2 || side % 2 != 0 || repeats < 1) {
    if (world.rank() == 0) std::fprintf(stderr, "error: bad side, repeats or rank count\n");
    return 1;
  }
  const rgflow::lattice::Geometry geometry{dim, side, 2, 0};
  const rgflow::field::IsingBox box =
      rgflow::field::ising_box_of(rgflow::lattice::owned_box(geometry, *grid, world.rank()), side);
  rgflow::field::IsingLattice whole(dim, side);
  rgflow::field::BoxClusters clusters;
  uint32_t sweep = 20;
  rgflow::bench::thermalise_swendsen_wang(whole, beta, sweep, clusters);
  const std::vector<int8_t> state = whole.spins();
  std::vector<int8_t> padded(static_cast<size_t>(box.padded_sites()));
  std::vector<double> label, gather, join, flip, links;
  for (int r = 0; r < repeats; ++r, ++sweep) {
    rgflow::field::load_box(state.data(), box, padded.data());
    world.barrier();
    const double t0 = cpu_seconds();
    rgflow::field::label_box_clusters(box, padded.data(), beta, 7, 0, sweep, clusters);
    const double t1 = cpu_seconds();
    // The gather 10 times back to back, the fastest kept: its latency, not the scheduler's.
    std::vector<rgflow::field::ClusterLink> all;
    double fastest = 1e300;
    for (int k = 0; k < 10; ++k) {
      world.barrier();
      const double w0 = MPI_Wtime();
      all = rgflow::field::gather_cluster_links(world, clusters.links);
      fastest = std::min(fastest, MPI_Wtime() - w0);
    }
    const double r0 = cpu_seconds();
    const rgflow::field::ClusterRoots roots(all);
    const double t2 = cpu_seconds();
    rgflow::field::flip_box_clusters(box, padded.data(), clusters, roots, 7, 0, sweep);
    const double t3 = cpu_seconds();
    label.push_back(world.max(t1 - t0));
    gather.push_back(world.max(fastest));
    join.push_back(world.max(t2 - r0));
    flip.push_back(world.max(t3 - t2));
    links.push_back(static_cast<double>(all.size()));
  }
  if (world.rank() == 0) {
    const double sites = static_cast<double>(box.interior_sites());
    std::printf(
        "d = 2, L = %lld, %d ranks (grid %d x %d), largest box %lld sites: label %.2f ns/site, "
        "flip %.2f ns/site (CPU, medians); %.0f links: gather %.3f ms (wall, fastest), "
        "union-find %.3f ms (CPU, median)\n",
        static_cast<long long>(side), world.size(), (*grid)[0], (*grid)[1],
        static_cast<long long>(box.interior_sites()), median(label) * 1e9 / sites,
        median(flip) * 1e9 / sites, median(links),
        *std::min_element(gather.begin(), gather.end()) * 1e3, median(join) * 1e3);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return rgflow::bench::mpi_main(argc, argv, run);
}
