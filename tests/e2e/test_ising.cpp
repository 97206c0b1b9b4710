// rgflow generate -field ising end to end (docs/science.md section 8): the same bits on any rank
// count and decomposition for every update (Swendsen-Wang, the default; heat-bath; both), every
// level the stored rg_map of the level below (info -verify), the energy per site against Onsager,
// extension continuing the chain, tau_int stored with a warning when samples are too close, and
// every bad input refused cleanly.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "e2e_util.hpp"
#include "rgflow/core/hdf5.hpp"
#include "rgflow/field/ising.hpp"
#include "rgflow/io/dataset.hpp"

namespace rgflow::e2e {
namespace {

const std::string kBetaCritical = "0.44068679350977151";

TEST(IsingGenerate, SameBitsOnOneToFourRanksAndVerified) {
  TempFolder folder;
  struct Case {
    std::string options;
    std::vector<int> ranks;
    std::vector<std::string> splits;  // per rank count after the first
  };
  const std::vector<Case> cases{
      // 2D at beta_c, majority with b = 2 (keyed ties): 1 and 3 ranks (slabs and a 3x1 grid).
      {"-d 2 -L 24 -b 2 -levels 2 -rg_map majority -beta " + kBetaCritical,
       {1, 3, 4},
       {"", "-lattice_ranks 4"}},
      // 2D, b = 3, decimation: every level holds spins; the heat-bath chain.
      {"-d 2 -L 18 -b 3 -levels 2 -rg_map decimation -beta 0.5 -update heat_bath", {1, 2}, {""}},
      // 3D, block_sum (float levels above the spins).
      {"-d 3 -L 8 -b 2 -levels 2 -rg_map block_sum -beta 0.2216546", {1, 2, 4}, {"", ""}},
      // 3D, both updates in each sweep, on a 1x1x3 grid.
      {"-d 3 -L 12 -b 2 -levels 1 -rg_map majority -beta 0.2216546 -update "
       "swendsen_wang_heat_bath",
       {1, 3},
       {""}},
  };
  int index = 0;
  for (const auto& c : cases) {
    const std::string common =
        "generate -quiet -field ising -samples 3 -thermalize 10 -sweeps_between 2 -seed 4 " +
        c.options;
    const std::string reference = folder.file("ref" + std::to_string(index) + ".h5");
    auto result = run_rgflow(c.ranks[0], common + " -o " + reference);
    ASSERT_EQ(result.status, 0) << result.err;
    result = run_rgflow(2, "info -verify -data " + reference);
    EXPECT_EQ(result.status, 0) << result.err;
    for (size_t i = 1; i < c.ranks.size(); ++i) {
      const std::string output =
          folder.file("out" + std::to_string(index) + "_" + std::to_string(c.ranks[i]) + ".h5");
      result = run_rgflow(c.ranks[i], common + " " + c.splits[i - 1] + " -o " + output);
      ASSERT_EQ(result.status, 0) << c.options << "\n" << result.err;
      EXPECT_TRUE(same_fields(reference, output)) << c.options << " on " << c.ranks[i];
      EXPECT_EQ(table(reference, "/checksums"), table(output, "/checksums"));
    }
    ++index;
  }
}

// A spin of level 1 flipped: verify recomputes the majority map of level 0 and names the site.
TEST(IsingGenerate, VerifyRecomputesTheStoredRgMap) {
  TempFolder folder;
  const std::string output = folder.file("ising.h5");
  auto result = run_rgflow(2,
                           "generate -quiet -field ising -d 2 -L 16 -b 2 -levels 2 -samples 2 "
                           "-rg_map majority -thermalize 5 -sweeps_between 1 -beta 0.3 -o " +
                               output);
  ASSERT_EQ(result.status, 0) << result.err;
  double spin = 0;
  {
    const io::DatasetReader reader(output);
    spin = reader.read(1, 1, 1)[8 * 3 + 5];
  }
  {
    h5::Hid file = h5::file_id(H5Fopen(output.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    h5::Hid dataset = h5::dataset_id(H5Dopen2(file.get(), "/level_1/field", H5P_DEFAULT));
    h5::Hid space = h5::dataspace_id(H5Dget_space(dataset.get()));
    const hsize_t start[3] = {1, 3, 5}, one[3] = {1, 1, 1};
    RGFLOW_H5(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, one, nullptr));
    h5::Hid memory = h5::simple_space({1});
    const int8_t flipped = static_cast<int8_t>(-spin);
    RGFLOW_H5(
        H5Dwrite(dataset.get(), H5T_NATIVE_INT8, memory.get(), space.get(), H5P_DEFAULT, &flipped));
  }
  for (const int ranks : {1, 2}) {
    result = run_rgflow(ranks, "info -verify -data " + output);
    expect_one_line_failure(result,
                            "level 1, sample 1, site 29: stored " +
                                std::to_string(static_cast<int>(-spin)) +
                                ", but the majority map of level 0 as stored gives " +
                                std::to_string(static_cast<int>(spin)),
                            "flipped spin");
  }
}

// Energy per site at beta = 0.3 (correlation length about 1: L = 32 is the infinite lattice within
// the errors) against Onsager's exact value, for both updates, the error from the samples' own
// tau_int.
TEST(IsingGenerate, EnergyPerSiteAgreesWithOnsager) {
  for (const std::string update : {"swendsen_wang", "heat_bath"}) {
    TempFolder folder;
    const std::string output = folder.file("onsager.h5");
    const double beta = 0.3;
    auto result = run_rgflow(2,
                             "generate -quiet -field ising -d 2 -L 32 -b 2 -levels 0 -samples 400 "
                             "-thermalize 100 -sweeps_between 2 -beta 0.3 -update " +
                                 update + " -o " + output);
    ASSERT_EQ(result.status, 0) << result.err;
    const io::DatasetReader reader(output);
    const int64_t side = 32, samples = reader.spec().samples;
    const std::vector<double> spins = reader.read(0, 0, samples);
    std::vector<double> energy;
    for (int64_t s = 0; s < samples; ++s) {
      const double* x = spins.data() + s * side * side;
      double bonds = 0;
      for (int64_t i = 0; i < side; ++i) {
        for (int64_t j = 0; j < side; ++j) {
          bonds +=
              x[i * side + j] * (x[((i + 1) % side) * side + j] + x[i * side + (j + 1) % side]);
        }
      }
      energy.push_back(-bonds / static_cast<double>(side * side));
    }
    double mean = 0, variance = 0;
    for (const double e : energy) mean += e;
    mean /= static_cast<double>(samples);
    for (const double e : energy) variance += (e - mean) * (e - mean);
    variance /= static_cast<double>(samples - 1);
    const double tau = field::integrated_autocorrelation_time(energy);
    const double error = std::sqrt(variance * 2 * tau / static_cast<double>(samples));
    const double exact = field::onsager_energy(beta);
    EXPECT_LT(std::abs(mean - exact), 3 * error) << update << ": mean " << mean << " +- " << error
                                                 << ", Onsager " << exact << ", tau " << tau;
    // The chain's own tau_int, stored: finite and positive (about 1/2 for independent sweeps; the
    // cluster update's random flips may anticorrelate |m| a little, below 1/2).
    const io::DatasetReader::Autocorrelation stored = reader.autocorrelation();
    EXPECT_GT(stored.energy, 0.25) << update;
    EXPECT_GT(stored.abs_magnetisation, 0.25) << update;
    EXPECT_LT(stored.energy, 10.0) << update;
  }
}

// At beta_c on L = 32, tau_int of |m| is tens of heat-bath sweeps: one sweep between samples is
// warned of.
TEST(IsingGenerate, WarnsWhenSamplesAreCloserThanTwoTauInt) {
  TempFolder folder;
  const std::string common =
      "generate -field ising -update heat_bath -d 2 -L 32 -b 2 -levels 1 -thermalize 200 -beta " +
      kBetaCritical;
  auto result =
      run_rgflow(2, common + " -samples 200 -sweeps_between 1 -o " + folder.file("close.h5"));
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_NE(result.err.find("warning: -sweeps_between 1 < 2 tau_int"), std::string::npos)
      << result.err;
  result = run_rgflow(1, common + " -samples 2 -sweeps_between 1000 -o " + folder.file("far.h5"));
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(result.err.find("warning"), std::string::npos) << result.err;
}

// An extension continues the chain from the last stored sample; so does its resumption.
TEST(IsingGenerate, ExtendContinuesTheChainBitForBit) {
  TempFolder folder;
  const std::string common =
      "generate -quiet -field ising -d 2 -L 16 -b 2 -levels 1 -rg_map majority -thermalize 10 "
      "-sweeps_between 3 -beta " +
      kBetaCritical;
  const std::string at_once = folder.file("at_once.h5"), grown = folder.file("grown.h5");
  auto result = run_rgflow(1, common + " -samples 6 -o " + at_once);
  ASSERT_EQ(result.status, 0) << result.err;
  result = run_rgflow(3, common + " -samples 2 -o " + grown);
  ASSERT_EQ(result.status, 0) << result.err;
  result = run_rgflow(2, common + " -extend 6 -o " + grown);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(same_fields(at_once, grown));
  EXPECT_EQ(table(at_once, "/checksums"), table(grown, "/checksums"));
  result = run_rgflow(2, "info -verify -data " + grown);
  EXPECT_EQ(result.status, 0) << result.err;
  // An extension killed after its first generated samples, resumed: the same file.
  const std::string interrupted = folder.file("interrupted.h5");
  result = run_rgflow(1, common + " -samples 2 -o " + interrupted);
  ASSERT_EQ(result.status, 0) << result.err;
  result = run_rgflow(2, common + " -extend 6 -test_stop_after_chunks 2 -o " + interrupted);
  ASSERT_NE(result.status, 0) << "the test hook should have ended the run";
  result = run_rgflow(1, common + " -extend 6 -resume -o " + interrupted);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(same_fields(at_once, interrupted));
  EXPECT_EQ(table(at_once, "/checksums"), table(interrupted, "/checksums"));
}

// A chain killed after some samples (the test hook ends the run as a kill would) and resumed
// with -resume, on another rank count, continues from the last stored sample: the file is the
// uninterrupted run's, bit for bit, for the cluster and the heat-bath update. A complete output
// is kept by -resume, and a resume with another update is refused, naming it.
TEST(IsingGenerate, ResumeContinuesAnInterruptedChainBitForBit) {
  TempFolder folder;
  for (const std::string update : {"swendsen_wang", "heat_bath"}) {
    const std::string common =
        "generate -quiet -field ising -d 2 -L 16 -b 2 -levels 2 -rg_map majority -samples 6 "
        "-thermalize 10 -sweeps_between 3 -seed 9 -beta " +
        kBetaCritical + " -update " + update;
    const std::string reference = folder.file("reference_" + update + ".h5");
    auto result = run_rgflow(1, common + " -o " + reference);
    ASSERT_EQ(result.status, 0) << result.err;
    for (const int ranks : {1, 2}) {
      const std::string output = folder.file(update + std::to_string(ranks) + ".h5");
      result = run_rgflow(ranks, common + " -test_stop_after_chunks 2 -o " + output);
      ASSERT_NE(result.status, 0) << "the test hook should have ended the run";
      ASSERT_FALSE(file_exists(output));
      ASSERT_TRUE(file_exists(output + ".partial"));
      {
        const io::DatasetReader partial(output + ".partial");
        EXPECT_EQ(partial.completed_samples(), (std::vector<uint8_t>{1, 1, 0, 0, 0, 0}));
      }
      result =
          run_rgflow(2,
                     "generate -quiet -field ising -d 2 -L 16 -b 2 -levels 2 -rg_map "
                     "majority -samples 6 -thermalize 10 -sweeps_between 3 -seed 9 -beta " +
                         kBetaCritical + " -update swendsen_wang_heat_bath -resume -o " + output);
      expect_one_line_failure(result, "-update", "another update");
      result = run_rgflow(3 - ranks, common + " -resume -o " + output);
      ASSERT_EQ(result.status, 0) << result.err;
      EXPECT_FALSE(file_exists(output + ".partial"));
      EXPECT_TRUE(same_fields(reference, output)) << update << " interrupted on " << ranks;
      EXPECT_EQ(table(reference, "/checksums"), table(output, "/checksums"));
      result = run_rgflow(ranks, common + " -resume -o " + output);
      EXPECT_EQ(result.status, 0) << result.err;
      EXPECT_TRUE(same_fields(reference, output));
    }
  }
}

TEST(IsingBadInput, EachIsRefusedCleanlyWithoutOutput) {
  TempFolder folder;
  const std::string ising = "-field ising -d 2 -L 16 -b 2 -levels 1 ";
  const std::vector<std::pair<std::string, std::string>> cases{
      {ising + "-beta 0", "-beta: must be positive and finite"},
      {ising + "-beta nan", "-beta"},
      {ising + "-beta inf", "-beta"},
      {ising, "-beta: -field ising needs"},
      {"-field potts -beta 0.3", "-field: unknown value 'potts'"},
      {"-rg_map majority", "-rg_map: majority applies only to -field ising"},
      {"-beta 0.3", "-beta applies only to -field ising"},
      {"-update heat_bath", "-update applies only to -field ising"},
      {ising + "-beta 0.3 -update wolff", "-update: unknown value 'wolff'"},
      {ising + "-beta 0.3 -thermalize -1", "-thermalize: -1 is out of range"},
      {ising + "-beta 0.3 -sweeps_between 0", "-sweeps_between: 0 is out of range"},
      {ising + "-beta 0.3 -distribution laplace", "-distribution applies only to -field iid"},
      {ising + "-beta 0.3 -rg_map majority -scaling_dimension 1",
       "-scaling_dimension applies only to -rg_map block_sum"},
      {"-field ising -d 1 -L 16 -levels 1 -beta 0.3", "-field ising: d = 1"},
      {"-field ising -d 2 -L 9 -b 3 -levels 1 -beta 0.3", "-L: 9 is odd"},
  };
  for (const auto& [options, expected] : cases) {
    const std::string output = folder.file("out.h5");
    const RunResult result = run_rgflow(2, "generate -quiet -o " + output + " " + options);
    expect_one_line_failure(result, expected, options);
    EXPECT_FALSE(file_exists(output)) << options;
    EXPECT_FALSE(file_exists(output + ".partial")) << options;
  }
}

}  // namespace
}  // namespace rgflow::e2e
