// rgflow info: a dataset's attributes and, per level, the cumulants kappa_1, kappa_2, kappa_4
// with jackknife errors next to the values the exact recursion predicts from the distribution;
// with -verify, a check of the file that trusts nothing in it (io/dataset_inspection: every coarse
// level recomputed from the level below as stored, every checksum recomputed, completeness flags
// and attributes).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "rgflow/analysis/generalisation.hpp"
#include "rgflow/analysis/grouped_moments.hpp"
#include "rgflow/analysis/jackknife.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/io/dataset_inspection.hpp"

namespace rgflow::app {

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
  // Every rank reads the description's attributes, so a damaged one fails on every rank alike.
  const std::string description = io::dataset_description(reader);
  if (world.rank() == 0) {
    std::fputs(description.c_str(), stdout);
    if (!check) {
      std::printf("%5s %8s %20s %20s %22s %10s %7s\n", "level", "L_k", "kappa_1", "kappa_2",
                  "kappa_4", "exact k4", "z(k4)");
    }
  }
  if (check) {
    io::verify_dataset(world, reader);
    if (world.rank() == 0) std::printf("%s\n", io::verified_summary(reader).c_str());
    return 0;
  }
  const bool clt_map = io::follows_clt_map(spec);
  const auto level0_exact = [&](int n) { return spec.distribution.exact_cumulant(n); };
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
    // The exact recursion for the CLT map: kappa_4(level k) = N^(k (1 - 4/2)) kappa_4(level 0).
    const double exact4 =
        clt_map ? analysis::exact_cumulant_at_level(
                      level0_exact, level, static_cast<double>(geometry.sites_per_block()),
                      static_cast<double>(geometry.block_side), spec.scaling_dimension)(4)
                : NAN;
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
