// rgflow info: a dataset's attributes and, per level, the cumulants kappa_1, kappa_2, kappa_4
// with jackknife errors next to the values the exact recursion predicts from the distribution;
// with -verify, a check of the file that trusts nothing in it: every coarse level recomputed from
// the level below as stored, every checksum recomputed, completeness flags and attributes.
#include <algorithm>
#include <cinttypes>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "commands.hpp"
#include "rgflow/analysis/grouped_moments.hpp"
#include "rgflow/analysis/jackknife.hpp"
#include "rgflow/coarse/block_map.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/io/checksum.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/io/ising_generation.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::app {
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
// io::ising_level with the file's rg_map, from the stored values, so equality is exact), or
// a checksum that does not match the stored bytes. Samples are read in slabs of
// whole top-level block rows (a block never crosses one, so each slab's levels are complete).
template <typename T>
Problem verify_samples(const io::DatasetReader& reader, int64_t first, int64_t end) {
  const io::DatasetSpec& spec = reader.spec();
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
  const std::string map_name = ising ? spec.rg_map + " map" : "block map";
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
            sums[k] += io::box_checksum(spins[k].data(), box, g.level_side(level),
                                        io::checksum_key(level, sample));
            if (!value_problem[k].empty()) continue;
            if (level > 0) {
              recomputed_spins.resize(spins[k].size());
              io::ising_level<T>(spec, boxes[k - 1], level, static_cast<uint32_t>(sample),
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
          sums[k] += io::box_checksum(values[k].data(), box, g.level_side(level),
                                      io::checksum_key(level, sample));
          if (!value_problem[k].empty()) continue;  // the first one of the level is kept
          if (level > 0 && ising) {
            recomputed.resize(values[k].size());
            io::ising_level<T>(spec, boxes[k - 1], level, static_cast<uint32_t>(sample),
                               spins[k - 1].data(), values[k - 1].data(), nullptr,
                               recomputed.data());
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

// -verify: the file-wide checks on every rank alike, then each rank's share of the samples; the
// first problem in (sample, level) order wins, whatever the rank count. UsageError naming it, on
// every rank: collective over `world` (the verdicts are merged over it).
void verify(const Comm& world, const io::DatasetReader& reader) {
  const io::DatasetSpec& spec = reader.spec();
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

}  // namespace

// Collective over `world` (commands.hpp).
int run_info(const Comm& world, const Invocation& invocation) {
  OptionReader options(invocation.prefix, invocation.help);
  const std::string path = options.get_string("data", "", "dataset to describe");
  int64_t groups = options.get_int(
      "groups", 16, "jackknife groups of samples (at most the number of samples)", 2, 1 << 20);
  const bool check = options.get_flag(
      "verify",
      "check the file instead of the cumulants: every coarse level against the block map of the "
      "level below as stored, every checksum, completeness and attributes (exit 1 at the first "
      "problem)");
  if (invocation.help) {
    if (world.rank() == 0) options.print_help("rgflow info -data FILE [options]");
    return 0;
  }
  if (invocation.prefix.empty()) require_all_options_used();
  if (path.empty()) throw UsageError("option " + options.full_name("data") + " is required");

  // Every rank opens the file itself; a missing or malformed file fails identically everywhere.
  std::unique_ptr<io::DatasetReader> opened;
  world.local_phase("info: inputs", [&] { opened = std::make_unique<io::DatasetReader>(path); });
  const io::DatasetReader& reader = *opened;
  const io::DatasetSpec& spec = reader.spec();
  const auto& geometry = spec.geometry;
  if (!options.given("groups")) groups = std::min<int64_t>(groups, spec.samples);
  if (spec.samples < groups) {
    throw UsageError("option " + options.full_name("groups") + ": " + std::to_string(groups) +
                     " groups need at least as many samples, the dataset has " +
                     std::to_string(spec.samples));
  }
  std::string field_text = spec.distribution.name();
  if (spec.field == "ising") {
    char text[200];
    const io::DatasetReader::Autocorrelation tau = reader.autocorrelation();
    std::snprintf(text, sizeof text,
                  "none field=ising beta=%.10g thermalize=%lld sweeps_between=%lld rg_map=%s "
                  "tau_int(|m|)=%.3g tau_int(E)=%.3g",
                  spec.ising.beta, static_cast<long long>(spec.ising.thermalize),
                  static_cast<long long>(spec.ising.sweeps_between), spec.rg_map.c_str(),
                  tau.abs_magnetisation, tau.energy);
    field_text = text;
  }
  if (world.rank() == 0) {
    std::printf(
        "%s: d=%d L=%lld b=%lld levels=%d samples=%lld distribution=%s dtype=%s seed=%llu "
        "Delta=%g%s\n  created %s by: %s\n",
        path.c_str(), geometry.dim, static_cast<long long>(geometry.side),
        static_cast<long long>(geometry.block_side), geometry.levels,
        static_cast<long long>(spec.samples), field_text.c_str(), spec.dtype.c_str(),
        static_cast<unsigned long long>(spec.seed), spec.scaling_dimension,
        reader.complete() ? "" : " (INCOMPLETE)", spec.created.c_str(), spec.command_line.c_str());
    if (!check) {
      std::printf("%5s %8s %20s %20s %22s %10s %7s\n", "level", "L_k", "kappa_1", "kappa_2",
                  "kappa_4", "exact k4", "z(k4)");
    }
  }
  if (check) {
    verify(world, reader);
    if (world.rank() == 0) {
      std::printf(
          "verified: %lld samples, levels 0-%d: every value finite, every coarse level the %s "
          "of the level below as stored, %s; complete, attributes consistent\n",
          static_cast<long long>(spec.samples), geometry.levels,
          spec.field == "ising" ? (spec.rg_map + " map").c_str() : "block map",
          reader.has_checksums() ? "every checksum matches"
                                 : "checksums absent (a file of rgflow 0.1.0): not checked");
    }
    return 0;
  }
  const double sites_per_block = static_cast<double>(geometry.sites_per_block());
  const bool clt_map =
      spec.field == "iid" && std::abs(spec.scaling_dimension - geometry.dim / 2.0) < 1e-12;
  // Groups of samples are shared out over ranks; their moments meet on every rank.
  analysis::GroupedMoments moments(geometry.levels + 1, groups, 4);
  world.local_phase("info: cumulants", [&] {
    moments.fill_owned(
        spec.samples, world.rank(), world.size(), [&](int64_t sample, analysis::LevelSink& sink) {
          for (int level = 0; level <= geometry.levels; ++level) {
            const std::vector<double> values = reader.read(level, sample, 1);
            sink.add(level, geometry.level_side(level), values.data(), values.size());
          }
        });
  });
  world.sum(moments.buffer());
  const auto by_level = moments.by_level();
  for (int level = 0; level <= geometry.levels; ++level) {
    const auto kappa = analysis::jackknife_cumulants(by_level[static_cast<size_t>(level)]);
    // Exact: kappa_4(level k) = N^(k (1 - 4/2)) kappa_4(level 0), for the CLT map.
    const double exact4 =
        clt_map ? std::pow(sites_per_block, -level) * spec.distribution.exact_cumulant(4) : NAN;
    const double z4 = (kappa[3].value - exact4) / kappa[3].error;
    if (world.rank() == 0) {
      std::printf("%5d %8lld %10.6f+-%-9.2g %10.6f+-%-9.2g %11.6f+-%-10.2g %10.6f %7.2f\n", level,
                  static_cast<long long>(geometry.level_side(level)), kappa[0].value,
                  kappa[0].error, kappa[1].value, kappa[1].error, kappa[3].value, kappa[3].error,
                  exact4, z4);
    }
  }
  return 0;
}

}  // namespace rgflow::app
