// The STREAM-like loop the benchmarks measure the machine's memory read bandwidth with.
#pragma once

#include <cstddef>
#include <cstring>

namespace rgflow::bench {

// Sum of x[0..n): 64 float lanes in four 16-wide vectors, so four independent add chains hide the
// add latency and the loop is limited by how fast memory delivers the array. Float accumulators
// (as numpy's float32 sum) keep the arithmetic to one add per value; the value itself only keeps
// the compiler from dropping the loads.
inline float stream_sum(const float* x, std::size_t n) {
  typedef float Vector __attribute__((vector_size(64)));
  constexpr std::size_t kLanes = 16, kVectors = 4, kStep = kLanes * kVectors;
  Vector acc[kVectors] = {};
  std::size_t i = 0;
  for (; i + kStep <= n; i += kStep) {
    for (std::size_t v = 0; v < kVectors; ++v) {
      Vector chunk;
      std::memcpy(&chunk, x + i + v * kLanes, sizeof chunk);
      acc[v] += chunk;
    }
  }
  float total = 0;
  for (; i < n; ++i) total += x[i];
  for (std::size_t v = 0; v < kVectors; ++v) {
    for (std::size_t l = 0; l < kLanes; ++l) total += acc[v][l];
  }
  return total;
}

}  // namespace rgflow::bench
