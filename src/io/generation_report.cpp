#include "rgflow/io/generation_report.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <vector>

#include "rgflow/core/text.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::io {
namespace {

// printf into a string.
__attribute__((format(printf, 1, 2))) std::string formatted(const char* format, ...) {
  va_list arguments, copy;
  va_start(arguments, format);
  va_copy(copy, arguments);
  std::vector<char> text(static_cast<size_t>(std::vsnprintf(nullptr, 0, format, copy)) + 1);
  va_end(copy);
  std::vsnprintf(text.data(), text.size(), format, arguments);
  va_end(arguments);
  return text.data();
}

}  // namespace

lattice::PlanProblem field_options_problem(const DatasetSpec& spec,
                                           const std::function<bool(const char*)>& given) {
  const auto only_with = [&](const char* name, const std::string& condition) {
    return given(name) ? lattice::PlanProblem{name, "applies only to " + condition}
                       : lattice::PlanProblem{};
  };
  const auto first_of = [](std::initializer_list<lattice::PlanProblem> problems) {
    for (const auto& problem : problems) {
      if (!problem.ok()) return problem;
    }
    return lattice::PlanProblem{};
  };
  lattice::PlanProblem problem;
  if (spec.field == "ising") {
    if (spec.geometry.dim == 1) {
      return {"field", "-field ising: d = 1 has no phase transition; use -d 2 or 3"};
    }
    if (!given("beta")) return {"beta", "-field ising needs a coupling beta > 0"};
    if (!(spec.ising.beta > 0) || !std::isfinite(spec.ising.beta)) {
      return {"beta", "must be positive and finite (got " + std::to_string(spec.ising.beta) + ")"};
    }
    if (spec.geometry.side % 2 != 0) {
      return {"L", std::to_string(spec.geometry.side) +
                       " is odd; -field ising needs an even side (a checkerboard on a periodic "
                       "lattice)"};
    }
    problem =
        first_of({only_with("distribution", "-field iid"),
                  spec.rg_map != "block_sum" ? only_with("scaling_dimension", "-rg_map block_sum")
                                             : lattice::PlanProblem{}});
  } else {
    problem = first_of({only_with("beta", "-field ising"), only_with("thermalize", "-field ising"),
                        only_with("sweeps_between", "-field ising"),
                        only_with("update", "-field ising")});
    if (problem.ok() && spec.rg_map != "block_sum") {
      return {"rg_map",
              spec.rg_map + " applies only to -field ising (i.i.d. fields use block_sum)"};
    }
  }
  if (!problem.ok()) return problem;
  if (!(spec.scaling_dimension > 0)) return {"scaling_dimension", "must be positive"};
  const double shape = spec.distribution.gamma_shape;
  if (spec.distribution.kind == field::DistributionKind::kGamma) {
    if (!given("gamma_shape") || !(shape > 0)) {
      return {"gamma_shape", "-distribution gamma needs a positive shape (got " +
                                 (given("gamma_shape") ? std::to_string(shape) : "none") + ")"};
    }
    return {};
  }
  return only_with("gamma_shape", "-distribution gamma");
}

GenerationDecomposition generation_decomposition(const DatasetSpec& spec, int world_size,
                                                 int requested_lattice_ranks, int64_t budget_bytes,
                                                 const std::string& budget_option) {
  const bool ising = spec.field == "ising";
  if (ising && requested_lattice_ranks != 0 && requested_lattice_ranks != world_size) {
    return {{},
            {"lattice_ranks", "-field ising splits one lattice over every rank; give " +
                                  std::to_string(world_size) + " or leave it out"}};
  }
  const int lattice_ranks = ising ? world_size : requested_lattice_ranks;
  const lattice::DecompositionChoice choice =
      lattice::choose_decomposition(spec.geometry, world_size, spec.samples, lattice_ranks);
  GenerationDecomposition chosen{
      choice.decomposition,
      lattice::decomposition_problem(choice, spec.geometry, world_size, lattice_ranks)};
  if (chosen.problem.ok()) {
    chosen.problem = ising_memory_problem(spec, chosen.decomposition, budget_bytes, budget_option);
  }
  return chosen;
}

lattice::PlanProblem ising_memory_problem(const DatasetSpec& spec,
                                          const lattice::Decomposition& decomposition,
                                          int64_t budget_bytes, const std::string& budget_option) {
  if (spec.field != "ising") return {};
  const int64_t box_bytes =
      ising_box_bytes(spec, lattice::owned_box(spec.geometry, decomposition.grid, 0));
  if (box_bytes <= budget_bytes) return {};
  return {budget_option,
          mib_text(budget_bytes) + " cannot hold a rank's box of the Ising lattice (" +
              mib_text(box_bytes) + " with every level): raise it or use more ranks"};
}

std::string start_line(const DatasetSpec& spec, const RunDescription& run) {
  const auto& grid = run.decomposition.grid;
  std::string note;
  if (run.extended_from > 0) {
    note = ", extending " + std::to_string(run.extended_from) + " -> " +
           std::to_string(spec.samples) + " samples";
    if (spec.field != "ising") {
      note += run.source_has_checksums ? " (existing ones copied and checked against their "
                                         "checksums)"
                                       : " (existing ones copied; the file had no checksums)";
    }
  }
  if (run.left >= 0) note += ", resuming: " + std::to_string(run.left) + " samples left";
  if (spec.field == "ising") {
    return formatted(
        "rgflow generate: Ising chain (%s) at beta %.10g on %d rank(s) (grid %dx%dx%d), %lld "
        "thermalisation sweeps, %lld sweeps between samples, rg_map %s%s",
        spec.ising.update.c_str(), spec.ising.beta, run.world_size, grid[0], grid[1], grid[2],
        static_cast<long long>(spec.ising.thermalize),
        static_cast<long long>(spec.ising.sweeps_between), spec.rg_map.c_str(), note.c_str());
  }
  return formatted(
      "rgflow generate: %d rank(s) = %d sample group(s) x %d lattice rank(s) (grid %dx%dx%d), "
      "%" PRId64 " sample(s) per chunk, %" PRId64 " tile(s) per sample, memory budget %s/rank%s",
      run.world_size, run.decomposition.groups, run.decomposition.lattice_ranks, grid[0], grid[1],
      grid[2], run.samples_per_chunk, run.tiles_per_run, mib_text(run.memory_budget_bytes).c_str(),
      note.c_str());
}

std::string summary_line(const DatasetSpec& spec, int64_t written, double seconds,
                         double peak_rss_mib, const GenerationTimes& times,
                         const std::string& output) {
  const auto& geometry = spec.geometry;
  if (spec.field == "ising") {
    return formatted(
        "rgflow generate: %lld samples in %.2f s, peak RSS %.0f MiB/rank [rank 0: open %.2f s, "
        "sweeps %.2f s, maps %.2f s, write %.2f s, close %.2f s] -> %s",
        static_cast<long long>(spec.samples), seconds, peak_rss_mib, times.open, times.random,
        times.coarse, times.write, times.close, output.c_str());
  }
  const double samples = static_cast<double>(written);
  const double sites = samples * static_cast<double>(geometry.level_sites(0));
  const double bytes = samples * static_cast<double>(lattice::box_bytes_all_levels(
                                     geometry, lattice::full_box(geometry.dim, geometry.side),
                                     dtype_bytes(spec.dtype)));
  return formatted(
      "rgflow generate: %.4g sites (%lld samples, levels 0-%d), %.3g GB in %.2f s: %.3g sites/s, "
      "%.0f MB/s, peak RSS %.0f MiB/rank [rank 0: open %.2f s, random %.2f s, coarse %.2f s, "
      "write %.2f s, close %.2f s] -> %s",
      sites, static_cast<long long>(written), geometry.levels, bytes / 1e9, seconds,
      sites / seconds, bytes / seconds / 1e6, peak_rss_mib, times.open, times.random, times.coarse,
      times.write, times.close, output.c_str());
}

std::string ising_tau_line(const IsingRunSummary& summary) {
  return formatted(
      "rgflow generate: tau_int |m| %.3g sweeps, energy %.3g sweeps (over %lld sweeps between "
      "samples)",
      summary.tau_abs_magnetisation, summary.tau_energy,
      static_cast<long long>(summary.series_length));
}

std::string ising_tau_warning(const IsingRunSummary& summary, const IsingChainSpec& chain) {
  const double tau = std::fmax(summary.tau_abs_magnetisation, summary.tau_energy);
  // NaN (too short a series to measure) compares false: no warning.
  if (!(static_cast<double>(chain.sweeps_between) < 2 * tau)) return "";
  return formatted(
      "rgflow generate: warning: -sweeps_between %lld < 2 tau_int = %.3g sweeps (of %s): "
      "consecutive samples are correlated; errors that treat them as independent are too small "
      "by about sqrt(2 tau_int / M)",
      static_cast<long long>(chain.sweeps_between), 2 * tau,
      summary.tau_abs_magnetisation >= summary.tau_energy ? "|m|" : "the energy");
}

}  // namespace rgflow::io
