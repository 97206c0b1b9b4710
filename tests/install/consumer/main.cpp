// Uses an installed rgflow from outside its tree: opens a dataset, computes every level's
// cumulants with the library's streaming moments, and checks them against the cumulants that
// `rgflow analyze` stored for the same dataset; checks that each coarse level is the block map
// of the level below (the library's kernel) and that the version is the same everywhere.
//
//   rgflow_consumer DATASET RESULTS VERSION
//
// DATASET and RESULTS: data/schema1/dataset.h5 and results.h5 (results.h5 holds the analysis of
// the dataset); VERSION: the version rgflow was built as. Prints one line per level; exit 0 when
// every check holds, 1 with a line naming the first one that fails.
#include <rgflow/analysis/moments.hpp>
#include <rgflow/coarse/block_map.hpp>
#include <rgflow/core/hdf5.hpp>
#include <rgflow/io/dataset.hpp>
#include <rgflow/version.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

void require(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error(what);
}

/// True if `coarse` (every sample of level `level`) is the block map of `fine` (level - 1), both
/// as read (double): each sample's fine values are taken in the stored type T (exact), mapped by
/// the library's kernel, and compared bit for bit.
template <typename T>
bool block_map_holds(const rgflow::lattice::Geometry& geometry, int level, double scale,
                     const std::vector<double>& fine, const std::vector<double>& coarse) {
  const int64_t fine_sites = geometry.level_sites(level - 1);
  const int64_t coarse_sites = geometry.level_sites(level);
  const int64_t samples = static_cast<int64_t>(coarse.size()) / coarse_sites;
  std::array<int64_t, 3> extent{1, 1, 1};
  for (int axis = 0; axis < geometry.dim; ++axis) extent[axis] = geometry.level_side(level - 1);
  std::vector<T> in(fine_sites), out(coarse_sites);
  for (int64_t s = 0; s < samples; ++s) {
    std::copy_n(fine.begin() + s * fine_sites, fine_sites, in.begin());
    rgflow::coarse::block_sum_map(in.data(), geometry.dim, extent, geometry.block_side, scale,
                                  out.data());
    for (int64_t i = 0; i < coarse_sites; ++i) {
      if (static_cast<double>(out[i]) != coarse[s * coarse_sites + i]) return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DATASET RESULTS VERSION\n", argv[0]);
    return 1;
  }
  try {
    const std::string version = rgflow::kVersion;
    require(version == argv[3], "rgflow/version.hpp says " + version + ", the build " + argv[3]);
    require(version == RGFLOW_PACKAGE_VERSION,
            "rgflow/version.hpp says " + version + ", the package " + RGFLOW_PACKAGE_VERSION);

    const rgflow::io::DatasetReader dataset(argv[1]);
    const rgflow::io::DatasetSpec& spec = dataset.spec();
    require(dataset.complete(), "the dataset is not complete");

    // The stored cumulants: levels x orders, row k = level k, column n - 1 = kappa_n.
    const rgflow::h5::Hid results = rgflow::h5::open_read_only(argv[2]);
    std::vector<hsize_t> shape;
    const std::vector<double> stored = rgflow::h5::read_numeric_dataset(
        results.get(), "/cumulants/kappa", rgflow::h5::NumberClass::kFloat, 2, 1 << 20, &shape);
    const int levels = spec.geometry.levels + 1;
    const int orders = static_cast<int>(shape[1]);
    require(static_cast<int>(shape[0]) == levels, "results.h5 has another number of levels");

    const rgflow::lattice::Geometry& geometry = spec.geometry;
    const double scale =
        rgflow::coarse::block_map_scale(geometry.block_side, spec.scaling_dimension);
    std::vector<double> finer;
    for (int level = 0; level < levels; ++level) {
      const std::vector<double> values = dataset.read(level, 0, spec.samples);

      rgflow::analysis::CentralMoments moments(orders);
      moments.add(values.data(), values.size());
      const std::vector<double> kappa = moments.cumulants();
      for (int n = 1; n <= orders; ++n) {
        const double expected = stored[level * orders + n - 1];
        // The analysis merges jackknife groups instead of one stream: equal up to rounding.
        require(std::abs(kappa[n - 1] - expected) <= 1e-12 * std::max(1.0, std::abs(expected)),
                "level " + std::to_string(level) + ": kappa_" + std::to_string(n) + " = " +
                    std::to_string(kappa[n - 1]) + ", results.h5 has " + std::to_string(expected));
      }
      if (level > 0) {
        const bool single = spec.dtype == "float32";
        require(single ? block_map_holds<float>(geometry, level, scale, finer, values)
                       : block_map_holds<double>(geometry, level, scale, finer, values),
                "level " + std::to_string(level) + " is not the block map of the level below");
      }
      std::printf("level %d: L_k = %lld, kappa_2 = %.12g, kappa_4 = %.12g, as in results.h5\n",
                  level, static_cast<long long>(geometry.level_side(level)), kappa[1],
                  orders >= 4 ? kappa[3] : 0.0);
      finer = values;
    }
    std::printf("rgflow %s: %d levels of %s checked\n", version.c_str(), levels, argv[1]);
    return 0;
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "rgflow_consumer: %s\n", failure.what());
    return 1;
  }
}
