#include "rgflow/io/ising_generation.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "rgflow/coarse/block_map.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/field/ising.hpp"
#include "rgflow/field/ising_chain.hpp"
#include "rgflow/io/checksum.hpp"

namespace rgflow::io {
namespace {

field::IsingBox ising_box_of(const lattice::Box& box, int64_t side) {
  field::IsingBox ising;
  ising.dim = box.dim;
  ising.side = side;
  for (int a = 0; a < box.dim; ++a) {
    ising.origin[static_cast<size_t>(a)] = box.begin[static_cast<size_t>(a)];
    ising.extent[static_cast<size_t>(a)] = box.extent[static_cast<size_t>(a)];
  }
  return ising;
}

double tau_or_nan(const std::vector<double>& series) {
  return series.size() < 2 ? NAN : field::integrated_autocorrelation_time(series);
}

// One sample's values of every level on this rank's boxes: spins or floats per level.
template <typename T>
struct SampleLevels {
  std::vector<std::vector<int8_t>> spins;
  std::vector<std::vector<T>> values;

  SampleLevels(const DatasetSpec& spec, const std::vector<lattice::Box>& boxes) {
    for (int level = 0; level <= spec.geometry.levels; ++level) {
      const size_t size = static_cast<size_t>(boxes[static_cast<size_t>(level)].size());
      spins.emplace_back(spec.level_holds_spins(level) ? size : 0);
      values.emplace_back(spec.level_holds_spins(level) ? 0 : size);
    }
  }
};

// Level 0 of `sample` on `box` as the partial output stores it, checked against the sample's
// stored checksum (every rank's share summed): the state a resumed chain continues from.
// Collective; a mismatch is one UsageError on every rank.
std::vector<int8_t> chain_state(const Comm& comm, const DatasetSpec& spec,
                                const DatasetWriter& writer, const lattice::Box& box,
                                int64_t sample) {
  std::vector<int8_t> spins(static_cast<size_t>(box.size()));
  std::string error;
  try {
    writer.read_spins(sample, box, spins.data());
  } catch (const std::exception& failure) {
    error = failure.what();
  }
  comm.raise_if_any(error);
  std::vector<uint64_t> sum{
      box_checksum(spins.data(), box, spec.geometry.side, checksum_key(0, sample))};
  comm.sum(sum);
  if (sum[0] != writer.stored_checksum(0, sample)) {
    throw UsageError("the partial output is damaged: level 0 of sample " + std::to_string(sample) +
                     ", where the chain continues, does not match its checksum (use -force to "
                     "start over)");
  }
  return spins;
}

// One sweep of `update` keyed by (sample, sweep): the Swendsen-Wang part first.
void update_sweep(field::IsingChain& chain, field::BoxClusters& clusters, const std::string& update,
                  uint32_t sample, uint32_t sweep) {
  if (update != "heat_bath") chain.swendsen_wang_sweep(sample, sweep, clusters);
  if (update != "swendsen_wang") chain.sweep(sample, sweep);
}

template <typename T>
IsingRunSummary run_chain(const Comm& comm, const std::array<int, lattice::kMaxDim>& grid,
                          const DatasetSpec& spec, DatasetWriter& writer,
                          const IsingRunStart& start, const IsingRunHooks& hooks) {
  const lattice::Geometry& geometry = spec.geometry;
  const int levels = geometry.levels;
  field::IsingChain chain(comm, geometry, grid, spec.ising.beta, spec.seed);
  field::BoxClusters clusters;
  const std::vector<lattice::Box> boxes = lattice::boxes_at_levels(spec.geometry, chain.box());
  SampleLevels<T> sample_levels(spec, boxes);
  IsingRunSummary summary;
  Progress progress("generate", static_cast<double>(spec.samples), "samples",
                    hooks.progress && comm.rank() == 0);
  const int64_t first_generated = std::max(start.first, start.copy_end);

  // Writes one sample's levels, its checksums and its completion mark; `expected`, when not
  // empty, holds the checksums the sample must have (a copied one). Every rank makes every write
  // call even after one failed, then the failures are agreed on (see generate's i.i.d. loop).
  auto write_sample = [&](int64_t sample, const std::vector<uint64_t>& expected) {
    FirstFailure writes;
    const auto attempt = [&writes](auto&& work) { writes.attempt(work); };
    std::vector<uint64_t> sums(static_cast<size_t>(levels + 1), 0);
    for (int level = 0; level <= levels; ++level) {
      const lattice::Box& box = boxes[static_cast<size_t>(level)];
      const uint64_t key = checksum_key(level, sample);
      const int64_t side = geometry.level_side(level);
      if (spec.level_holds_spins(level)) {
        const int8_t* data = sample_levels.spins[static_cast<size_t>(level)].data();
        sums[static_cast<size_t>(level)] = box_checksum(data, box, side, key);
        attempt([&] { writer.write(level, sample, 1, box, data); });
      } else {
        const T* data = sample_levels.values[static_cast<size_t>(level)].data();
        sums[static_cast<size_t>(level)] = box_checksum(data, box, side, key);
        attempt([&] { writer.write(level, sample, 1, box, data); });
      }
    }
    comm.sum(sums);
    std::string mismatch;
    if (!expected.empty() && sums != expected) {
      mismatch = "the dataset to extend is damaged: sample " + std::to_string(sample) +
                 " does not match its checksums (rgflow info -verify names every check)";
    }
    const bool failed = comm.any(writes.failed()) || !mismatch.empty();
    attempt([&] { writer.mark_complete(comm, sample, comm.rank() == 0 && !failed ? 1 : 0, sums); });
    comm.raise_if_any(mismatch.empty() ? writes.message() : mismatch);
    progress.update(static_cast<double>(sample + 1));
  };

  // An extension: the existing samples as stored, then the chain from the last one.
  if (start.copy_end > start.first) {
    if (start.source == nullptr) {
      throw std::logic_error("generate_ising: samples to copy but no source");
    }
    for (int64_t sample = start.first; sample < start.copy_end; ++sample) {
      std::string error;
      try {
        for (int level = 0; level <= levels; ++level) {
          const lattice::Box& box = boxes[static_cast<size_t>(level)];
          if (spec.level_holds_spins(level)) {
            start.source->read_stored_box(level, sample, 1, box,
                                          sample_levels.spins[static_cast<size_t>(level)].data());
          } else {
            start.source->read_stored_box(level, sample, 1, box,
                                          sample_levels.values[static_cast<size_t>(level)].data());
          }
        }
      } catch (const std::exception& failure) {
        error = failure.what();
      }
      comm.raise_if_any(error);
      const std::vector<uint64_t> expected = start.source->has_checksums()
                                                 ? start.source->read_checksums(sample, 1)
                                                 : std::vector<uint64_t>{};
      const double write_start = wall_seconds();
      write_sample(sample, expected);
      summary.write_seconds += wall_seconds() - write_start;
    }
    chain.set_spins(sample_levels.spins[0].data());
  } else if (first_generated > 0 && first_generated < spec.samples) {
    // A resumed run: the chain's state after sample first - 1 is that sample's level 0.
    chain.set_spins(chain_state(comm, spec, writer, chain.box(), first_generated - 1).data());
  }
  progress.update(static_cast<double>(first_generated));

  std::vector<double> abs_magnetisation, energy;
  for (int64_t sample = first_generated; sample < spec.samples; ++sample) {
    double phase_start = wall_seconds();
    const uint32_t key = static_cast<uint32_t>(sample);
    const int64_t sweeps = sample == 0 ? spec.ising.thermalize : spec.ising.sweeps_between;
    for (int64_t sweep = 0; sweep < sweeps; ++sweep) {
      update_sweep(chain, clusters, spec.ising.update, key, static_cast<uint32_t>(sweep));
      if (sample > 0) {
        const field::IsingMeasurement measured = chain.measure();
        abs_magnetisation.push_back(measured.abs_magnetisation);
        energy.push_back(measured.energy);
      }
    }
    chain.copy_spins(sample_levels.spins[0].data());
    summary.update_seconds += wall_seconds() - phase_start;
    phase_start = wall_seconds();
    ising_levels<T>(spec, chain.box(), key, sample_levels.spins, sample_levels.values);
    summary.map_seconds += wall_seconds() - phase_start;
    phase_start = wall_seconds();
    write_sample(sample, {});
    summary.write_seconds += wall_seconds() - phase_start;
    if (hooks.stop_after_samples > 0 && sample + 1 - first_generated >= hooks.stop_after_samples) {
      end_as_if_killed(comm);  // testing hook
    }
  }
  progress.finish();
  summary.tau_abs_magnetisation = tau_or_nan(abs_magnetisation);
  summary.tau_energy = tau_or_nan(energy);
  summary.series_length = static_cast<int64_t>(energy.size());
  return summary;
}

}  // namespace

template <typename T>
void ising_level(const DatasetSpec& spec, const lattice::Box& fine_box, int level, uint32_t sample,
                 const int8_t* fine_spins, const T* fine_values, int8_t* coarse_spins,
                 T* coarse_values) {
  const lattice::Geometry& geometry = spec.geometry;
  if (spec.level_holds_spins(level)) {
    const field::IsingBox input = ising_box_of(fine_box, geometry.level_side(level - 1));
    if (spec.rg_map == "majority") {
      field::majority_map(fine_spins, input, geometry.block_side, spec.seed, sample,
                          static_cast<uint32_t>(level), coarse_spins);
    } else {
      field::decimation_map(fine_spins, input, geometry.block_side, coarse_spins);
    }
    return;
  }
  const double scale = coarse::block_map_scale(geometry.block_side, spec.scaling_dimension);
  std::vector<T> widened;
  if (spec.level_holds_spins(level - 1)) {
    widened.assign(fine_spins, fine_spins + fine_box.size());
    fine_values = widened.data();
  }
  coarse::block_sum_map(fine_values, geometry.dim, fine_box.extent, geometry.block_side, scale,
                        coarse_values);
}

template <typename T>
void ising_levels(const DatasetSpec& spec, const lattice::Box& box, uint32_t sample,
                  std::vector<std::vector<int8_t>>& spins, std::vector<std::vector<T>>& values) {
  const std::vector<lattice::Box> boxes = lattice::boxes_at_levels(spec.geometry, box);
  for (int level = 1; level <= spec.geometry.levels; ++level) {
    const size_t fine = static_cast<size_t>(level - 1), coarse = static_cast<size_t>(level);
    ising_level<T>(spec, boxes[fine], level, sample, spins[fine].data(), values[fine].data(),
                   spins[coarse].data(), values[coarse].data());
  }
}

template void ising_level<float>(const DatasetSpec&, const lattice::Box&, int, uint32_t,
                                 const int8_t*, const float*, int8_t*, float*);
template void ising_level<double>(const DatasetSpec&, const lattice::Box&, int, uint32_t,
                                  const int8_t*, const double*, int8_t*, double*);
template void ising_levels<float>(const DatasetSpec&, const lattice::Box&, uint32_t,
                                  std::vector<std::vector<int8_t>>&,
                                  std::vector<std::vector<float>>&);
template void ising_levels<double>(const DatasetSpec&, const lattice::Box&, uint32_t,
                                   std::vector<std::vector<int8_t>>&,
                                   std::vector<std::vector<double>>&);

int64_t ising_box_bytes(const DatasetSpec& spec, const lattice::Box& box) {
  int64_t bytes = 0;
  const std::vector<lattice::Box> boxes = lattice::boxes_at_levels(spec.geometry, box);
  for (int level = 0; level <= spec.geometry.levels; ++level) {
    bytes += boxes[static_cast<size_t>(level)].size() * spec.level_value_bytes(level);
  }
  int64_t padded = 1;
  for (int a = 0; a < box.dim; ++a) padded *= box.extent[static_cast<size_t>(a)] + 2;
  // The padded spins, every level of one sample, and the widened copy block_sum may take.
  return bytes + padded + box.size() * dtype_bytes(spec.dtype);
}

IsingRunSummary generate_ising(const Comm& comm, const std::array<int, lattice::kMaxDim>& grid,
                               const DatasetSpec& spec, DatasetWriter& writer,
                               const IsingRunStart& start, const IsingRunHooks& hooks) {
  return spec.dtype == "float64" ? run_chain<double>(comm, grid, spec, writer, start, hooks)
                                 : run_chain<float>(comm, grid, spec, writer, start, hooks);
}

}  // namespace rgflow::io
