#include "rgflow/analysis/spin_observables.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include "rgflow/analysis/grouped_moments.hpp"
#include "rgflow/field/ising.hpp"

namespace rgflow::analysis {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// sum_i a[i] b[i] in double, in index order: the bonds of a row to the row below.
template <typename A, typename B>
double row_products(const A* a, const B* b, int64_t count) {
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) sum += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return sum;
}
}  // namespace

template <typename Value, typename Next>
SpinSums tile_spin_sums(int dim, int64_t side, int64_t rows, const Value* tile,
                        const Next* next_row) {
  if (dim < 1 || dim > 3) throw std::invalid_argument("spin sums need dim 1, 2 or 3");
  if (side < 1 || rows < 0) throw std::invalid_argument("spin sums need side >= 1, rows >= 0");
  const int64_t row = dim == 1 ? 1 : dim == 2 ? side : side * side;
  double magnetisation = 0, bond = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const Value* here = tile + r * row;
    for (int64_t i = 0; i < row; ++i) magnetisation += static_cast<double>(here[i]);
    if (r + 1 < rows) {
      bond += row_products(here, here + row, row);
    } else {
      bond += row_products(here, next_row, row);
    }
    if (dim >= 2) {  // the last axis: lines of `side` values, the last site bonding to the first
      for (const Value* line = here; line < here + row; line += side) {
        for (int64_t j = 0; j + 1 < side; ++j) {
          bond += static_cast<double>(line[j]) * static_cast<double>(line[j + 1]);
        }
        bond += static_cast<double>(line[side - 1]) * static_cast<double>(line[0]);
      }
    }
    if (dim == 3) {  // axis 1: stride `side` inside the row's plane, wrapping to its first line
      for (int64_t i = 0; i < row; ++i) {
        const int64_t j = i + side < row ? i + side : i + side - row;
        bond += static_cast<double>(here[i]) * static_cast<double>(here[j]);
      }
    }
  }
  return {magnetisation, bond};
}

template SpinSums tile_spin_sums(int, int64_t, int64_t, const int8_t*, const int8_t*);
template SpinSums tile_spin_sums(int, int64_t, int64_t, const float*, const float*);
template SpinSums tile_spin_sums(int, int64_t, int64_t, const double*, const double*);
template SpinSums tile_spin_sums(int, int64_t, int64_t, const float*, const double*);

std::vector<std::string> spin_observable_names() {
  return {"magnetisation", "abs_magnetisation", "magnetisation2", "magnetisation4",
          "binder",        "susceptibility",    "energy"};
}

void SpinMoments::add(const SpinSums& sums, double sites) {
  const double value = sums.magnetisation / sites;
  const double square = value * value;
  count += 1;
  m += value;
  abs_m += std::fabs(value);
  m2 += square;
  m4 += square * square;
  e -= sums.bond / sites;
}

SpinMoments& SpinMoments::operator+=(const SpinMoments& other) {
  count += other.count;
  m += other.m;
  abs_m += other.abs_m;
  m2 += other.m2;
  m4 += other.m4;
  e += other.e;
  return *this;
}

std::vector<double> spin_observables(const SpinMoments& moments, double sites) {
  std::vector<double> out(kSpinObservables, kNaN);
  if (moments.count <= 0) return out;
  const double n = moments.count;
  const double abs_m = moments.abs_m / n, m2 = moments.m2 / n, m4 = moments.m4 / n;
  auto at = [&](SpinObservable o) -> double& { return out[static_cast<size_t>(o)]; };
  at(SpinObservable::kMagnetisation) = moments.m / n;
  at(SpinObservable::kAbsMagnetisation) = abs_m;
  at(SpinObservable::kMagnetisation2) = m2;
  at(SpinObservable::kMagnetisation4) = m4;
  if (m2 > 0) at(SpinObservable::kBinder) = 1 - m4 / (3 * m2 * m2);
  at(SpinObservable::kSusceptibility) = sites * (m2 - abs_m * abs_m);
  at(SpinObservable::kEnergy) = moments.e / n;
  return out;
}

std::vector<Estimate> spin_observable_estimates(const std::vector<SpinMoments>& groups,
                                                double sites) {
  const size_t count = groups.size();
  // prefix[i] adds groups [0, i), suffix[i] groups [i, count): O(G) leave-one-out sums.
  std::vector<SpinMoments> prefix(count + 1), suffix(count + 1);
  for (size_t i = 0; i < count; ++i) (prefix[i + 1] = prefix[i]) += groups[i];
  for (size_t i = count; i-- > 0;) (suffix[i] = groups[i]) += suffix[i + 1];
  const std::vector<double> full = spin_observables(prefix[count], sites);
  if (count < 2) {
    std::vector<Estimate> out;
    for (double value : full) out.push_back({value, kNaN});
    return out;
  }
  std::vector<std::vector<double>> left_out;
  for (size_t i = 0; i < count; ++i) {
    SpinMoments without = prefix[i];
    without += suffix[i + 1];
    left_out.push_back(spin_observables(without, sites));
  }
  return jackknife(full, left_out);
}

std::vector<double> ising_exact_observables(int dim, double beta) {
  std::vector<double> exact(kSpinObservables, kNaN);
  if (dim != 2 && dim != 3) return exact;
  const double beta_c = dim == 2 ? field::beta_critical_2d() : field::beta_critical_3d();
  if (dim == 2) {
    exact[static_cast<size_t>(SpinObservable::kEnergy)] = field::onsager_energy(beta);
    if (beta > beta_c) {
      exact[static_cast<size_t>(SpinObservable::kAbsMagnetisation)] =
          field::yang_magnetisation(beta);
    }
  }
  if (std::fabs(beta - beta_c) <= 1e-6) {
    exact[static_cast<size_t>(SpinObservable::kBinder)] = field::binder_critical(dim);
  }
  return exact;
}

SpinSumTable::SpinSumTable(std::vector<int64_t> sites, int64_t samples, int64_t pieces)
    : sites_(std::move(sites)), samples_(samples), pieces_(pieces) {
  if (samples < 0 || pieces < 1) {
    throw std::invalid_argument("a spin sum table needs samples >= 0 and pieces >= 1");
  }
  buffer_.assign(sites_.size() * static_cast<size_t>(samples_ * pieces_) * 2, 0.0);
}

SpinSumTable SpinSumTable::of_levels(const lattice::Geometry& geometry, int first_level,
                                     int64_t samples, int64_t pieces) {
  std::vector<int64_t> sites;
  for (int level = first_level; level <= geometry.levels; ++level) {
    sites.push_back(geometry.level_sites(level));
  }
  return SpinSumTable(std::move(sites), samples, pieces);
}

int64_t SpinSumTable::bytes(const lattice::Geometry& geometry, int first_level, int64_t samples,
                            int64_t pieces) {
  return int64_t{geometry.levels - first_level + 1} * samples * pieces * 2 *
         static_cast<int64_t>(sizeof(double));
}

void SpinSumTable::add(int level, int64_t sample, int64_t piece, const SpinSums& sums) {
  const size_t slot =
      2 *
      ((static_cast<size_t>(level) * static_cast<size_t>(samples_) + static_cast<size_t>(sample)) *
           static_cast<size_t>(pieces_) +
       static_cast<size_t>(piece));
  buffer_[slot] += sums.magnetisation;
  buffer_[slot + 1] += sums.bond;
}

SpinObservableFlow SpinSumTable::flow(int64_t groups,
                                      const std::vector<double>& exact_first_level) const {
  if (groups < 1) throw std::invalid_argument("spin observables need at least 1 group");
  if (!exact_first_level.empty() && exact_first_level.size() != size_t{kSpinObservables}) {
    throw std::invalid_argument("exact spin observables need one value per observable");
  }
  const int64_t used_groups = std::min(groups, std::max<int64_t>(samples_, 1));
  SpinObservableFlow flow;
  const double* slot = buffer_.data();
  for (size_t level = 0; level < sites_.size(); ++level) {
    const double sites = static_cast<double>(sites_[level]);
    std::vector<SpinSums> per_sample(static_cast<size_t>(samples_));
    for (auto& sums : per_sample) {
      for (int64_t piece = 0; piece < pieces_; ++piece, slot += 2) {
        sums.magnetisation += slot[0];
        sums.bond += slot[1];
      }
    }
    std::vector<SpinMoments> moments(static_cast<size_t>(used_groups));
    for (int64_t g = 0; g < used_groups; ++g) {
      const auto range = group_samples(samples_, used_groups, g);
      for (int64_t sample = range[0]; sample < range[1]; ++sample) {
        moments[static_cast<size_t>(g)].add(per_sample[static_cast<size_t>(sample)], sites);
      }
    }
    flow.sites.push_back(sites_[level]);
    flow.estimates.push_back(spin_observable_estimates(moments, sites));
    flow.exact.push_back(level == 0 && !exact_first_level.empty()
                             ? exact_first_level
                             : std::vector<double>(kSpinObservables, kNaN));
    flow.z_exact.emplace_back();
    for (int o = 0; o < kSpinObservables; ++o) {
      const Estimate& e = flow.estimates.back()[static_cast<size_t>(o)];
      flow.z_exact.back().push_back((e.value - flow.exact.back()[static_cast<size_t>(o)]) /
                                    e.error);
    }
  }
  return flow;
}

}  // namespace rgflow::analysis
