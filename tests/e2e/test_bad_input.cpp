// Every bad input: a non-zero exit on every rank (no hang: runs are bounded), exactly one error
// line from rgflow naming the problem, no abort trace, and no output file.
#include <gtest/gtest.h>

#include <fstream>

#include "e2e_util.hpp"

namespace rgflow::e2e {
namespace {

struct BadInput {
  std::string options;   // after "generate -o <out>"
  std::string expected;  // must appear in the error line
  int ranks = 2;
};

TEST(GenerateBadInput, EachIsRefusedCleanlyWithoutOutput) {
  const std::vector<BadInput> cases{
      {"-L 100 -b 2 -levels 3", "-L: 100 is not divisible by b^K = 2^3 = 8"},
      {"-L 4 -b 2 -levels 3", "-levels"},
      {"-d 4", "-d: 4 is out of range"},
      {"-d 0", "-d: 0 is out of range"},
      {"-b 1", "-b: 1 is out of range"},
      {"-L 0", "-L: 0 is out of range"},
      {"-L -16", "-L: -16 is out of range"},
      {"-samples 0", "-samples: 0 is out of range"},
      {"-samples -3", "-samples"},
      {"-levels -1", "-levels"},
      {"-L 2.5", "-L: '2.5' is not an integer"},
      {"-seed abc", "-seed: 'abc' is not an integer"},
      {"-distribution cauchy", "-distribution: unknown value 'cauchy'"},
      {"-distribution gamma", "-gamma_shape"},
      {"-distribution gamma -gamma_shape -1", "-gamma_shape"},
      {"-distribution gamma -gamma_shape 0", "-gamma_shape"},
      {"-gamma_shape 2", "-gamma_shape"},
      {"-dtype float16", "-dtype: unknown value 'float16'"},
      {"-Lx 64", "unknown option -Lx"},
      {"-sample 4", "unknown option -sample"},
      {"-L 64 -levels 2 -lattice_ranks 3", "-lattice_ranks: 3 does not divide the number of ranks"},
      {"-d 1 -L 8 -b 2 -levels 2 -lattice_ranks 4",
       "-lattice_ranks: 4 exceeds the number of top-level blocks, 2", 4},
      {"-d 1 -L 8 -b 2 -levels 2 -lattice_ranks -1", "-lattice_ranks"},
      {"-scaling_dimension -1", "-scaling_dimension"},
      // Large lattices (issue 12): a budget below one top-level block (1024^2 sites, all levels),
      // a lattice beyond the 64-bit index range, one top-level block for two lattice ranks, and
      // a lattice whose 2^36 blocks overflowed PETSc's DMDA: planned, then refused by the disk.
      {"-L 1024 -levels 10 -memory_mb 4",
       "-memory_mb: 4 MiB cannot hold one top-level block (side b^K = 1024"},
      {"-memory_mb 0", "-memory_mb: 0 is out of range"},
      {"-memory_mb 8 -chunk_mb 8", "-chunk_mb are the same budget"},
      {"-d 3 -L 4194304 -levels 4", "-L: 4 samples of 4194304^3 sites are beyond rgflow's index"},
      {"-d 2 -L 4 -levels 2 -lattice_ranks 2",
       "-lattice_ranks: 2 exceeds the number of top-level blocks, 1"},
      {"-d 3 -L 65536 -levels 4", "reserving"},
      {"-force maybe", "-force"},
  };
  for (const auto& c : cases) {
    TempFolder folder;
    const std::string output = folder.file("out.h5");
    const auto result =
        run_rgflow(c.ranks, "generate -quiet -samples 4 -o " + output + " " + c.options);
    expect_one_line_failure(result, c.expected, c.options);
    EXPECT_FALSE(file_exists(output)) << c.options;
    EXPECT_FALSE(file_exists(output + ".partial")) << c.options;
  }
}

TEST(GenerateBadInput, OutputFolderMissingOrNotWritable) {
  TempFolder folder;
  expect_one_line_failure(run_rgflow(2, "generate -quiet -o " + folder.file("missing/out.h5")),
                          "output folder", "missing folder");
  // /proc refuses new files even for root.
  expect_one_line_failure(run_rgflow(2, "generate -quiet -o /proc/rgflow-test.h5"), "not writable",
                          "unwritable folder");
  EXPECT_FALSE(file_exists("/proc/rgflow-test.h5"));
}

TEST(GenerateBadInput, ExistingOutputIsKeptWithoutForce) {
  TempFolder folder;
  const std::string output = folder.file("out.h5");
  {
    std::ofstream keep(output);
    keep << "precious";
  }
  expect_one_line_failure(run_rgflow(2, "generate -quiet -o " + output), "exists (use -force",
                          "existing output");
  std::ifstream kept(output);
  std::string text;
  kept >> text;
  EXPECT_EQ(text, "precious");
}

TEST(InfoBadInput, MissingOrMalformedDataset) {
  TempFolder folder;
  expect_one_line_failure(run_rgflow(2, "info -data " + folder.file("none.h5")), "does not exist",
                          "missing dataset");
  const std::string garbage = folder.file("garbage.h5");
  {
    std::ofstream out(garbage);
    out << "not hdf5";
  }
  expect_one_line_failure(run_rgflow(2, "info -data " + garbage), "not an HDF5 file", "garbage");
}

TEST(CommandLine, UnknownAndUnimplementedCommands) {
  expect_one_line_failure(run_rgflow(1, "frobnicate"), "unknown command", "unknown command");
  expect_one_line_failure(run_rgflow(2, "run"), "no pipeline file given", "run");
}

}  // namespace
}  // namespace rgflow::e2e
