#include "rgflow/io/dataset_inspection.hpp"

#include <algorithm>
#include <cinttypes>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "rgflow/coarse/block_map.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/io/checksum.hpp"
#include "rgflow/io/ising_generation.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::io {
namespace {

// Values of every level that one verification step reads at once, at least one row of top-level
// blocks: the memory of -verify is bounded whatever the lattice's size.
constexpr int64_t kVerifyStepBytes = int64_t{16} << 20;

// The first problem a rank found: its place in the order every rank count agrees on (sample,
// then level, then values before checksum), and its description.
struct Problem {
  int64_t order = INT64_MAX;
  std::string message;
};

std::string value_text(double value) {
  char text[40];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

template <typename T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// Checks samples [first, end) of `reader` in increasing order and returns the first problem:
// a non-finite value (a spin not +1 or -1), a coarse value that is not the map of the level below
// as stored (recomputed with generate's kernels, coarse::block_sum_map or, for Ising datasets,
// ising_level with the file's rg_map, from the stored values, so equality is exact), or
// a checksum that does not match the stored bytes. Samples are read in slabs of
// whole top-level block rows (a block never crosses one, so each slab's levels are complete).
template <typename T>
Problem verify_samples(const DatasetReader& reader, int64_t first, int64_t end) {
  const DatasetSpec& spec = reader.spec();
  const auto& g = spec.geometry;
  const int levels = g.levels;
  const int64_t order_per_sample = 2 * (levels + 1);
  const double scale = coarse::block_map_scale(g.block_side, spec.scaling_dimension);
  // Rows of level k per top-level block row, and the values of one top-level row, all levels.
  std::vector<int64_t> rows_per_top_row(static_cast<size_t>(levels + 1));
  std::vector<int64_t> row_sites(static_cast<size_t>(levels + 1));
  int64_t top_row_bytes = 0;
  for (int level = 0; level <= levels; ++level) {
    const int64_t side = g.level_side(level);
    int64_t sites_per_row = 1;
    for (int axis = 1; axis < g.dim; ++axis) sites_per_row *= side;
    row_sites[static_cast<size_t>(level)] = sites_per_row;
    rows_per_top_row[static_cast<size_t>(level)] = side / g.top_blocks_per_axis();
    top_row_bytes += rows_per_top_row[static_cast<size_t>(level)] * sites_per_row *
                     spec.level_value_bytes(level);
  }
  const int64_t top_rows = g.top_blocks_per_axis();
  const int64_t rows_per_step =
      std::clamp<int64_t>(kVerifyStepBytes / std::max<int64_t>(top_row_bytes, 1), 1, top_rows);
  const bool ising = spec.field == "ising";
  const std::string map_name = coarse_map_name(spec);
  // Per level, spins or values (the other stays empty).
  std::vector<std::vector<T>> values(static_cast<size_t>(levels + 1));
  std::vector<std::vector<int8_t>> spins(static_cast<size_t>(levels + 1));
  std::vector<T> recomputed;
  std::vector<int8_t> recomputed_spins;
  for (int64_t sample = first; sample < end; ++sample) {
    const int64_t sample_order = sample * order_per_sample;
    const std::string where_sample = ", sample " + std::to_string(sample);
    try {
      std::vector<uint64_t> sums(static_cast<size_t>(levels + 1), 0);
      std::vector<std::string> value_problem(static_cast<size_t>(levels + 1));
      for (int64_t top_row = 0; top_row < top_rows; top_row += rows_per_step) {
        const int64_t step_rows = std::min(rows_per_step, top_rows - top_row);
        std::vector<lattice::Box> boxes;
        for (int level = 0; level <= levels; ++level) {
          const size_t k = static_cast<size_t>(level);
          lattice::Box box = lattice::full_box(g.dim, g.level_side(level));
          box.begin[0] = top_row * rows_per_top_row[k];
          box.extent[0] = step_rows * rows_per_top_row[k];
          boxes.push_back(box);
          const int64_t offset = box.begin[0] * row_sites[k];
          if (spec.level_holds_spins(level)) {
            spins[k].resize(static_cast<size_t>(box.size()));
            reader.read_stored_box(level, sample, 1, box, spins[k].data());
            sums[k] += box_checksum(spins[k].data(), box, g.level_side(level),
                                    checksum_key(level, sample));
            if (!value_problem[k].empty()) continue;
            if (level > 0) {
              recomputed_spins.resize(spins[k].size());
              ising_level<T>(spec, boxes[k - 1], level, static_cast<uint32_t>(sample),
                             spins[k - 1].data(), nullptr, recomputed_spins.data(), nullptr);
            }
            for (size_t i = 0; i < spins[k].size(); ++i) {
              const int8_t spin = spins[k][i];
              const bool wrong = spin != 1 && spin != -1;
              if (!wrong && (level == 0 || spin == recomputed_spins[i])) continue;
              const std::string where = "level " + std::to_string(level) + where_sample +
                                        ", site " +
                                        std::to_string(offset + static_cast<int64_t>(i));
              value_problem[k] =
                  wrong ? where + " holds " + std::to_string(spin) + ", not a spin (+1 or -1)"
                        : where + ": stored " + std::to_string(spin) + ", but the " + map_name +
                              " of level " + std::to_string(level - 1) + " as stored gives " +
                              std::to_string(recomputed_spins[i]);
              break;
            }
            continue;
          }
          values[k].resize(static_cast<size_t>(box.size()));
          reader.read_stored_box(level, sample, 1, box, values[k].data());
          sums[k] +=
              box_checksum(values[k].data(), box, g.level_side(level), checksum_key(level, sample));
          if (!value_problem[k].empty()) continue;  // the first one of the level is kept
          if (level > 0 && ising) {
            recomputed.resize(values[k].size());
            ising_level<T>(spec, boxes[k - 1], level, static_cast<uint32_t>(sample),
                           spins[k - 1].data(), values[k - 1].data(), nullptr, recomputed.data());
          } else if (level > 0) {
            recomputed.resize(values[k].size());
            coarse::block_sum_map(values[k - 1].data(), g.dim, boxes[k - 1].extent, g.block_side,
                                  scale, recomputed.data());
          }
          // The first site that is not finite or not the block map of the level below.
          const T* stored = values[k].data();
          size_t bad = values[k].size();
          for (size_t i = 0; i < values[k].size(); ++i) {
            if (!std::isfinite(stored[i]) || (level > 0 && !same_bits(stored[i], recomputed[i]))) {
              bad = i;
              break;
            }
          }
          if (bad == values[k].size()) continue;
          const std::string where = "level " + std::to_string(level) + where_sample + ", site " +
                                    std::to_string(offset + static_cast<int64_t>(bad));
          if (!std::isfinite(stored[bad])) {
            value_problem[k] = where + " holds " + (std::isnan(stored[bad]) ? "NaN" : "Inf");
          } else {
            value_problem[k] = where + ": stored " + value_text(stored[bad]) + ", but the " +
                               map_name + " of level " + std::to_string(level - 1) +
                               " as stored gives " + value_text(recomputed[bad]);
          }
        }
      }
      std::vector<uint64_t> stored_sums;
      if (reader.has_checksums()) stored_sums = reader.read_checksums(sample, 1);
      for (int level = 0; level <= levels; ++level) {
        const size_t k = static_cast<size_t>(level);
        if (!value_problem[k].empty()) return {sample_order + 2 * level, value_problem[k]};
        if (reader.has_checksums() && stored_sums[k] != sums[k]) {
          char text[160];
          std::snprintf(text, sizeof text,
                        ": checksum 0x%016" PRIx64 " stored, 0x%016" PRIx64
                        " computed from the values",
                        stored_sums[k], sums[k]);
          return {sample_order + 2 * level + 1,
                  "level " + std::to_string(level) + where_sample + text};
        }
      }
    } catch (const std::exception& failure) {
      return {sample_order, failure.what()};
    }
  }
  return {};
}

}  // namespace

std::string coarse_map_name(const DatasetSpec& spec) {
  return spec.field == "ising" ? spec.rg_map + " map" : "block map";
}

bool follows_clt_map(const DatasetSpec& spec) {
  return spec.field == "iid" && std::abs(spec.scaling_dimension - spec.geometry.dim / 2.0) < 1e-12;
}

std::string dataset_description(const DatasetReader& reader) {
  const DatasetSpec& spec = reader.spec();
  const auto& geometry = spec.geometry;
  std::string field_text = spec.distribution.name();
  if (spec.field == "ising") {
    char text[200];
    const DatasetReader::Autocorrelation tau = reader.autocorrelation();
    std::snprintf(text, sizeof text,
                  "none field=ising beta=%.10g thermalize=%lld sweeps_between=%lld rg_map=%s "
                  "tau_int(|m|)=%.3g tau_int(E)=%.3g",
                  spec.ising.beta, static_cast<long long>(spec.ising.thermalize),
                  static_cast<long long>(spec.ising.sweeps_between), spec.rg_map.c_str(),
                  tau.abs_magnetisation, tau.energy);
    field_text = text;
  }
  // Sized for the fixed text and numbers; the strings of unbounded length are appended whole.
  char text[400];
  std::snprintf(text, sizeof text,
                ": d=%d L=%lld b=%lld levels=%d samples=%lld distribution=%s dtype=%s seed=%llu "
                "Delta=%g%s\n  created ",
                geometry.dim, static_cast<long long>(geometry.side),
                static_cast<long long>(geometry.block_side), geometry.levels,
                static_cast<long long>(spec.samples), field_text.c_str(), spec.dtype.c_str(),
                static_cast<unsigned long long>(spec.seed), spec.scaling_dimension,
                reader.complete() ? "" : " (INCOMPLETE)");
  return reader.path() + text + spec.created + " by: " + spec.command_line + "\n";
}

// Collective over `world` (dataset_inspection.hpp).
void verify_dataset(const Comm& world, const DatasetReader& reader) {
  const DatasetSpec& spec = reader.spec();
  const std::string failed = "dataset '" + reader.path() + "' fails verification: ";
  world.local_phase("info: verify attributes", [&] {
    if (!reader.complete()) throw UsageError(failed + "attribute complete is not 1");
    const std::vector<uint8_t> done = reader.completed_samples();
    const auto missing = std::find_if(done.begin(), done.end(), [](uint8_t d) { return d != 1; });
    if (missing != done.end()) {
      throw UsageError(failed + "sample " + std::to_string(missing - done.begin()) +
                       " is not marked complete in /sample_complete");
    }
    const std::string attribute = reader.derived_attribute_problem();
    if (!attribute.empty()) throw UsageError(failed + attribute);
  });
  const auto range = lattice::piece_range(spec.samples, world.size(), world.rank());
  Problem mine;
  world.local_phase("info: verify", [&] {
    mine = spec.dtype == "float64" ? verify_samples<double>(reader, range[0], range[1])
                                   : verify_samples<float>(reader, range[0], range[1]);
  });
  const int64_t first = world.min(mine.order);
  world.raise_if_any(mine.order == first && first != INT64_MAX ? failed + mine.message : "");
}

std::string verified_summary(const DatasetReader& reader) {
  const DatasetSpec& spec = reader.spec();
  return "verified: " + std::to_string(spec.samples) + " samples, levels 0-" +
         std::to_string(spec.geometry.levels) + ": every value finite, every coarse level the " +
         coarse_map_name(spec) + " of the level below as stored, " +
         (reader.has_checksums() ? "every checksum matches"
                                 : "checksums absent (a file of rgflow 0.1.0): not checked") +
         "; complete, attributes consistent";
}

}  // namespace rgflow::io
