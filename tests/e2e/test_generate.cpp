// rgflow generate end to end: contents independent of the rank count and decomposition, levels
// that are block maps of the level below, statistics against docs/science.md, and resume.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "e2e_util.hpp"
#include "rgflow/analysis/jackknife.hpp"
#include "rgflow/io/dataset.hpp"

namespace rgflow::e2e {
namespace {

TEST(Generate, SameSeedSameBitsOnOneToFourRanks) {
  TempFolder folder;
  struct Case {
    std::string sizes;
    std::vector<std::string> splits;  // extra options per rank count 2, 3, 4
  };
  const std::vector<Case> cases{
      {"-d 1 -L 96 -b 2 -levels 3 -samples 5 -distribution gaussian",
       {"-lattice_ranks 2", "-lattice_ranks 3", "-lattice_ranks 4"}},
      {"-d 2 -L 48 -b 2 -levels 2 -samples 6 -distribution exponential",
       {"", "-lattice_ranks 3", "-lattice_ranks 4"}},
      {"-d 3 -L 18 -b 3 -levels 1 -samples 4 -distribution gamma -gamma_shape 1.5",
       {"-lattice_ranks 2", "", "-lattice_ranks 2"}},
  };
  int index = 0;
  for (const auto& c : cases) {
    const std::string reference = folder.file("ref" + std::to_string(index) + ".h5");
    auto result = run_rgflow(1, "generate -quiet -seed 3 " + c.sizes + " -o " + reference);
    ASSERT_EQ(result.status, 0) << result.err;
    for (int ranks = 2; ranks <= 4; ++ranks) {
      const std::string output =
          folder.file("out" + std::to_string(index) + "_" + std::to_string(ranks) + ".h5");
      const std::string split = c.splits[static_cast<size_t>(ranks - 2)];
      result =
          run_rgflow(ranks, "generate -quiet -seed 3 " + c.sizes + " " + split + " -o " + output);
      ASSERT_EQ(result.status, 0) << c.sizes << " " << split << "\n" << result.err;
      EXPECT_TRUE(same_fields(reference, output))
          << c.sizes << " on " << ranks << " ranks " << split;
    }
    ++index;
  }
}

// The number N in "N tile(s) per sample" of generate's first line, or -1.
int64_t tiles_per_sample(const std::string& out) {
  const std::string marker = " tile(s) per sample";
  const size_t end = out.find(marker);
  if (end == std::string::npos) return -1;
  const size_t begin = out.rfind(' ', end - 1) + 1;
  return std::stoll(out.substr(begin, end - begin));
}

// Tiles of one block row each, or of one top-level block each (the smallest budget), on 1-4 ranks
// sharing the lattice, and on sample groups: the same bits as one rank holding every sample whole.
// (d = 1, where a block row is one block, and every budget between are in the unit tests of the
// plan, tests/unit/test_generation_plan.cpp.)
TEST(Generate, SameBitsForAnyMemoryBudgetAndRankCount) {
  TempFolder folder;
  struct Case {
    std::string sizes;
    int dim;
    int64_t blocks_per_axis;
    int64_t block_row_bytes;  // one row of top-level blocks across the lattice, all levels
    int64_t block_bytes;      // one top-level block, all levels
  };
  const std::vector<Case> cases{
      // 4 x 4 blocks of side 4: a block row is 4 x 16 sites + 2 x 8 + 1 x 4, float32.
      {"-d 2 -L 16 -b 2 -levels 2 -samples 3 -distribution gaussian", 2, 4, (64 + 16 + 4) * 4,
       (16 + 4 + 1) * 4},
      // 4^3 blocks of side 3: a block row is 3 x 12 x 12 sites + 1 x 4 x 4, float64.
      {"-d 3 -L 12 -b 3 -levels 1 -samples 2 -dtype float64 -distribution laplace", 3, 4,
       (432 + 16) * 8, (27 + 1) * 8},
  };
  int index = 0;
  for (const auto& c : cases) {
    const std::string base = "generate -seed 5 " + c.sizes;
    const std::string reference = folder.file("ref" + std::to_string(index) + ".h5");
    auto result = run_rgflow(1, base + " -o " + reference);
    ASSERT_EQ(result.status, 0) << result.err;
    EXPECT_EQ(tiles_per_sample(result.out), 1) << "everything in memory:\n" << result.out;
    struct Run {
      int ranks;
      int lattice_ranks;
      bool one_block_per_tile;  // else one block row per tile
      std::string io = "";      // auto: independent, as the boxes here are slabs
    };
    // Every rank count 1-4 on d = 2; on d = 3 the block-per-tile runs and one rank.
    std::vector<Run> runs{{1, 1, false}, {3, 3, true, " -io collective"}, {4, 2, true}};
    if (c.dim == 2) runs.insert(runs.end(), {{2, 2, false}, {4, 4, false, " -io collective"}});
    int run_index = 0;
    for (const auto& run : runs) {
      // The largest box has ceil(B / lattice ranks) block rows (ranks split axis 0 first).
      const int64_t rows = (c.blocks_per_axis + run.lattice_ranks - 1) / run.lattice_ranks;
      int64_t expected_tiles = rows;
      if (run.one_block_per_tile) {
        for (int axis = 1; axis < c.dim; ++axis) expected_tiles *= c.blocks_per_axis;
      }
      // Budgets just below one more row or block, so tiles cannot grow.
      const int64_t budget =
          run.one_block_per_tile ? 2 * c.block_bytes - 1 : c.block_row_bytes + c.block_bytes - 1;
      const std::string options = c.sizes + " -lattice_ranks " + std::to_string(run.lattice_ranks) +
                                  " -test_memory_bytes " + std::to_string(budget) + run.io;
      const std::string output =
          folder.file("out" + std::to_string(index) + "_" + std::to_string(run_index++) + ".h5");
      result = run_rgflow(run.ranks, "generate -seed 5 " + options + " -o " + output);
      ASSERT_EQ(result.status, 0) << options << "\n" << result.err;
      EXPECT_EQ(tiles_per_sample(result.out), expected_tiles)
          << options << " on " << run.ranks << " ranks\n"
          << result.out;
      EXPECT_TRUE(same_fields(reference, output)) << options << " on " << run.ranks << " ranks";
    }
    ++index;
  }
}

// Peak RSS per rank from generate's summary line, or -1.
double peak_rss_mib(const std::string& out) {
  const std::string marker = "peak RSS ";
  const size_t at = out.find(marker);
  return at == std::string::npos ? -1 : std::stod(out.substr(at + marker.size()));
}

// 2 samples of 4096^2 sites, 85 MiB each over all levels, -levels 10: a top-level block is
// 1024^2 sites (5.3 MiB over all levels), a block row 21.3 MiB. With -memory_mb 256 a step holds
// one block row (the 4 MiB target raised to a whole row); with -memory_mb 6 it holds one block,
// and the process stays near its size without data (about 45 MiB).
TEST(Generate, PeakMemoryPerRankIsBoundedByTheBudget) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's shadow memory and its quarantine of freed blocks (up to 256 MiB) are in the
  // RSS: 399 MiB against the 6 MiB budget. The bound is a property of the normal build.
  GTEST_SKIP() << "peak RSS is not rgflow's under AddressSanitizer";
#endif
  TempFolder folder;
  const std::string base = "generate -d 2 -L 4096 -b 2 -levels 10 -samples 2";
  auto result = run_rgflow(1, base + " -memory_mb 6 -o " + folder.file("small.h5"));
  ASSERT_EQ(result.status, 0) << result.err;
  const double bounded = peak_rss_mib(result.out);
  EXPECT_GT(bounded, 0) << result.out;
  EXPECT_LT(bounded, 45 + 6 + 20) << result.out;
  EXPECT_EQ(tiles_per_sample(result.out), 16) << result.out;
  result = run_rgflow(1, base + " -memory_mb 256 -o " + folder.file("rows.h5"));
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(tiles_per_sample(result.out), 4) << result.out;
  EXPECT_GT(peak_rss_mib(result.out), bounded + 10) << result.out;
  EXPECT_LT(peak_rss_mib(result.out), 45 + 22 + 20) << result.out;
  EXPECT_TRUE(same_fields(folder.file("small.h5"), folder.file("rows.h5")));
}

// A crash inside a sample's tiles: the samples whose every tile was written are marked complete,
// the interrupted one is not, and -resume gives the uninterrupted file.
TEST(Generate, ResumeAfterACrashBetweenTilesOfASample) {
  TempFolder folder;
  // 8 block rows of 8 x 64 sites per sample (levels 1-3: 4 x 32, 2 x 16, 1 x 8 sites); budget:
  // 3 rows per tile, so 3 tiles per sample.
  const std::string sizes = "generate -quiet -d 2 -L 64 -b 2 -levels 3 -samples 4 -seed 2";
  const std::string budget = " -test_memory_bytes " + std::to_string(3 * (512 + 128 + 32 + 8) * 4);
  const std::string reference = folder.file("reference.h5");
  ASSERT_EQ(run_rgflow(1, sizes + " -o " + reference).status, 0);
  const std::string output = folder.file("out.h5");
  // 2 groups of 1 rank: step 5 is tile 2 of the second sample of each group (0-1 and 2-3).
  auto result = run_rgflow(2, sizes + budget + " -test_stop_after_chunks 5 -o " + output);
  ASSERT_NE(result.status, 0);
  ASSERT_TRUE(file_exists(output + ".partial"));
  EXPECT_EQ(table(output + ".partial", "/sample_complete"), (std::vector<double>{1, 0, 1, 0}));
  result = run_rgflow(3, sizes + budget + " -lattice_ranks 3 -resume -o " + output);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(same_fields(reference, output));
}

// Independent recomputation of level k+1 from level k as read from the file.
TEST(Generate, EveryLevelIsTheBlockMapOfTheLevelBelow) {
  TempFolder folder;
  for (const std::string dtype : {"float32", "float64"}) {
    const std::string path = folder.file(dtype + ".h5");
    const auto result = run_rgflow(
        2, "generate -quiet -d 2 -L 54 -b 3 -levels 3 -samples 3 -dtype " + dtype + " -o " + path);
    ASSERT_EQ(result.status, 0) << result.err;
    const io::DatasetReader reader(path);
    const auto& spec = reader.spec();
    const double scale = 1.0 / 3.0;  // b^(-d/2) = 3^-1
    for (int level = 1; level <= spec.geometry.levels; ++level) {
      const int64_t fine_side = spec.geometry.level_side(level - 1);
      const int64_t side = spec.geometry.level_side(level);
      const auto fine = reader.read(level - 1, 0, spec.samples);
      const auto coarse = reader.read(level, 0, spec.samples);
      for (int64_t s = 0; s < spec.samples; ++s) {
        for (int64_t I = 0; I < side; ++I) {
          for (int64_t J = 0; J < side; ++J) {
            double sum = 0;
            for (int64_t p = 0; p < 3; ++p)
              for (int64_t q = 0; q < 3; ++q)
                sum += fine[static_cast<size_t>(s * fine_side * fine_side +
                                                (3 * I + p) * fine_side + 3 * J + q)];
            double expected = scale * sum;
            if (dtype == "float32") expected = static_cast<float>(expected);
            ASSERT_EQ(coarse[static_cast<size_t>(s * side * side + I * side + J)], expected)
                << dtype << " level " << level << " sample " << s << " block " << I << "," << J;
          }
        }
      }
    }
  }
}

TEST(Generate, Float32IsFloat64RoundedAtLevelZero) {
  TempFolder folder;
  const std::string sizes = "generate -quiet -d 1 -L 64 -levels 2 -samples 2 -distribution laplace";
  ASSERT_EQ(run_rgflow(1, sizes + " -dtype float32 -o " + folder.file("a.h5")).status, 0);
  ASSERT_EQ(run_rgflow(1, sizes + " -dtype float64 -o " + folder.file("b.h5")).status, 0);
  const auto single = io::DatasetReader(folder.file("a.h5")).read(0, 0, 2);
  const auto twice = io::DatasetReader(folder.file("b.h5")).read(0, 0, 2);
  for (size_t i = 0; i < single.size(); ++i) {
    ASSERT_EQ(single[i], static_cast<double>(static_cast<float>(twice[i])));
  }
}

// kappa_n(level k) from the file against N^(k (1 - n/2)) kappa_n(exact), n = 1, 2, 4, within
// 4.5 jackknife errors (the seed is fixed, so the outcome is too).
TEST(Generate, CumulantsFollowTheExactRecursionForEveryDistribution) {
  TempFolder folder;
  for (const std::string distribution :
       {"gaussian", "uniform", "rademacher", "laplace", "exponential", "gamma"}) {
    const std::string path = folder.file(distribution + ".h5");
    const std::string extra = distribution == "gamma" ? " -gamma_shape 2" : "";
    const auto result =
        run_rgflow(2,
                   "generate -quiet -d 2 -L 128 -b 2 -levels 3 -samples 32 -seed 11 "
                   "-dtype float64 -distribution " +
                       distribution + extra + " -o " + path);
    ASSERT_EQ(result.status, 0) << result.err;
    const io::DatasetReader reader(path);
    const auto& spec = reader.spec();
    const int groups = 16;
    for (int level = 0; level <= spec.geometry.levels; ++level) {
      std::vector<analysis::CentralMoments> parts;
      for (int g = 0; g < groups; ++g) {
        analysis::CentralMoments part(4);
        const auto values = reader.read(level, 2 * g, 2);
        part.add(values.data(), values.size());
        parts.push_back(part);
      }
      const auto kappa = analysis::jackknife_cumulants(parts);
      for (int n : {1, 2, 4}) {
        const double predicted =
            std::pow(4.0, level * (1 - n / 2.0)) * spec.distribution.exact_cumulant(n);
        const auto& estimate = kappa[static_cast<size_t>(n - 1)];
        EXPECT_NEAR(estimate.value, predicted, 4.5 * estimate.error)
            << distribution << " level " << level << " kappa_" << n;
        EXPECT_GT(estimate.error, 0.0);
      }
    }
  }
}

TEST(Generate, ResumeAfterInterruptionGivesTheSameContents) {
  TempFolder folder;
  const std::string sizes =
      "generate -quiet -d 2 -L 256 -b 2 -levels 3 -samples 24 -seed 5 -chunk_mb 1";
  const std::string reference = folder.file("reference.h5");
  ASSERT_EQ(run_rgflow(2, sizes + " -o " + reference).status, 0);

  const std::string output = folder.file("resumed.h5");
  auto result = run_rgflow(2, sizes + " -test_stop_after_chunks 2 -o " + output);
  ASSERT_NE(result.status, 0) << "the test hook should have ended the run";
  ASSERT_FALSE(file_exists(output)) << "an interrupted run must not leave the final name";
  ASSERT_TRUE(file_exists(output + ".partial"));

  result = run_rgflow(2, sizes + " -o " + output);
  EXPECT_NE(result.status, 0) << "a partial file must not be overwritten silently";
  ASSERT_EQ(result.rgflow_error_lines().size(), 1u) << result.err;
  EXPECT_NE(result.rgflow_error_lines()[0].find("-resume"), std::string::npos);

  result = run_rgflow(2,
                      "generate -quiet -d 2 -L 256 -b 2 -levels 3 -samples 24 -seed 6 "
                      "-chunk_mb 1 -resume -o " +
                          output);
  EXPECT_NE(result.status, 0) << "resuming with another seed must be refused";
  ASSERT_EQ(result.rgflow_error_lines().size(), 1u) << result.err;
  EXPECT_NE(result.rgflow_error_lines()[0].find("-seed"), std::string::npos);

  // Resume on another rank count: the remaining samples are shared out afresh.
  result = run_rgflow(3, sizes + " -resume -o " + output);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_FALSE(file_exists(output + ".partial"));
  EXPECT_TRUE(io::DatasetReader(output).complete());
  EXPECT_TRUE(same_fields(reference, output));

  // Resuming a finished output is a no-op, so a retried batch job succeeds.
  result = run_rgflow(1, sizes + " -resume -o " + output);
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(same_fields(reference, output));
}

TEST(Generate, ForceReplacesAnExistingOutput) {
  TempFolder folder;
  const std::string output = folder.file("data.h5");
  ASSERT_EQ(run_rgflow(1, "generate -quiet -L 16 -levels 1 -samples 2 -seed 1 -o " + output).status,
            0);
  ASSERT_EQ(run_rgflow(1, "generate -quiet -L 16 -levels 1 -samples 2 -seed 2 -force -o " + output)
                .status,
            0);
  EXPECT_EQ(io::DatasetReader(output).spec().seed, 2u);
}

TEST(Generate, OptionsFromYamlFileAndReadableByH5dump) {
  TempFolder folder;
  const std::string yaml = folder.file("options.yaml");
  {
    std::ofstream out(yaml);
    out << "d: 1\nL: 64\nlevels: 3\nsamples: 3\ndistribution: rademacher\nseed: 9\n";
  }
  const std::string output = folder.file("yaml.h5");
  auto result = run_rgflow(2, "generate -quiet -options_file_yaml " + yaml + " -o " + output);
  ASSERT_EQ(result.status, 0) << result.err;
  const io::DatasetReader reader(output);
  EXPECT_EQ(reader.spec().geometry.dim, 1);
  EXPECT_EQ(reader.spec().geometry.side, 64);
  EXPECT_EQ(reader.spec().distribution.name(), "rademacher");
  EXPECT_EQ(reader.spec().seed, 9u);
  // h5dump, an independent reader, sees every level with its shape and the attributes.
  const std::string dump = folder.file("dump.txt");
  ASSERT_EQ(std::system(("h5dump -H " + output + " > " + dump).c_str()), 0);
  std::ifstream in(dump);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("DATASET \"field\""), std::string::npos);
  EXPECT_NE(text.find("( 3, 8 )"), std::string::npos) << "level 3 of L = 64, b = 2: 8 sites";
  EXPECT_NE(text.find("schema_version"), std::string::npos);

  // A misspelt key in the file is an unknown option too.
  {
    std::ofstream out(yaml);
    out << "L: 64\nlevel: 3\n";
  }
  result = run_rgflow(1, "generate -quiet -options_file_yaml " + yaml + " -o " + output + "2");
  EXPECT_NE(result.status, 0);
  ASSERT_EQ(result.rgflow_error_lines().size(), 1u) << result.err;
  EXPECT_NE(result.rgflow_error_lines()[0].find("unknown option -level"), std::string::npos);
}

TEST(Generate, HelpListsOptionsWithDefaults) {
  const auto result = run_rgflow(1, "generate -help");
  EXPECT_EQ(result.status, 0) << result.err;
  for (const std::string option : {"-L <int>", "-distribution", "-lattice_ranks", "-memory_mb",
                                   "-chunk_mb", "-resume", "-force", "[default 256]"}) {
    EXPECT_NE(result.out.find(option), std::string::npos) << option;
  }
}

}  // namespace
}  // namespace rgflow::e2e
