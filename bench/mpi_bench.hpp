// Set-up shared by the MPI benchmarks: MPI_Init / MPI_Finalize around a run that returns the exit
// status (an exception is one line on stderr, status 1), and the median of timings.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <vector>

namespace rgflow::bench {

/// The median: the middle value, or the mean of the two middle ones.
inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

inline int mpi_main(int argc, char** argv, int (*run)(int, char**)) {
  MPI_Init(&argc, &argv);
  int status = 1;
  try {
    status = run(argc, argv);
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "error: %s\n", failure.what());
  }
  MPI_Finalize();
  return status;
}

}  // namespace rgflow::bench
