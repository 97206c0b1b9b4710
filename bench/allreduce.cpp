// MPI_Allreduce (sum of doubles) latency and bandwidth, osu_allreduce style: for each message size
// a warm-up, then timed iterations; prints the median over ranks' maxima of 5 rounds in
// microseconds and the bandwidth as message bytes / time. These are the communication figures the
// scaling model (scripts/scaling_model.py) combines with the stages' measured per-site costs.
//
//   mpiexec -n 2 build/bench/rgflow_bench_allreduce
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) {
    std::fprintf(stderr, "error: %s failed (MPI error %d)\n", what, code);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
}

// Seconds per MPI_Allreduce of `count` doubles: the slowest rank's mean over `iterations`.
double seconds_per_allreduce(std::vector<double>& in, std::vector<double>& out, int count,
                             int iterations) {
  check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  const double start = MPI_Wtime();
  for (int i = 0; i < iterations; ++i) {
    check(MPI_Allreduce(in.data(), out.data(), count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
          "MPI_Allreduce");
  }
  double mine = (MPI_Wtime() - start) / iterations, slowest = 0;
  check(MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return slowest;
}

}  // namespace

int main(int argc, char** argv) {
  if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return 1;
  int rank = 0, ranks = 1;
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &ranks), "MPI_Comm_size");
  if (rank == 0) std::printf("# %d ranks\n# bytes  median_us  MB_per_s\n", ranks);
  for (int count = 1; count <= (1 << 19); count *= 4) {
    std::vector<double> in(static_cast<size_t>(count), 1.0), out(static_cast<size_t>(count));
    // Fewer iterations for large messages keep every size at a fraction of a second.
    const int iterations = std::max(10, 20000 / std::max(1, count / 64));
    seconds_per_allreduce(in, out, count, iterations / 10 + 1);  // warm-up
    std::vector<double> rounds;
    for (int r = 0; r < 5; ++r) rounds.push_back(seconds_per_allreduce(in, out, count, iterations));
    std::sort(rounds.begin(), rounds.end());
    const double bytes = 8.0 * count, median = rounds[2];
    if (rank == 0) std::printf("%9.0f %10.2f %9.1f\n", bytes, median * 1e6, bytes / median / 1e6);
  }
  check(MPI_Finalize(), "MPI_Finalize");
  return 0;
}
