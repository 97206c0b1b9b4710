// generate -field ising's layer (io/ising_generation.hpp) against independent truth: the
// chain run whole on one process with the kernels (field::IsingLattice), the block-spin maps
// applied to the whole lattice, the checksums of the whole levels, tau_int of the reference
// series; and an extension that equals generating every sample at once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "rgflow/coarse/block_map.hpp"
#include "rgflow/field/ising.hpp"
#include "rgflow/field/ising_cluster.hpp"
#include "rgflow/io/checksum.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/io/generation_report.hpp"
#include "rgflow/io/ising_generation.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::lattice {
namespace {

std::string temporary_path(const Comm& world, const std::string& stem) {
  std::string path;
  if (world.rank() == 0) {
    path = "/tmp/rgflow_mpi_ising_" + stem + "_" + std::to_string(getpid()) + ".h5";
  }
  return world.broadcast(path);
}

io::DatasetSpec ising_spec(int dim, int64_t side, int levels, const std::string& rg_map) {
  io::DatasetSpec spec;
  spec.geometry = {dim, side, 2, levels};
  spec.samples = 4;
  spec.seed = 5;
  spec.field = "ising";
  spec.rg_map = rg_map;
  spec.ising = {dim == 2 ? 0.4406868 : 0.2216546, 3, 2};
  spec.scaling_dimension = dim / 2.0;
  return spec;
}

// The chain of `spec` on one whole lattice: level 0 of every sample and the series of |m| and
// the energy per site after every sweep between samples.
struct ReferenceChain {
  std::vector<std::vector<int8_t>> samples;
  std::vector<double> abs_magnetisation, energy;
};

ReferenceChain reference_chain(const io::DatasetSpec& spec) {
  const auto& g = spec.geometry;
  field::IsingLattice whole(g.dim, g.side);
  whole.set_all(1);
  const field::HeatBathTable table = field::heat_bath_table(g.dim, spec.ising.beta);
  const double sites = static_cast<double>(g.level_sites(0));
  field::BoxClusters clusters;
  ReferenceChain chain;
  for (int64_t s = 0; s < spec.samples; ++s) {
    const int64_t sweeps = s == 0 ? spec.ising.thermalize : spec.ising.sweeps_between;
    for (int64_t sweep = 0; sweep < sweeps; ++sweep) {
      const auto sample_key = static_cast<uint32_t>(s), sweep_key = static_cast<uint32_t>(sweep);
      // The update as the dataset's update_description says: Swendsen-Wang, then heat-bath.
      if (spec.ising.update != "heat_bath") {
        field::swendsen_wang_sweep(whole, spec.ising.beta, spec.seed, sample_key, sweep_key,
                                   clusters);
      }
      if (spec.ising.update != "swendsen_wang") {
        whole.heat_bath_sweep(table, spec.seed, sample_key, sweep_key);
      }
      if (s > 0) {
        chain.abs_magnetisation.push_back(std::abs(static_cast<double>(whole.magnetisation_sum())) /
                                          sites);
        chain.energy.push_back(-static_cast<double>(whole.bond_sum()) / sites);
      }
    }
    chain.samples.push_back(whole.spins());
  }
  return chain;
}

// Generates `spec` into `path` on every rank (the grid choose_process_grid picks), optionally
// extending `source` from `first_new` samples.
io::IsingRunSummary generate(const Comm& world, const io::DatasetSpec& spec,
                             const std::string& path, const io::DatasetReader* source = nullptr,
                             int64_t first_new = 0) {
  const auto grid =
      choose_process_grid(spec.geometry.dim, spec.geometry.top_blocks_per_axis(), world.size());
  if (!grid) throw std::logic_error("no grid");
  io::DatasetWriter writer = io::DatasetWriter::create(world, path, spec, true);
  const io::IsingRunSummary summary =
      io::generate_ising(world, *grid, spec, writer, {0, source, first_new}, {});
  writer.write_autocorrelation(summary.tau_abs_magnetisation, summary.tau_energy,
                               summary.series_length);
  writer.finish();
  world.barrier();
  return summary;
}

std::vector<double> widened(const std::vector<int8_t>& spins) {
  return std::vector<double>(spins.begin(), spins.end());
}

TEST(IsingGeneration, MajorityLevelsAreTheWholeLatticeChainAndItsMaps2D) {
  const Comm world(MPI_COMM_WORLD);
  const io::DatasetSpec spec = ising_spec(2, 16, 2, "majority");
  const std::string path = temporary_path(world, "majority");
  const io::IsingRunSummary summary = generate(world, spec, path);
  const ReferenceChain reference = reference_chain(spec);
  EXPECT_EQ(summary.series_length, (spec.samples - 1) * spec.ising.sweeps_between);
  EXPECT_EQ(summary.tau_energy, field::integrated_autocorrelation_time(reference.energy));
  EXPECT_EQ(summary.tau_abs_magnetisation,
            field::integrated_autocorrelation_time(reference.abs_magnetisation));
  {
    const io::DatasetReader reader(path);
    EXPECT_EQ(reader.spec().difference(spec), "");
    EXPECT_TRUE(reader.spec().level_holds_spins(2));
    EXPECT_EQ(reader.autocorrelation().energy, summary.tau_energy);
    const std::vector<uint64_t> checksums = reader.read_checksums(0, spec.samples);
    for (int64_t s = 0; s < spec.samples; ++s) {
      std::vector<int8_t> level = reference.samples[static_cast<size_t>(s)];
      for (int k = 0; k <= spec.geometry.levels; ++k) {
        const int64_t side = spec.geometry.level_side(k);
        if (k > 0) {
          std::vector<int8_t> coarse(static_cast<size_t>(spec.geometry.level_sites(k)));
          field::majority_map(level.data(), field::IsingBox::whole(2, side * 2), 2, spec.seed,
                              static_cast<uint32_t>(s), static_cast<uint32_t>(k), coarse.data());
          level = coarse;
        }
        // The spins as the train and analyze readers hand them out: the numbers +1 and -1.
        EXPECT_EQ(reader.read(k, s, 1), widened(level)) << "level " << k << " sample " << s;
        const Box whole = full_box(2, side);
        EXPECT_EQ(checksums[static_cast<size_t>(k * spec.samples + s)],
                  io::box_checksum(level.data(), whole, side, io::checksum_key(k, s)));
        std::vector<int8_t> stored(level.size());
        reader.read_stored_box(k, s, 1, whole, stored.data());
        EXPECT_EQ(stored, level);
      }
    }
  }
  world.barrier();
  if (world.rank() == 0) std::remove(path.c_str());
}

// The cluster updates on every process grid of the rank count: level 0 of every sample is the
// whole-lattice chain's, d = 2 and 3, and tau_int is that of the reference series.
TEST(IsingGeneration, ClusterUpdatesAreTheWholeLatticeChain) {
  const Comm world(MPI_COMM_WORLD);
  for (const int dim : {2, 3}) {
    for (const std::string update : {"swendsen_wang", "swendsen_wang_heat_bath"}) {
      io::DatasetSpec spec = ising_spec(dim, dim == 2 ? 16 : 8, 1, "decimation");
      spec.ising.update = update;
      const std::string path = temporary_path(world, "cluster");
      const io::IsingRunSummary summary = generate(world, spec, path);
      const ReferenceChain reference = reference_chain(spec);
      EXPECT_EQ(summary.tau_abs_magnetisation,
                field::integrated_autocorrelation_time(reference.abs_magnetisation));
      {
        const io::DatasetReader reader(path);
        EXPECT_EQ(reader.spec().ising.update, update);
        for (int64_t s = 0; s < spec.samples; ++s) {
          EXPECT_EQ(reader.read(0, s, 1), widened(reference.samples[static_cast<size_t>(s)]))
              << update << " d = " << dim << " sample " << s;
        }
      }
      world.barrier();
      if (world.rank() == 0) std::remove(path.c_str());
    }
  }
}

TEST(IsingGeneration, BlockSumLevelsAreFloatsOfTheSpins3D) {
  const Comm world(MPI_COMM_WORLD);
  const io::DatasetSpec spec = ising_spec(3, 8, 1, "block_sum");
  const std::string path = temporary_path(world, "block_sum");
  generate(world, spec, path);
  const ReferenceChain reference = reference_chain(spec);
  {
    const io::DatasetReader reader(path);
    EXPECT_TRUE(reader.spec().level_holds_spins(0));
    EXPECT_FALSE(reader.spec().level_holds_spins(1));
    const Box whole1 = full_box(3, 4);
    std::vector<float> stored(static_cast<size_t>(whole1.size()));
    for (int64_t s = 0; s < spec.samples; ++s) {
      EXPECT_EQ(reader.read(0, s, 1), widened(reference.samples[static_cast<size_t>(s)]));
      const std::vector<float> spins(reference.samples[static_cast<size_t>(s)].begin(),
                                     reference.samples[static_cast<size_t>(s)].end());
      std::vector<float> expected(stored.size());
      coarse::block_sum_map(spins.data(), 3, {8, 8, 8}, 2,
                            coarse::block_map_scale(2, spec.scaling_dimension), expected.data());
      reader.read_stored_box(1, s, 1, whole1, stored.data());
      EXPECT_EQ(stored, expected) << "sample " << s;
    }
    // A level's stored type is the only one read_stored_box takes.
    std::vector<int8_t> spins(static_cast<size_t>(whole1.size()));
    EXPECT_THROW(reader.read_stored_box(1, 0, 1, whole1, spins.data()), std::logic_error);
    EXPECT_THROW(reader.read_stored_box(0, 0, 1, full_box(3, 8), stored.data()), std::logic_error);
  }
  world.barrier();
  if (world.rank() == 0) std::remove(path.c_str());
}

TEST(IsingGeneration, AnExtensionContinuesTheChainBitForBit) {
  const Comm world(MPI_COMM_WORLD);
  io::DatasetSpec spec = ising_spec(2, 8, 1, "decimation");
  const std::string at_once = temporary_path(world, "at_once"),
                    part = temporary_path(world, "part"), grown = temporary_path(world, "grown");
  generate(world, spec, at_once);
  io::DatasetSpec first = spec;
  first.samples = 2;
  generate(world, first, part);
  {
    const io::DatasetReader source(part);
    generate(world, spec, grown, &source, 2);
  }
  {
    const io::DatasetReader expected(at_once), actual(grown);
    for (int k = 0; k <= 1; ++k) {
      EXPECT_EQ(actual.read(k, 0, spec.samples), expected.read(k, 0, spec.samples));
    }
    EXPECT_EQ(actual.read_checksums(0, spec.samples), expected.read_checksums(0, spec.samples));
  }
  world.barrier();
  if (world.rank() == 0) {
    for (const auto& path : {at_once, part, grown}) std::remove(path.c_str());
  }
}

}  // namespace
}  // namespace rgflow::lattice

namespace rgflow::io {
namespace {

// generate's report and option checks (io/generation_report.hpp): pure functions, checked here
// against hand-made cases.
TEST(GenerationReport, TauWarningOnlyWhenSamplesAreCloserThanTwoTauInt) {
  IsingRunSummary summary;
  summary.tau_abs_magnetisation = 4.5;
  summary.tau_energy = 6;
  IsingChainSpec chain{0.44, 100, 12, "swendsen_wang"};
  EXPECT_EQ(ising_tau_warning(summary, chain), "");  // 12 = 2 tau_int of the energy
  chain.sweeps_between = 11;
  const std::string warning = ising_tau_warning(summary, chain);
  EXPECT_NE(warning.find("-sweeps_between 11 < 2 tau_int = 12 sweeps (of the energy)"),
            std::string::npos)
      << warning;
  summary.tau_abs_magnetisation = summary.tau_energy = NAN;  // one sample: nothing measured
  EXPECT_EQ(ising_tau_warning(summary, chain), "");
}

TEST(GenerationReport, FieldOptionsProblemNamesTheFirstOptionAtFault) {
  DatasetSpec spec;
  spec.geometry = {2, 16, 2, 1};
  spec.field = "ising";
  spec.ising.beta = 0.3;
  const auto given = [](std::vector<std::string> names) {
    return [names](const char* name) {
      return std::find(names.begin(), names.end(), name) != names.end();
    };
  };
  EXPECT_TRUE(field_options_problem(spec, given({"beta", "update"})).ok());
  EXPECT_EQ(field_options_problem(spec, given({})).parameter, "beta");
  EXPECT_EQ(field_options_problem(spec, given({"beta", "distribution"})).parameter, "distribution");
  spec.geometry.side = 18;
  spec.geometry.block_side = 3;
  EXPECT_TRUE(field_options_problem(spec, given({"beta"})).ok());
  spec.geometry.side = 9;
  EXPECT_EQ(field_options_problem(spec, given({"beta"})).parameter, "L");
  spec.field = "iid";
  EXPECT_EQ(field_options_problem(spec, given({"update"})).reason, "applies only to -field ising");
  EXPECT_TRUE(field_options_problem(spec, given({})).ok());
}

}  // namespace
}  // namespace rgflow::io
