// Field generation: decomposition independence (every path gives each site the value of the
// reference site_value), and the distributions' moments against docs/science.md's exact values.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "rgflow/analysis/moments.hpp"
#include "rgflow/field/generator.hpp"

namespace rgflow::field {
namespace {

std::vector<Distribution> all_distributions() {
  std::vector<Distribution> result;
  for (const auto& name : distribution_names()) {
    Distribution d;
    d.kind = *parse_distribution(name);
    d.gamma_shape = 2.5;
    result.push_back(d);
  }
  Distribution small_shape;
  small_shape.kind = DistributionKind::kGamma;
  small_shape.gamma_shape = 0.5;
  result.push_back(small_shape);
  return result;
}

TEST(Generator, RunsAtAnyOffsetMatchTheSiteDefinition) {
  std::mt19937_64 random(11);
  for (const auto& distribution : all_distributions()) {
    for (int trial = 0; trial < 20; ++trial) {
      const uint64_t first = random() % 100000;
      const int64_t count = static_cast<int64_t>(random() % 700);
      const uint32_t sample = static_cast<uint32_t>(random() % 1000);
      std::vector<double> run(static_cast<size_t>(count));
      std::vector<float> run32(static_cast<size_t>(count));
      fill_run(distribution, 99, sample, first, count, run.data());
      fill_run(distribution, 99, sample, first, count, run32.data());
      for (int64_t i = 0; i < count; ++i) {
        const double expected = site_value(distribution, 99, sample, first + i);
        ASSERT_EQ(run[i], expected) << distribution.name() << " site " << first + i;
        ASSERT_EQ(run32[i], static_cast<float>(expected)) << distribution.name();
      }
    }
  }
}

TEST(Generator, BoxesTileTheLatticeIdentically) {
  // A 3D lattice filled whole and filled as 8 sub-boxes gives the same field.
  const int64_t side = 12;
  Distribution gaussian;
  gaussian.kind = DistributionKind::kGaussian;
  const lattice::Box whole = lattice::full_box(3, side);
  std::vector<double> reference(static_cast<size_t>(whole.size()));
  fill_box(gaussian, 5, 3, side, whole, reference.data());
  for (int part = 0; part < 8; ++part) {
    lattice::Box box;
    box.dim = 3;
    const int64_t cut[3] = {4, 6, 5};
    for (int axis = 0; axis < 3; ++axis) {
      const bool upper = (part >> axis) & 1;
      box.begin[axis] = upper ? cut[axis] : 0;
      box.extent[axis] = upper ? side - cut[axis] : cut[axis];
    }
    std::vector<double> values(static_cast<size_t>(box.size()));
    fill_box(gaussian, 5, 3, side, box, values.data());
    int64_t i = 0;
    for (int64_t x = 0; x < box.extent[0]; ++x) {
      for (int64_t y = 0; y < box.extent[1]; ++y) {
        for (int64_t z = 0; z < box.extent[2]; ++z, ++i) {
          const int64_t site =
              ((box.begin[0] + x) * side + box.begin[1] + y) * side + box.begin[2] + z;
          ASSERT_EQ(values[static_cast<size_t>(i)], reference[static_cast<size_t>(site)]);
        }
      }
    }
  }
}

TEST(Generator, SiteIndicesBeyond32BitsAreGlobal) {
  // Boxes at the far corners of lattices of 2^40 (d = 2) and 2^48 (d = 3) sites: every value is
  // the reference value of its 64-bit global index, and not that of the index cut to 32 bits.
  Distribution uniform;
  uniform.kind = DistributionKind::kUniform;
  for (const int dim : {2, 3}) {
    const int64_t side = dim == 2 ? int64_t{1} << 20 : int64_t{1} << 16;
    lattice::Box box;
    box.dim = dim;
    for (int axis = 0; axis < dim; ++axis) {
      box.extent[axis] = 6;
      box.begin[axis] = side - 6 - axis;
    }
    std::vector<float> values(static_cast<size_t>(box.size()));
    fill_box(uniform, 13, 2, side, box, values.data());
    int64_t i = 0, differs_from_cut = 0;
    for (int64_t x = 0; x < box.extent[0]; ++x) {
      for (int64_t y = 0; y < box.extent[1]; ++y) {
        for (int64_t z = 0; z < box.extent[2]; ++z, ++i) {
          uint64_t site = static_cast<uint64_t>(box.begin[0] + x);
          site = site * static_cast<uint64_t>(side) + static_cast<uint64_t>(box.begin[1] + y);
          if (dim == 3) {
            site = site * static_cast<uint64_t>(side) + static_cast<uint64_t>(box.begin[2] + z);
          }
          ASSERT_GT(site, uint64_t{1} << 39);
          const float value = values[static_cast<size_t>(i)];
          ASSERT_EQ(value, static_cast<float>(site_value(uniform, 13, 2, site)));
          differs_from_cut +=
              value != static_cast<float>(site_value(uniform, 13, 2, site & 0xFFFFFFFFu));
        }
      }
    }
    EXPECT_GT(differs_from_cut, box.size() * 9 / 10) << "d=" << dim;
  }
}

TEST(Generator, SeedsAndSamplesGiveDifferentFields) {
  Distribution uniform;
  std::vector<double> a(64), b(64), c(64);
  fill_run(uniform, 1, 0, 0, 64, a.data());
  fill_run(uniform, 2, 0, 0, 64, b.data());
  fill_run(uniform, 1, 1, 0, 64, c.data());
  int same_seed = 0, same_sample = 0;
  for (int i = 0; i < 64; ++i) {
    same_seed += a[i] == b[i];
    same_sample += a[i] == c[i];
  }
  EXPECT_EQ(same_seed, 0);
  EXPECT_EQ(same_sample, 0);
}

TEST(Generator, StandardisedMomentsMatchExactCumulants) {
  // 2^22 values per distribution: the statistical error of kappa_4 is about
  // sqrt(kappa_8 + ...) / 2000, so tolerances of 5 standard errors are a few percent.
  const int64_t count = int64_t{1} << 22;
  std::vector<double> values(static_cast<size_t>(count));
  for (const auto& distribution : all_distributions()) {
    fill_run(distribution, 2026, 17, 0, count, values.data());
    analysis::CentralMoments moments(8);
    moments.add(values.data(), values.size());
    const auto kappa = moments.cumulants();
    const double n = static_cast<double>(count);
    // Standard errors from the exact cumulants (i.i.d. values):
    // var(mean) = k2/n, var(k2) ~ (k4 + 2 k2^2)/n, var(k3) ~ (k6 + 9 k4 k2 + 9 k3^2 + 6 k2^3)/n,
    // var(k4) ~ (k8 + 16 k6 k2 + 48 k5 k3 + 34 k4^2 + 72 k4 k2^2 + 144 k3^2 k2 + 24 k2^4)/n.
    auto k = [&](int order) { return distribution.exact_cumulant(order); };
    const double se1 = std::sqrt(1.0 / n);
    const double se2 = std::sqrt((k(4) + 2) / n);
    const double se3 = std::sqrt((k(6) + 9 * k(4) + 9 * k(3) * k(3) + 6) / n);
    const double se4 = std::sqrt((k(8) + 16 * k(6) + 48 * k(5) * k(3) + 34 * k(4) * k(4) +
                                  72 * k(4) + 144 * k(3) * k(3) + 24) /
                                 n);
    // Where a leading variance vanishes (rademacher: x^2 = 1) the O(1/n) terms remain.
    const double floor = 10.0 / n;
    SCOPED_TRACE(distribution.name() + " shape " + std::to_string(distribution.gamma_shape));
    EXPECT_NEAR(kappa[0], 0.0, 5 * se1 + floor);
    EXPECT_NEAR(kappa[1], 1.0, 5 * se2 + floor);
    EXPECT_NEAR(kappa[2], k(3), 5 * se3 + floor);
    EXPECT_NEAR(kappa[3], k(4), 5 * se4 + floor);
  }
}

TEST(Generator, UniformAndRademacherAreExactlySymmetricAndBounded) {
  Distribution uniform, rademacher;
  rademacher.kind = DistributionKind::kRademacher;
  std::vector<double> u(4096), r(4096);
  fill_run(uniform, 3, 0, 0, 4096, u.data());
  fill_run(rademacher, 3, 0, 0, 4096, r.data());
  for (size_t i = 0; i < u.size(); ++i) {
    ASSERT_LT(std::abs(u[i]), std::sqrt(3.0));
    ASSERT_TRUE(r[i] == 1.0 || r[i] == -1.0);
  }
}

}  // namespace
}  // namespace rgflow::field
