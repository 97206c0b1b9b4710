// The distributed checkerboard heat bath (field::IsingChain) on one 2D lattice split over the
// ranks (lattice::choose_process_grid: slabs), with and without the halo exchange overlapped with
// the interior layers. After 2 warm-up sweeps, `blocks` blocks of `sweeps` sweeps alternate
// between the two modes (same chain, sweep numbers running on), so drift on a shared machine hits
// both alike. Per block: wall time per sweep (the slowest rank, barrier before and after) and each
// rank's CPU time per sweep (process CPU time: MPI waits by polling, so a rank waiting for its
// neighbour spends CPU too). Rank 0 prints one JSON object with the median over blocks of each.
// bench/ising_bench.py --chain runs it on 1 and 2 ranks, interleaved. Run:
//
//   mpiexec -n 2 build/bench/rgflow_bench_ising_chain [side 4096] [sweeps 10] [blocks 5]
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "ising_bench.hpp"
#include "mpi_bench.hpp"
#include "rgflow/core/mpi.hpp"
#include "rgflow/field/ising.hpp"
#include "rgflow/field/ising_chain.hpp"
#include "rgflow/lattice/partition.hpp"

namespace {

using rgflow::bench::median;

using rgflow::bench::cpu_seconds;

std::string json_list(const std::vector<double>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    text += (i ? ", " : "") + std::to_string(values[i] * 1e3);
  }
  return text + "]";
}

int run(int argc, char** argv) {
  const rgflow::Comm world(MPI_COMM_WORLD);
  const int64_t side = argc > 1 ? std::atoll(argv[1]) : 4096;
  const int sweeps = argc > 2 ? std::atoi(argv[2]) : 10;
  const int blocks = argc > 3 ? std::atoi(argv[3]) : 5;
  const int dim = 2;
  const rgflow::lattice::Geometry geometry{dim, side, 2, 1};
  const auto grid =
      side >= 4 && side % 2 == 0
          ? rgflow::lattice::choose_process_grid(dim, geometry.top_blocks_per_axis(), world.size())
          : std::nullopt;
  if (!grid || sweeps < 1 || blocks < 1) {
    if (world.rank() == 0) std::fprintf(stderr, "error: bad side, sweeps, blocks or rank count\n");
    return 1;
  }
  rgflow::field::IsingChain chain(world, geometry, *grid, rgflow::field::beta_critical_2d(), 7);
  uint32_t sweep = 0;
  for (; sweep < 2; ++sweep) chain.sweep(0, sweep);
  // [mode][block]: mode 0 without overlap, 1 with.
  std::vector<double> wall[2], cpu[2];
  double fastest[2] = {1e300, 1e300};
  for (int block = 0; block < blocks; ++block) {
    for (int mode = 0; mode < 2; ++mode) {
      const int overlap = block % 2 ? 1 - mode : mode;  // alternate which mode goes first
      chain.set_halo_overlap(overlap == 1);
      world.barrier();
      const double w0 = MPI_Wtime(), c0 = cpu_seconds();
      for (int i = 0; i < sweeps; ++i, ++sweep) chain.sweep(0, sweep);
      world.barrier();
      const double c1 = cpu_seconds(), w1 = MPI_Wtime();
      wall[overlap].push_back(world.max(w1 - w0) / sweeps);
      cpu[overlap].push_back((c1 - c0) / sweeps);
      // Single sweeps between barriers: the fastest is the best estimate of an undisturbed sweep
      // on a machine whose cores other jobs share.
      for (int i = 0; i < sweeps; ++i, ++sweep) {
        world.barrier();
        const double s0 = MPI_Wtime();
        chain.sweep(0, sweep);
        world.barrier();
        fastest[overlap] = std::min(fastest[overlap], MPI_Wtime() - s0);
      }
    }
  }
  // Keeps the sweeps from being optimised away and shows the chain moved.
  const rgflow::field::IsingMeasurement m = chain.measure();
  // The work alone: the same two colour updates on a copy of this rank's box, no exchange.
  const rgflow::field::IsingBox& box = chain.ising_box();
  std::vector<int8_t> padded(static_cast<size_t>(box.padded_sites()), int8_t{1});
  const rgflow::field::HeatBathTable table =
      rgflow::field::heat_bath_table(dim, rgflow::field::beta_critical_2d());
  const double k0 = cpu_seconds();
  for (int i = 0; i < sweeps * blocks; ++i, ++sweep) {
    for (int colour = 0; colour < 2; ++colour) {
      rgflow::field::heat_bath_colour(box, padded.data(), table, 7, 0, sweep, colour);
    }
  }
  std::vector<double> compute{(cpu_seconds() - k0) / (sweeps * blocks)};
  std::vector<double> compute_by_rank(static_cast<size_t>(world.size()));
  RGFLOW_MPI(MPI_Gather(compute.data(), 1, MPI_DOUBLE, compute_by_rank.data(), 1, MPI_DOUBLE, 0,
                        world.get()));
  std::vector<double> cpu_by_rank[2];
  for (int mode = 0; mode < 2; ++mode) {
    std::vector<double> mine{median(cpu[mode])};
    cpu_by_rank[mode].resize(static_cast<size_t>(world.size()));
    RGFLOW_MPI(MPI_Gather(mine.data(), 1, MPI_DOUBLE, cpu_by_rank[mode].data(), 1, MPI_DOUBLE, 0,
                          world.get()));
  }
  if (world.rank() == 0) {
    std::printf(
        "{\"ranks\": %d, \"L\": %lld, \"grid\": [%d, %d], \"sweeps\": %d, \"blocks\": %d, "
        "\"energy\": %.6f, \"wall_ms\": {\"blocking\": %.4f, \"overlap\": %.4f}, "
        "\"fastest_ms\": {\"blocking\": %.4f, \"overlap\": %.4f}, "
        "\"cpu_ms_by_rank\": {\"blocking\": %s, \"overlap\": %s}, \"compute_cpu_ms_by_rank\": "
        "%s}\n",
        world.size(), static_cast<long long>(side), (*grid)[0], (*grid)[1], sweeps, blocks,
        m.energy, median(wall[0]) * 1e3, median(wall[1]) * 1e3, fastest[0] * 1e3, fastest[1] * 1e3,
        json_list(cpu_by_rank[0]).c_str(), json_list(cpu_by_rank[1]).c_str(),
        json_list(compute_by_rank).c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return rgflow::bench::mpi_main(argc, argv, run);
}
