// Ising checkerboard heat-bath benchmark, one round: for each workload "d:L:sweeps" on the command
// line, a warm-up sweep then `sweeps` sweeps of a periodic L^d lattice at beta_c (both colours,
// periodic halo refills included, as IsingLattice::heat_bath_sweep does), with each heat-bath
// kernel this CPU has; and the machine's memory bandwidth, measured in the same process by a
// STREAM-like sum (read) and a memcpy (read + write) of -stream_mb MiB. Times are CPU seconds of
// the process, as the numba reference's (on a shared machine wall time counts the other jobs).
// Prints one JSON object; bench/ising_bench.py runs rounds interleaved with the numba reference
// and takes medians.
//
//   build/bench/rgflow_bench_ising [-stream_mb 512] 2:1024:20 3:128:10 2:8192:2
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "ising_bench.hpp"
#include "rgflow/field/ising.hpp"
#include "stream.hpp"

namespace {

using rgflow::field::HeatBathKernel;

using rgflow::bench::cpu_seconds;

struct Workload {
  int dim = 2;
  int64_t side = 0;
  int sweeps = 0;
};

Workload parse_workload(const std::string& text) {
  Workload w;
  if (std::sscanf(text.c_str(), "%d:%ld:%d", &w.dim, &w.side, &w.sweeps) != 3 || w.sweeps < 1) {
    std::fprintf(stderr, "rgflow_bench_ising: workload '%s' is not d:L:sweeps\n", text.c_str());
    std::exit(1);
  }
  return w;
}

// ns per spin update over w.sweeps sweeps after one warm-up sweep.
double ns_per_update(const Workload& w, HeatBathKernel kernel) {
  rgflow::field::select_heat_bath_kernel(kernel);
  const double beta =
      w.dim == 2 ? rgflow::field::beta_critical_2d() : rgflow::field::beta_critical_3d();
  const rgflow::field::HeatBathTable table = rgflow::field::heat_bath_table(w.dim, beta);
  rgflow::field::IsingLattice lattice(w.dim, w.side);
  lattice.randomise(7, 0);
  uint32_t sweep = 0;
  lattice.heat_bath_sweep(table, 7, 0, sweep++);
  const double start = cpu_seconds();
  for (int i = 0; i < w.sweeps; ++i) lattice.heat_bath_sweep(table, 7, 0, sweep++);
  const double seconds = cpu_seconds() - start;
  // Keeps the sweeps from being optimised away.
  if (lattice.magnetisation_sum() == INT64_MIN) std::puts("");
  return seconds * 1e9 / (static_cast<double>(w.sweeps) * lattice.box().interior_sites());
}

}  // namespace

int main(int argc, char** argv) {
  size_t stream_mb = 512;
  std::vector<Workload> workloads;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-stream_mb" && i + 1 < argc) {
      stream_mb = std::strtoull(argv[++i], nullptr, 10);
    } else {
      workloads.push_back(parse_workload(arg));
    }
  }
  for (const Workload& w : workloads) {
    try {
      rgflow::field::check_box(rgflow::field::IsingBox::whole(w.dim, w.side));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rgflow_bench_ising: %s\n", e.what());
      return 1;
    }
  }
  if (workloads.empty() || stream_mb < 64) {
    std::fprintf(stderr, "usage: rgflow_bench_ising [-stream_mb M >= 64] d:L:sweeps ...\n");
    return 1;
  }
  // Bandwidth: an array well beyond the last-level cache, touched once before timing.
  const size_t values = stream_mb * 1024 * 1024 / sizeof(float);
  std::vector<float> a(values, 1.0f), b(values, 2.0f);
  const double bytes = static_cast<double>(values * sizeof(float));
  float sink = rgflow::bench::stream_sum(a.data(), values);
  double start = cpu_seconds();
  sink += rgflow::bench::stream_sum(a.data(), values);
  const double read_gbps = bytes / (cpu_seconds() - start) / 1e9;
  std::memcpy(b.data(), a.data(), values * sizeof(float));
  start = cpu_seconds();
  std::memcpy(b.data(), a.data(), values * sizeof(float));
  // Read + write; the write-allocate reads of the destination are not counted (as STREAM does).
  const double copy_gbps = 2 * bytes / (cpu_seconds() - start) / 1e9;
  sink += b[values / 2];
  std::printf("{\"stream_read_GBps\": %.3f, \"copy_GBps\": %.3f, \"check\": %g, \"runs\": [",
              read_gbps, copy_gbps, static_cast<double>(sink));
  bool first = true;
  for (const Workload& w : workloads) {
    for (HeatBathKernel kernel : {HeatBathKernel::kAvx2, HeatBathKernel::kPortable}) {
      if (!rgflow::field::heat_bath_kernel_available(kernel)) continue;
      std::printf(
          "%s{\"dim\": %d, \"L\": %ld, \"sweeps\": %d, \"kernel\": \"%s\", "
          "\"ns_per_update\": %.4f}",
          first ? "" : ", ", w.dim, static_cast<long>(w.side), w.sweeps,
          kernel == HeatBathKernel::kAvx2 ? "avx2" : "portable", ns_per_update(w, kernel));
      first = false;
      std::fflush(stdout);
    }
  }
  std::printf("]}\n");
  return 0;
}
