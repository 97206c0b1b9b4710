// rgflow analyze on Ising datasets: /spin_observables recomputed here from the stored spins alone
// (coordinate loops, a jackknife written out), the same bits on any rank count for both kinds of
// jackknife groups, the exact values at level 0, a learned flow's table, and no such group for
// i.i.d. fields.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "e2e_util.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/field/ising.hpp"

namespace rgflow::e2e {
namespace {

// The observables of docs/schema.md "Spin observables" in their order, from per-sample m and e.
std::vector<double> observables(const std::vector<double>& m, const std::vector<double>& e,
                                double sites) {
  double sum_m = 0, abs_m = 0, m2 = 0, m4 = 0, sum_e = 0;
  for (size_t s = 0; s < m.size(); ++s) {
    sum_m += m[s];
    abs_m += std::fabs(m[s]);
    m2 += m[s] * m[s];
    m4 += m[s] * m[s] * m[s] * m[s];
    sum_e += e[s];
  }
  const double n = static_cast<double>(m.size());
  abs_m /= n, m2 /= n, m4 /= n;
  return {sum_m / n, abs_m, m2, m4, 1 - m4 / (3 * m2 * m2), sites * (m2 - abs_m * abs_m),
          sum_e / n};
}

struct LevelTruth {
  std::vector<double> value, error;
};

// Level `level` of a 2D dataset: m and e of each sample by coordinate loops, the observables of
// all samples, and the delete-one jackknife over `groups` groups of consecutive samples (the
// first samples mod groups groups one larger).
LevelTruth level_truth(const std::string& data, int level, int64_t samples, int64_t side,
                       int64_t groups) {
  const auto field = table(data, "/level_" + std::to_string(level) + "/field");
  std::vector<double> m, e;
  for (int64_t s = 0; s < samples; ++s) {
    const double* x = field.data() + s * side * side;
    double sum = 0, bonds = 0;
    for (int64_t i = 0; i < side; ++i) {
      for (int64_t j = 0; j < side; ++j) {
        sum += x[i * side + j];
        bonds += x[i * side + j] * (x[i * side + (j + 1) % side] + x[((i + 1) % side) * side + j]);
      }
    }
    m.push_back(sum / double(side * side));
    e.push_back(-bonds / double(side * side));
  }
  LevelTruth truth{observables(m, e, double(side * side)), {}};
  std::vector<std::vector<double>> left_out;
  const int64_t q = samples / groups, r = samples % groups;
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t begin = g * q + std::min(g, r), end = (g + 1) * q + std::min(g + 1, r);
    std::vector<double> mm, ee;
    for (int64_t s = 0; s < samples; ++s) {
      if (s < begin || s >= end) mm.push_back(m[static_cast<size_t>(s)]);
      if (s < begin || s >= end) ee.push_back(e[static_cast<size_t>(s)]);
    }
    left_out.push_back(observables(mm, ee, double(side * side)));
  }
  for (size_t o = 0; o < truth.value.size(); ++o) {
    double mean = 0, spread = 0;
    for (const auto& v : left_out) mean += v[o] / double(groups);
    for (const auto& v : left_out) spread += (v[o] - mean) * (v[o] - mean);
    truth.error.push_back(std::sqrt((double(groups) - 1) / double(groups) * spread));
  }
  return truth;
}

TEST(IsingAnalyze, SpinObservablesFromTheStoredSpinsOnAnyRankCount) {
  TempFolder folder;
  const std::string data = folder.file("ising.h5");
  const double beta = 0.5;
  auto result = run_rgflow(2,
                           "generate -quiet -field ising -d 2 -L 32 -b 2 -levels 2 -samples 24 "
                           "-rg_map majority -thermalize 60 -sweeps_between 2 -seed 5 -beta 0.5 "
                           "-o " +
                               data);
  ASSERT_EQ(result.status, 0) << result.err;
  const std::string reference = folder.file("r1.h5");
  result = run_rgflow(1, "analyze -data " + data + " -groups 6 -o " + reference);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_NE(result.out.find("spin observables"), std::string::npos) << result.out;
  const auto value = table(reference, "/spin_observables/value");
  const auto error = table(reference, "/spin_observables/error");
  ASSERT_EQ(value.size(), 3u * 7u);
  for (int level = 0; level <= 2; ++level) {
    const int64_t side = 32 >> level;
    const LevelTruth truth = level_truth(data, level, 24, side, 6);
    for (size_t o = 0; o < 7; ++o) {
      const size_t at = static_cast<size_t>(level) * 7 + o;
      EXPECT_NEAR(value[at], truth.value[o], 1e-12 * (1 + std::fabs(truth.value[o])))
          << "level " << level << " observable " << o;
      EXPECT_NEAR(error[at], truth.error[o], 1e-9 * (1 + truth.error[o]))
          << "level " << level << " observable " << o;
    }
  }
  const auto exact = table(reference, "/spin_observables/exact");
  EXPECT_EQ(exact[6], field::onsager_energy(beta));
  EXPECT_EQ(exact[1], field::yang_magnetisation(beta));
  EXPECT_TRUE(std::isnan(exact[4]));      // not at beta_c
  EXPECT_TRUE(std::isnan(exact[7 + 6]));  // level 1: none
  EXPECT_EQ(table(reference, "/spin_observables/sites"), (std::vector<double>{1024, 256, 64}));
  EXPECT_TRUE(file_exists(folder.file("r1_spin_observables.csv")));
  // A model's learned flow: row 0 is the data's level 0 (same values, same exact values), the
  // later rows the model's own levels.
  const std::string model = folder.file("model.h5"), with_model = folder.file("flow.h5");
  result = run_rgflow(1, "train -quiet -data " + data + " -hidden 4 -epochs 1 -o " + model);
  ASSERT_EQ(result.status, 0) << result.err;
  result = run_rgflow(2, "analyze -quiet -data " + data + " -groups 6 -models " + model +
                             " -propagation none -o " + with_model);
  ASSERT_EQ(result.status, 0) << result.err;
  const auto learned = table(with_model, "/flow/model/spin_observables/value");
  ASSERT_EQ(learned.size(), 3u * 7u);
  const auto learned_exact = table(with_model, "/flow/model/spin_observables/exact");
  for (size_t o = 0; o < 7; ++o) {
    EXPECT_EQ(learned[o], value[o]) << o;
    EXPECT_TRUE(learned_exact[o] == exact[o] ||
                (std::isnan(learned_exact[o]) && std::isnan(exact[o])));
  }
  for (int ranks : {2, 3}) {
    const std::string output = folder.file("r" + std::to_string(ranks) + ".h5");
    result = run_rgflow(ranks, "analyze -quiet -data " + data + " -groups 6 -o " + output);
    ASSERT_EQ(result.status, 0) << result.err;
    for (const std::string name :
         {"/spin_observables/value", "/spin_observables/error", "/spin_observables/z_exact"}) {
      const auto a = table(output, name), b = table(reference, name);
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_TRUE(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))) << name << " " << i;
      }
    }
  }
}

TEST(IsingAnalyze, FewSamplesSpaceGroupsAndIidFields) {
  TempFolder folder;
  const std::string data = folder.file("few.h5");
  auto result = run_rgflow(2,
                           "generate -quiet -field ising -d 2 -L 64 -b 2 -levels 2 -samples 3 "
                           "-rg_map majority -thermalize 20 -sweeps_between 2 -seed 6 -beta " +
                               std::to_string(field::beta_critical_2d()) + " -o " + data);
  ASSERT_EQ(result.status, 0) << result.err;
  // 3 samples, 4 groups: space groups for the cumulants, 3 groups of one sample for the spins.
  const std::string one = folder.file("one.h5"), two = folder.file("two.h5");
  ASSERT_EQ(run_rgflow(1, "analyze -quiet -data " + data + " -groups 4 -o " + one).status, 0);
  ASSERT_EQ(run_rgflow(2, "analyze -quiet -data " + data + " -groups 4 -o " + two).status, 0);
  EXPECT_EQ(table(one, "/spin_observables/value"), table(two, "/spin_observables/value"));
  const auto value = table(one, "/spin_observables/value");
  const auto error = table(one, "/spin_observables/error");
  for (int level = 0; level <= 2; ++level) {
    const LevelTruth truth = level_truth(data, level, 3, 64 >> level, 3);
    for (size_t o = 0; o < 7; ++o) {
      const size_t at = static_cast<size_t>(level) * 7 + o;
      EXPECT_NEAR(value[at], truth.value[o], 1e-12 * (1 + std::fabs(truth.value[o])));
      EXPECT_NEAR(error[at], truth.error[o], 1e-9 * (1 + truth.error[o]));
    }
  }
  // At beta_c (the value as typed, to 6 digits): U* at level 0.
  EXPECT_NEAR(table(one, "/spin_observables/exact")[4], field::binder_critical(2), 1e-12);
  // An i.i.d. field has no spin observables.
  const std::string iid = folder.file("iid.h5"), iid_results = folder.file("iid_results.h5");
  ASSERT_EQ(run_rgflow(1, "generate -quiet -L 16 -levels 1 -samples 4 -o " + iid).status, 0);
  ASSERT_EQ(run_rgflow(1, "analyze -quiet -data " + iid + " -groups 2 -o " + iid_results).status,
            0);
  h5::Hid file = h5::open_read_only(iid_results);
  EXPECT_FALSE(h5::link_exists(file.get(), "/spin_observables"));
}

}  // namespace
}  // namespace rgflow::e2e
