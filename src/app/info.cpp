// rgflow info: a dataset's attributes and, per level, the cumulants kappa_1, kappa_2, kappa_4
// with jackknife errors next to the values the exact recursion predicts from the distribution.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "rgflow/analysis/grouped_moments.hpp"
#include "rgflow/analysis/jackknife.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/options.hpp"
#include "rgflow/io/dataset.hpp"

namespace rgflow::app {

// Collective over `world` (commands.hpp).
int run_info(const Comm& world, const Invocation& invocation) {
  OptionReader options(invocation.prefix, invocation.help);
  const std::string path = options.get_string("data", "", "dataset to describe");
  int64_t groups = options.get_int(
      "groups", 16, "jackknife groups of samples (at most the number of samples)", 2, 1 << 20);
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
  if (world.rank() == 0) {
    std::printf(
        "%s: d=%d L=%lld b=%lld levels=%d samples=%lld distribution=%s dtype=%s seed=%llu "
        "Delta=%g%s\n  created %s by: %s\n",
        path.c_str(), geometry.dim, static_cast<long long>(geometry.side),
        static_cast<long long>(geometry.block_side), geometry.levels,
        static_cast<long long>(spec.samples), spec.distribution.name().c_str(), spec.dtype.c_str(),
        static_cast<unsigned long long>(spec.seed), spec.scaling_dimension,
        reader.complete() ? "" : " (INCOMPLETE)", spec.created.c_str(), spec.command_line.c_str());
    std::printf("%5s %8s %20s %20s %22s %10s %7s\n", "level", "L_k", "kappa_1", "kappa_2",
                "kappa_4", "exact k4", "z(k4)");
  }
  const double sites_per_block = static_cast<double>(geometry.sites_per_block());
  const bool clt_map = std::abs(spec.scaling_dimension - geometry.dim / 2.0) < 1e-12;
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
