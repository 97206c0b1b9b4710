// Seconds spent in each named phase on this rank (phases that repeat add up), in first-seen
// order, as wall time and as this process's CPU time (on a shared node the two differ: CPU time
// is what the phase costs, wall time what it took). Each phase runs as Comm::local_phase, so a
// failure in it on any rank ends every rank. analyze prints them after its tables, and
// bench/analyze_bench.py reads that line.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "rgflow/core/mpi.hpp"

namespace rgflow {

class PhaseTimes {
 public:
  /// Collective over `world` (Comm::local_phase): runs `phase` as the phase `name`.
  template <typename Phase>
  void run(const Comm& world, const std::string& name, Phase&& phase) {
    timed(name, [&] { world.local_phase(name.c_str(), phase); });
  }
  /// Collective over `world` (Comm::root_phase): runs `work` on rank 0 alone as the phase `name`
  /// (a file written with serial HDF5), every rank timing it.
  template <typename Work>
  void run_on_root(const Comm& world, const std::string& name, Work&& work) {
    timed(name, [&] { world.root_phase(name.c_str(), work); });
  }
  /// Prints the phases' wall and CPU seconds on this rank, one line each, to `out`:
  /// "<command>: seconds per phase on rank 0: ..." (call it on rank 0). Local.
  void print(std::FILE* out, const char* command) const {
    std::fprintf(out, "%s: seconds per phase on rank 0: %s\n", command, summary(false).c_str());
    std::fprintf(out, "%s: CPU seconds per phase on rank 0: %s\n", command, summary(true).c_str());
  }
  std::string summary(bool cpu) const {
    std::string text;
    char buffer[96];
    for (const auto& entry : entries_) {
      std::snprintf(buffer, sizeof buffer, "%s%s %.2f s", text.empty() ? "" : ", ",
                    entry.name.substr(entry.name.find(' ') + 1).c_str(),
                    cpu ? entry.cpu : entry.wall);
      text += buffer;
    }
    return text;
  }

 private:
  struct Entry {
    std::string name;
    double wall, cpu;
  };
  // Runs `run` and adds its wall and CPU seconds to the phase `name`.
  template <typename Run>
  void timed(const std::string& name, Run&& run) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    run();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = cpu_seconds() - cpu_start;
    for (auto& entry : entries_) {
      if (entry.name == name) {
        entry.wall += wall;
        entry.cpu += cpu;
        return;
      }
    }
    entries_.push_back({name, wall, cpu});
  }
  static double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
  }
  std::vector<Entry> entries_;
};

}  // namespace rgflow
