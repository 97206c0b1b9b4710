// Parallel write -> serial read round trip: every rank writes its own box of every sample with
// the collective writer; the file read back equals the field generated whole on one process.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "rgflow/coarse/block_map.hpp"
#include "rgflow/field/generator.hpp"
#include "rgflow/io/atomic_file.hpp"
#include "rgflow/io/checksum.hpp"
#include "rgflow/io/dataset.hpp"
#include "rgflow/lattice/dmda.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::io {
namespace {

std::string temporary_path(const Comm& world, const std::string& stem) {
  std::string path;
  if (world.rank() == 0) path = "/tmp/rgflow_mpi_" + stem + "_" + std::to_string(getpid()) + ".h5";
  return world.broadcast(path);
}

TEST(DatasetIo, ParallelWriteReadsBackAsTheWholeField) {
  const Comm world(MPI_COMM_WORLD);
  DatasetSpec spec;
  spec.geometry = {2, 24, 2, 1};
  spec.samples = 3;
  spec.seed = 42;
  spec.distribution.kind = field::DistributionKind::kLaplace;
  spec.dtype = "float64";
  const std::string path = temporary_path(world, "roundtrip");
  const auto grid =
      lattice::choose_process_grid(2, spec.geometry.top_blocks_per_axis(), world.size());
  ASSERT_TRUE(grid.has_value());
  const lattice::BlockDecomposition decomposition(world, spec.geometry, *grid);
  const lattice::Box box0 = decomposition.owned();
  const lattice::Box box1 = box0.coarsened(2);
  {
    DatasetWriter writer = DatasetWriter::create(world, path, spec, true);
    std::vector<double> level0(static_cast<size_t>(spec.samples * box0.size()));
    std::vector<double> level1(static_cast<size_t>(spec.samples * box1.size()));
    for (int64_t s = 0; s < spec.samples; ++s) {
      field::fill_box(spec.distribution, spec.seed, static_cast<uint32_t>(s), 24, box0,
                      level0.data() + s * box0.size());
      coarse::block_sum_map(level0.data() + s * box0.size(), 2, box0.extent, 2, 0.5,
                            level1.data() + s * box1.size());
    }
    writer.write(0, 0, spec.samples, box0, level0.data());
    writer.write(1, 0, spec.samples, box1, level1.data());
    // Each rank's boxes give partial checksums; their sum is the whole sample's (checked below).
    std::vector<uint64_t> checksums;
    for (int level = 0; level <= 1; ++level) {
      const lattice::Box& box = level == 0 ? box0 : box1;
      const std::vector<double>& values = level == 0 ? level0 : level1;
      for (int64_t s = 0; s < spec.samples; ++s) {
        checksums.push_back(io::box_checksum(values.data() + s * box.size(), box,
                                             spec.geometry.level_side(level),
                                             io::checksum_key(level, s)));
      }
    }
    world.sum(checksums);
    writer.mark_complete(world, 0, world.rank() == 0 ? spec.samples : 0, checksums);
    EXPECT_EQ(writer.completed_samples(), std::vector<uint8_t>(3, 1));
    writer.finish();
  }
  world.barrier();
  const DatasetReader reader(path);
  EXPECT_TRUE(reader.complete());
  EXPECT_EQ(reader.spec().difference(spec), "");
  ASSERT_TRUE(reader.has_checksums());
  const std::vector<uint64_t> stored_checksums = reader.read_checksums(0, spec.samples);
  for (int level = 0; level <= 1; ++level) {
    const lattice::Box whole = lattice::full_box(2, spec.geometry.level_side(level));
    const auto values = reader.read(level, 0, spec.samples);
    for (int64_t s = 0; s < spec.samples; ++s) {
      EXPECT_EQ(stored_checksums[static_cast<size_t>(level * spec.samples + s)],
                io::box_checksum(values.data() + s * whole.size(), whole,
                                 spec.geometry.level_side(level), io::checksum_key(level, s)))
          << "level " << level << " sample " << s << " on " << world.size() << " ranks";
    }
  }
  const auto stored = reader.read(0, 0, spec.samples);
  const auto coarse = reader.read(1, 0, spec.samples);
  for (int64_t s = 0; s < spec.samples; ++s) {
    for (int64_t site = 0; site < 24 * 24; ++site) {
      ASSERT_EQ(stored[static_cast<size_t>(s * 576 + site)],
                field::site_value(spec.distribution, spec.seed, static_cast<uint32_t>(s),
                                  static_cast<uint64_t>(site)));
    }
    for (int64_t I = 0; I < 12; ++I)
      for (int64_t J = 0; J < 12; ++J) {
        double sum = 0;
        for (int p = 0; p < 2; ++p)
          for (int q = 0; q < 2; ++q)
            sum += stored[static_cast<size_t>(s * 576 + (2 * I + p) * 24 + 2 * J + q)];
        ASSERT_EQ(coarse[static_cast<size_t>(s * 144 + I * 12 + J)], 0.5 * sum);
      }
  }
  // Each rank's own box read back by hyperslab, sample by sample (as analyze reads its pieces):
  // the values of the whole-field read at the box's sites.
  std::vector<double> piece;
  for (int64_t s = 0; s < spec.samples; ++s) {
    reader.read_box(0, s, box0, piece);
    ASSERT_EQ(piece.size(), static_cast<size_t>(box0.size()));
    for (int64_t i = 0; i < box0.extent[0]; ++i) {
      for (int64_t j = 0; j < box0.extent[1]; ++j) {
        ASSERT_EQ(
            piece[static_cast<size_t>(i * box0.extent[1] + j)],
            stored[static_cast<size_t>(s * 576 + (box0.begin[0] + i) * 24 + box0.begin[1] + j)]);
      }
    }
  }
  // A box of one sample, read by hyperslab: each site is the generator's value of its global
  // site (level 0) or the whole read's value (level 1); each rank reads another box.
  lattice::Box box;
  box.dim = 2;
  box.begin = {5 + world.rank(), 7, 0};
  box.extent = {9, 4, 1};
  const auto part = reader.read_box(0, 2, box);
  ASSERT_EQ(part.size(), 36u);
  for (int64_t i = 0; i < 9; ++i) {
    for (int64_t j = 0; j < 4; ++j) {
      const uint64_t site = static_cast<uint64_t>((box.begin[0] + i) * 24 + 7 + j);
      ASSERT_EQ(part[static_cast<size_t>(i * 4 + j)],
                field::site_value(spec.distribution, spec.seed, 2, site));
    }
  }
  box.begin = {10, 0, 0};
  box.extent = {2, 12, 1};
  const auto coarse_part = reader.read_box(1, 1, box);
  const std::vector<double> expected(coarse.begin() + 144 + 120, coarse.begin() + 144 + 144);
  EXPECT_EQ(coarse_part, expected);
  box.extent = {0, 12, 1};
  EXPECT_TRUE(reader.read_box(1, 1, box).empty());
  box.extent = {3, 12, 1};  // rows 10..12 of a 12-row level
  EXPECT_THROW(reader.read_box(1, 1, box), UsageError);
  EXPECT_THROW(reader.read_box(0, 3, box), UsageError);  // no sample 3
  world.barrier();
  if (world.rank() == 0) std::remove(path.c_str());
}

TEST(DatasetIo, ReaderRejectsFilesThatAreNotDatasets) {
  const Comm world(MPI_COMM_WORLD);
  const std::string path = temporary_path(world, "garbage");
  if (world.rank() == 0) {
    FILE* file = std::fopen(path.c_str(), "w");
    std::fputs("not an HDF5 file\n", file);
    std::fclose(file);
  }
  world.barrier();
  EXPECT_THROW(DatasetReader reader(path), UsageError);
  EXPECT_THROW(DatasetReader reader(path + ".missing"), UsageError);
  world.barrier();
  if (world.rank() == 0) std::remove(path.c_str());
}

TEST(AtomicFile, RefusesExistingOutputWithoutForce) {
  const Comm world(MPI_COMM_WORLD);
  const std::string path = temporary_path(world, "exists");
  if (world.rank() == 0) std::fclose(std::fopen(path.c_str(), "w"));
  world.barrier();
  EXPECT_THROW(prepare_output(world, path, "-o", false, false), UsageError);
  EXPECT_EQ(prepare_output(world, path, "-o", false, true), OutputState::kComplete);
  EXPECT_EQ(prepare_output(world, path, "-o", true, false), OutputState::kFresh);
  EXPECT_THROW(prepare_output(world, "/nonexistent-folder/x.h5", "-o", false, false), UsageError);
  world.barrier();
  if (world.rank() == 0) std::remove(path.c_str());
}

}  // namespace
}  // namespace rgflow::io
