// The data passes of rgflow analyze (analysis/data_pass.hpp) without MPI or files: pieces read
// from memory, ranks simulated by running every rank's share and summing the buffers as
// Comm::sum does. Checked: slabs of blocks are runs of the whole field's blocks; a sample of one
// tile gives exactly the whole-sample reduction of GroupedMoments::fill_owned and of
// sample_squared_error / add_learned_levels; the results are bit-identical for any rank count
// and any number of rows read at once; the budget's smallest piece.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>

#include "nn_test_util.hpp"
#include "rgflow/analysis/data_pass.hpp"
#include "rgflow/coarse/block_pairs.hpp"

namespace rgflow::analysis {
namespace {

// Samples x levels of random fields of `g`, as float or double.
template <typename Value>
struct MemoryDataset {
  lattice::Geometry g;
  int64_t samples = 0;
  std::vector<std::vector<std::vector<Value>>> fields;  // [sample][level]

  MemoryDataset(const lattice::Geometry& geometry, int64_t count, uint64_t seed)
      : g(geometry), samples(count) {
    std::mt19937_64 random(seed);
    std::uniform_real_distribution<double> uniform(-1.7, 1.7);
    fields.resize(static_cast<size_t>(count));
    for (auto& sample : fields) {
      for (int level = 0; level <= g.levels; ++level) {
        std::vector<Value> values(static_cast<size_t>(g.level_sites(level)));
        for (auto& v : values) v = static_cast<Value>(uniform(random));
        sample.push_back(std::move(values));
      }
    }
  }
  SlabReader<Value> reader() const {
    return [this](int level, int64_t sample, RowRange rows, std::vector<Value>& out) {
      const int64_t row = block_row_sites(g, level);
      const auto& field = fields[static_cast<size_t>(sample)][static_cast<size_t>(level)];
      out.assign(field.begin() + rows.begin * row, field.begin() + rows.end * row);
    };
  }
};

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

TEST(DataPass, SlabBlocksAreRunsOfTheWholeFieldsBlocks) {
  for (int dim = 1; dim <= 3; ++dim) {
    const int64_t side = dim == 3 ? 8 : 16, b = 2;
    int64_t sites = 1, row = 1;
    for (int axis = 0; axis < dim; ++axis) sites *= side;
    for (int axis = 1; axis < dim; ++axis) row *= side;
    std::vector<double> field(static_cast<size_t>(sites));
    for (size_t i = 0; i < field.size(); ++i) field[i] = double(i);
    const int64_t block_sites = dim == 1 ? 2 : dim == 2 ? 4 : 8;
    std::vector<double> whole(static_cast<size_t>(sites));
    coarse::extract_blocks(dim, side, b, field.data(), whole.data());
    // Rows [4, 8) of the field: blocks from 2 * (row / b^(d-1)) on.
    const int64_t first_row = 4, rows = 4;
    std::vector<double> slab(static_cast<size_t>(rows * row));
    coarse::extract_slab_blocks(dim, rows, side, b, field.data() + first_row * row, slab.data());
    const int64_t blocks_per_block_row = row / (block_sites / b);
    const size_t offset = static_cast<size_t>(first_row / b * blocks_per_block_row * block_sites);
    for (size_t i = 0; i < slab.size(); ++i) {
      ASSERT_EQ(slab[i], whole[offset + i]) << "d = " << dim << ", value " << i;
    }
  }
}

TEST(DataPass, CanonicalTilesAndTheBudget) {
  lattice::Geometry g{2, 1024, 2, 3};  // top-level block rows of 8 x 1024 sites
  EXPECT_EQ(block_row_sites(g, 0), 8 * 1024);
  EXPECT_EQ(block_row_sites(g, 3), 128);
  EXPECT_EQ(canonical_rows(g), 32);  // 2^18 / 2^13
  const auto tiles = canonical_tiles(g, {0, 128});
  ASSERT_EQ(tiles.size(), 4u);
  EXPECT_EQ(tiles[3].begin, 96);
  EXPECT_EQ(tiles[3].end, 128);
  // Space groups: a tile never crosses a group (3 groups of 43, 43, 42 rows).
  const auto space = sample_tiles(g, JackknifeGroups::kSpace, 3);
  ASSERT_EQ(space.size(), 6u);
  EXPECT_EQ(space[1].begin, 32);
  EXPECT_EQ(space[1].end, 43);
  EXPECT_EQ(space[2].begin, 43);
  // The budget: one tile at every level (4 bytes each) and the models' work space, exactly.
  const int64_t row_values = 8 * 1024 + 4 * 512 + 2 * 256 + 128;
  const int64_t one_tile = 32 * row_values * 4 + kModelBytesPerSite * 32 * 8 * 1024;
  EXPECT_EQ(pass_bytes(g, 32, 4, true), one_tile);
  EXPECT_EQ(rows_per_read(g, 4, true, one_tile - 1), 0);
  EXPECT_EQ(rows_per_read(g, 4, true, one_tile), 32);
  EXPECT_EQ(rows_per_read(g, 4, false, int64_t{1} << 30), 128);
  // A block row beyond kCanonicalTileSites is a tile alone.
  EXPECT_EQ(canonical_rows(lattice::Geometry{3, 256, 2, 3}), 1);
}

// Runs the data pass of `data` on `ranks` simulated ranks reading `read_rows` rows at once, in
// chunks of `chunk_sites` sites, and returns every buffer (data moments, flow tables, tile sums,
// then with `spins` the spin sums of the data and of each flow) concatenated, summed over ranks.
template <typename Value>
std::vector<double> run_pass(const MemoryDataset<Value>& data, JackknifeGroups kind, int64_t groups,
                             std::vector<nn::Network<double>>& networks, int ranks,
                             int64_t read_rows, bool spins = false,
                             int64_t chunk_sites = kChunkSites) {
  const auto& g = data.g;
  const PassChunks chunks(g, data.samples, kind, groups, chunk_sites);
  auto table = [&](int levels) { return chunks.table(levels, 6); };
  std::vector<GeneralisationModel> planned;
  for (size_t m = 0; m < networks.size(); ++m) {
    planned.push_back({"m" + std::to_string(m), static_cast<int>(m % 2), true, 1});
  }
  const auto plan = plan_generalisation(planned, {"data", g.levels, data.samples}, {});
  const int64_t pieces = chunks.spin_pieces();
  auto spin_table = [&](int first_level) {
    std::vector<int64_t> sites;
    for (int level = first_level; level <= g.levels; ++level) sites.push_back(g.level_sites(level));
    return std::make_unique<SpinSumTable>(sites, data.samples, pieces);
  };
  std::vector<double> total;
  for (int rank = 0; rank < ranks; ++rank) {
    GroupedMoments moments = table(g.levels + 1);
    std::vector<std::unique_ptr<SpinSumTable>> spin_tables;
    if (spins) spin_tables.push_back(spin_table(0));
    std::vector<std::unique_ptr<FieldModel<double>>> fields;
    std::vector<std::unique_ptr<GroupedMoments>> flows;
    std::vector<PassModel> models;
    for (size_t m = 0; m < networks.size(); ++m) {
      fields.push_back(std::make_unique<FieldModel<double>>(networks[m]));
      const int k = static_cast<int>(m % 2);
      flows.push_back(std::make_unique<GroupedMoments>(table(g.levels - k + 1)));
      models.push_back({k, nullptr, fields.back().get(), flows.back().get()});
      if (spins) {
        spin_tables.push_back(spin_table(k));
        models.back().spins = spin_tables.back().get();
      }
    }
    TileSums sums(plan, {static_cast<int64_t>(sample_tiles(g, kind, groups).size())});
    data_pass<Value>(chunks, moments, models, plan, sums, read_rows, rank, ranks, data.reader(),
                     spins ? spin_tables.front().get() : nullptr);
    std::vector<double> all = moments.buffer();
    for (auto& flow : flows) all.insert(all.end(), flow->buffer().begin(), flow->buffer().end());
    all.insert(all.end(), sums.buffer().begin(), sums.buffer().end());
    for (auto& t : spin_tables) all.insert(all.end(), t->buffer().begin(), t->buffer().end());
    if (total.empty()) total.assign(all.size(), 0.0);
    for (size_t i = 0; i < all.size(); ++i) total[i] += all[i];
  }
  return total;
}

std::vector<nn::Network<double>> two_networks() {
  std::vector<nn::Network<double>> networks;
  networks.push_back(
      nn::testing::random_network(nn::ModelKind::kMlp, {5}, nn::Activation::kTanh, 1, 0.5, 2));
  networks.push_back(
      nn::testing::random_network(nn::ModelKind::kGnn, {3}, nn::Activation::kTanh, 3, 0.5, 4));
  return networks;
}

// Several tiles per sample (d = 2, L = 1024: 4 tiles of 32 block rows): the same bits on 1-4
// ranks and reading one tile, two or all four at once, for both kinds of jackknife groups.
TEST(DataPass, BitIdenticalForAnyRankCountAndRowsReadAtOnce) {
  const MemoryDataset<float> data(lattice::Geometry{2, 1024, 2, 3}, 3, 11);
  auto networks = two_networks();
  for (const auto& [kind, groups] :
       {std::pair{JackknifeGroups::kSamples, int64_t{3}}, {JackknifeGroups::kSpace, int64_t{4}}}) {
    const auto reference = run_pass(data, kind, groups, networks, 1, 32, true);
    // The spin sums leave every other table's bits as they were.
    const auto without_spins = run_pass(data, kind, groups, networks, 1, 32);
    EXPECT_TRUE(same_bits(
        without_spins,
        std::vector<double>(reference.begin(),
                            reference.begin() + static_cast<long>(without_spins.size()))));
    for (int ranks = 1; ranks <= 4; ++ranks) {
      for (const int64_t rows : {int64_t{32}, ranks % 3 == 1 ? int64_t{64} : 0, int64_t{128}}) {
        if (rows == 0) continue;  // 64 rows (two tiles a read) on 1 and 4 ranks
        EXPECT_TRUE(same_bits(run_pass(data, kind, groups, networks, ranks, rows, true), reference))
            << jackknife_groups_name(kind) << ", " << ranks << " ranks, " << rows << " rows";
      }
    }
  }
}

// Chunks: every (sample, tile) of a group in exactly one chunk, in sample then tile order, at
// least chunk_sites sites each but the last of a run; one chunk per slot when the slots are
// small (today's layout), several when they are not; every rank works when there are at least
// as many chunks as ranks, even with more ranks than jackknife slots.
TEST(DataPass, ChunksCoverEverySlotInOrderAndShareItOverRanks) {
  const lattice::Geometry g{2, 1024, 2, 3};  // 4 tiles of 2^18 sites per sample
  const int64_t tile = kCanonicalTileSites;
  struct Case {
    JackknifeGroups kind;
    int64_t samples, groups, chunk_sites, chunks, spin_pieces;
  };
  for (const Case& c : {
           Case{JackknifeGroups::kSamples, 6, 3, kChunkSites, 3, 1},  // 2 samples (2^21) a group
           Case{JackknifeGroups::kSamples, 6, 3, 2 * tile, 12, 2},    // 2 chunks a sample
           Case{JackknifeGroups::kSamples, 6, 3, 3 * tile, 12, 2},    // 3 tiles, then 1
           Case{JackknifeGroups::kSpace, 2, 2, kChunkSites, 4, 2},    // a (sample, group) each
           Case{JackknifeGroups::kSpace, 2, 2, tile, 8, 4},           // 2 tiles a group
           Case{JackknifeGroups::kSpace, 2, 3, tile, 12, 6},          // groups of 43/43/42 rows
       }) {
    const PassChunks chunks(g, c.samples, c.kind, c.groups, c.chunk_sites);
    const std::string what = jackknife_groups_name(c.kind) + " x" + std::to_string(c.groups) +
                             ", chunks of " + std::to_string(c.chunk_sites);
    ASSERT_EQ(static_cast<int64_t>(chunks.chunks().size()), c.chunks) << what;
    EXPECT_EQ(chunks.spin_pieces(), c.spin_pieces) << what;
    // Walk the chunks: within a group consecutive pieces, (sample, tile) in order.
    std::vector<std::vector<int64_t>> seen(static_cast<size_t>(c.samples),
                                           std::vector<int64_t>(chunks.tiles().size(), 0));
    int64_t sites = 0;
    for (size_t i = 0; i < chunks.chunks().size(); ++i) {
      const PassChunk& chunk = chunks.chunks()[i];
      const bool first_of_group = i == 0 || chunks.chunks()[i - 1].group != chunk.group;
      EXPECT_EQ(chunk.piece, first_of_group ? 0 : chunks.chunks()[i - 1].piece + 1) << what;
      int64_t chunk_sites = 0;
      for (int64_t n = chunk.first_sample; n < chunk.end_sample; ++n) {
        for (size_t t = chunk.first_tile; t < chunk.end_tile; ++t) {
          ++seen[static_cast<size_t>(n)][t];
          chunk_sites += chunks.tiles()[t].rows() * block_row_sites(g, 0);
        }
      }
      EXPECT_EQ(chunk.sites, chunk_sites) << what;
      // Only the last chunk of a group, or of a sample cut alone, may be short.
      const bool last = i + 1 == chunks.chunks().size() ||
                        chunks.chunks()[i + 1].group != chunk.group ||
                        (chunk.end_sample == chunk.first_sample + 1 &&
                         chunks.chunks()[i + 1].first_sample != chunk.first_sample);
      if (!last) {
        EXPECT_GE(chunk.sites, c.chunk_sites) << what;
      }
      sites += chunk.sites;
    }
    EXPECT_EQ(sites, c.samples * g.level_sites(0)) << what;
    // Each (sample, tile) once over all groups (space groups: each group its own tiles).
    for (const auto& sample : seen) {
      for (const int64_t count : sample) EXPECT_EQ(count, 1) << what;
    }
    // Sharing: 5 ranks, more than the jackknife slots of the split cases; each chunk owned once.
    for (int ranks = 1; ranks <= 5; ++ranks) {
      const auto owners = chunks.owners(ranks);
      ASSERT_EQ(owners.size(), chunks.chunks().size());
      std::vector<int64_t> per_rank(static_cast<size_t>(ranks), 0), load = per_rank;
      int64_t largest = 0;
      for (size_t i = 0; i < owners.size(); ++i) {
        ++per_rank[static_cast<size_t>(owners[i])];
        load[static_cast<size_t>(owners[i])] += chunks.chunks()[i].sites;
        largest = std::max(largest, chunks.chunks()[i].sites);
      }
      for (int r = 0; r < ranks; ++r) {
        if (c.chunks >= ranks) {
          EXPECT_GE(per_rank[static_cast<size_t>(r)], 1) << what << " r" << r;
        }
        // Each chunk to the least loaded rank: no rank above the mean by more than one chunk.
        EXPECT_LE(load[static_cast<size_t>(r)], sites / ranks + largest) << what << " r" << r;
      }
    }
  }
  // The quickstart's data (d = 2, L = 256, 256 samples, 16 groups): one chunk per group.
  EXPECT_EQ(PassChunks(lattice::Geometry{2, 256, 2, 6}, 256, JackknifeGroups::kSamples, 16)
                .chunks()
                .size(),
            16u);
}

// Slots cut into several chunks (sample groups: 2 + 1 samples of 4 tiles, chunks of 1 or 3
// tiles; space groups: 2 groups of 2 tiles per sample, chunks of one tile; small samples: runs
// of 2 samples): the same bits on 1-5 ranks and reading one tile to every tile at once; and the
// cumulants of the merged chunks equal the one-chunk ones up to rounding.
TEST(DataPass, ChunkedSlotsAreBitIdenticalForAnyRankCountAndBudget) {
  const MemoryDataset<float> data(lattice::Geometry{2, 1024, 2, 3}, 3, 13);
  auto networks = two_networks();
  networks.pop_back();  // the MLP on level 0 (the GNN adds time, not cases)
  const int64_t tile = kCanonicalTileSites;
  for (const auto& [kind, groups, chunk_sites] :
       {std::tuple{JackknifeGroups::kSamples, int64_t{2}, tile},
        std::tuple{JackknifeGroups::kSamples, int64_t{2}, 3 * tile},
        std::tuple{JackknifeGroups::kSpace, int64_t{2}, tile}}) {
    const std::string what = jackknife_groups_name(kind) + ", chunks of " +
                             std::to_string(chunk_sites / tile) + " tile(s)";
    const auto reference = run_pass(data, kind, groups, networks, 1, 128, true, chunk_sites);
    for (int ranks = 1; ranks <= 5; ++ranks) {
      for (const int64_t rows : {int64_t{32}, ranks == 3 ? int64_t{64} : 0, int64_t{128}}) {
        if (rows == 0) continue;  // two tiles a read on 3 ranks only
        EXPECT_TRUE(same_bits(
            run_pass(data, kind, groups, networks, ranks, rows, true, chunk_sites), reference))
            << what << ", " << ranks << " ranks, " << rows << " rows";
      }
    }
    // The data's cumulants from the chunks against one chunk per slot: other add() splits.
    const PassChunks chunked(data.g, data.samples, kind, groups, chunk_sites),
        whole(data.g, data.samples, kind, groups);
    ASSERT_GT(chunked.chunks().size(), whole.chunks().size());
    GroupedMoments a = chunked.table(data.g.levels + 1, 6), b = whole.table(data.g.levels + 1, 6);
    std::copy(reference.begin(), reference.begin() + static_cast<long>(a.buffer().size()),
              a.buffer().begin());
    const auto one_chunk = run_pass(data, kind, groups, networks, 1, 128, false);
    std::copy(one_chunk.begin(), one_chunk.begin() + static_cast<long>(b.buffer().size()),
              b.buffer().begin());
    const auto ma = a.by_level(), mb = b.by_level();
    for (size_t level = 0; level < ma.size(); ++level) {
      for (size_t group = 0; group < ma[level].size(); ++group) {
        EXPECT_EQ(ma[level][group].count(), mb[level][group].count());
        const auto ka = ma[level][group].cumulants(), kb = mb[level][group].cumulants();
        for (size_t n = 0; n < ka.size(); ++n) {
          EXPECT_NEAR(ka[n], kb[n], 1e-12 * (1 + std::fabs(kb[n])))
              << what << " level " << level << " group " << group << " order " << n + 1;
        }
      }
    }
  }
  // Samples smaller than a chunk: runs of 2 whole samples (6 samples, 2 groups of 3: chunks of
  // 2 + 1 samples), the same bits on 1-5 ranks.
  const MemoryDataset<double> small(lattice::Geometry{2, 64, 2, 3}, 6, 17);
  ASSERT_EQ(PassChunks(small.g, 6, JackknifeGroups::kSamples, 2, 2 * 4096).chunks().size(), 4u);
  const auto reference =
      run_pass(small, JackknifeGroups::kSamples, 2, networks, 1, 8, true, 2 * 4096);
  for (int ranks = 2; ranks <= 5; ++ranks) {
    EXPECT_TRUE(
        same_bits(run_pass(small, JackknifeGroups::kSamples, 2, networks, ranks, 8, true, 2 * 4096),
                  reference))
        << ranks << " ranks";
  }
}

// One tile per sample: exactly the whole-sample reductions (GroupedMoments::fill_owned over
// whole fields, sample_squared_error, add_learned_levels) that analyze made before the passes.
TEST(DataPass, OneTileSamplesGiveTheWholeSampleBits) {
  const lattice::Geometry g{2, 64, 2, 3};
  const MemoryDataset<double> data(g, 4, 5);
  auto networks = two_networks();
  for (const auto& [kind, groups] :
       {std::pair{JackknifeGroups::kSamples, int64_t{2}}, {JackknifeGroups::kSpace, int64_t{4}}}) {
    auto table = [&](int levels) {
      return kind == JackknifeGroups::kSamples
                 ? GroupedMoments(levels, groups, 6)
                 : GroupedMoments(levels, groups, 6, g.level_side(g.levels), data.samples);
    };
    const auto pass = run_pass(data, kind, groups, networks, 2, 1);
    std::vector<double> expected;
    GroupedMoments moments = table(g.levels + 1);
    moments.fill_owned(data.samples, 0, 1, [&](int64_t sample, LevelSink& sink) {
      for (int level = 0; level <= g.levels; ++level) {
        const auto& f = data.fields[static_cast<size_t>(sample)][static_cast<size_t>(level)];
        sink.add(level, g.level_side(level), f.data(), f.size());
      }
    });
    expected = moments.buffer();
    for (size_t m = 0; m < networks.size(); ++m) {
      const int k = static_cast<int>(m % 2);
      FieldModel<double> field_model(networks[m]);
      GroupedMoments flow = table(g.levels - k + 1);
      flow.fill_owned(data.samples, 0, 1, [&](int64_t sample, LevelSink& sink) {
        add_learned_levels(field_model, g.dim, g.level_side(k), g.block_side,
                           data.fields[static_cast<size_t>(sample)][static_cast<size_t>(k)],
                           g.levels - k + 1, sink);
      });
      expected.insert(expected.end(), flow.buffer().begin(), flow.buffer().end());
    }
    // Tile sums: per model, the data, x2 and x0.5 columns over the held-out samples 1..3.
    for (size_t m = 0; m < networks.size(); ++m) {
      const int k = static_cast<int>(m % 2);
      FieldModel<double> field_model(networks[m]);
      const size_t tiles = sample_tiles(g, kind, groups).size();
      for (const double scale : {1.0, 2.0, 0.5}) {
        for (int64_t sample = 1; sample < data.samples; ++sample) {
          const auto& fine = data.fields[static_cast<size_t>(sample)][static_cast<size_t>(k)];
          const auto& coarse = data.fields[static_cast<size_t>(sample)][static_cast<size_t>(k + 1)];
          if (tiles == 1) {
            expected.push_back(sample_squared_error(field_model, g.dim, g.level_side(k),
                                                    fine.data(), coarse.data(), scale));
          } else {
            // Space groups cut the sample into one tile per group: slabs of whole block rows.
            for (const auto& tile : sample_tiles(g, kind, groups)) {
              const int64_t rows = tile.rows() * (g.top_block_side() >> k);
              const int64_t fine_row = block_row_sites(g, k),
                            coarse_row = block_row_sites(g, k + 1);
              expected.push_back(slab_squared_error(
                  field_model, g.dim, rows, g.level_side(k), fine.data() + tile.begin * fine_row,
                  coarse.data() + tile.begin * coarse_row, scale));
            }
          }
        }
      }
    }
    EXPECT_TRUE(same_bits(pass, expected)) << jackknife_groups_name(kind);
  }
}

// Spin sums of the pass against each whole sample's (tile_spin_sums on the whole lattice, and
// the learned levels made by FieldModel::coarse_grain on whole samples): exact for the data's
// spins, equal up to rounding for the learned real values. L = 64: space groups cut each sample
// into 4 tiles (bonds across tiles and pieces on different ranks); sample groups read it whole
// (the next row wraps to row 0). L = 1024 in chunks of one tile: every sample in 4 pieces
// (4 tiles, or 4 space groups of one tile), owned by 2 ranks.
class DataPassSpins : public ::testing::TestWithParam<std::pair<int64_t, int64_t>> {};

TEST_P(DataPassSpins, SpinSumsOfTilesAreTheWholeSamplesSums) {
  const int64_t lattice_side = GetParam().first, chunk_sites = GetParam().second;
  const lattice::Geometry g{2, lattice_side, 2, 3};
  MemoryDataset<double> data(g, 3, 8);
  for (auto& sample : data.fields) {
    for (auto& level : sample) {
      for (auto& v : level) v = v < 0 ? -1.0 : 1.0;
    }
  }
  auto networks = two_networks();
  auto sites_from = [&](int first_level) {
    std::vector<int64_t> sites;
    for (int level = first_level; level <= g.levels; ++level) sites.push_back(g.level_sites(level));
    return sites;
  };
  auto whole = [&](const double* values, int64_t side) {
    return tile_spin_sums(g.dim, side, side, values, values);
  };
  SpinSumTable expected_data(sites_from(0), data.samples, 1);
  std::vector<SpinSumTable> expected_flows;
  for (size_t m = 0; m < networks.size(); ++m) {
    const int k = static_cast<int>(m % 2);
    FieldModel<double> model(networks[m]);
    expected_flows.emplace_back(sites_from(k), data.samples, 1);
    for (int64_t n = 0; n < data.samples; ++n) {
      std::vector<double> level = data.fields[static_cast<size_t>(n)][static_cast<size_t>(k)];
      for (int j = 0; k + j <= g.levels; ++j) {
        const int64_t side = g.level_side(k + j);
        expected_flows.back().add(j, n, 0, whole(level.data(), side));
        std::vector<double> next;
        if (k + j < g.levels) model.coarse_grain(g.dim, side, level.data(), next);
        level = next;
      }
    }
  }
  for (int64_t n = 0; n < data.samples; ++n) {
    for (int level = 0; level <= g.levels; ++level) {
      expected_data.add(
          level, n, 0,
          whole(data.fields[static_cast<size_t>(n)][static_cast<size_t>(level)].data(),
                g.level_side(level)));
    }
  }
  for (const auto& [kind, groups] :
       {std::pair{JackknifeGroups::kSamples, int64_t{3}}, {JackknifeGroups::kSpace, int64_t{4}}}) {
    const int64_t pieces = PassChunks(g, data.samples, kind, groups, chunk_sites).spin_pieces();
    // Space groups: one tile per group at either side; sample groups: 4 tiles at L = 1024.
    EXPECT_EQ(pieces, kind == JackknifeGroups::kSpace ? groups : lattice_side == 64 ? 1 : 4);
    const auto pass = run_pass(data, kind, groups, networks, 2, 1, true, chunk_sites);
    const auto without = run_pass(data, kind, groups, networks, 2, 1, false, chunk_sites);
    // The spin tables follow the other buffers: data, then each model's flow.
    size_t offset = without.size();
    auto next_table = [&](int first_level) {
      SpinSumTable table(sites_from(first_level), data.samples, pieces);
      std::copy(pass.begin() + static_cast<long>(offset),
                pass.begin() + static_cast<long>(offset + table.buffer().size()),
                table.buffer().begin());
      offset += table.buffer().size();
      return table;
    };
    const auto data_flow = next_table(0).flow(3, {});
    const auto expected = expected_data.flow(3, {});
    for (size_t level = 0; level < data_flow.estimates.size(); ++level) {
      for (int o = 0; o < kSpinObservables; ++o) {
        EXPECT_EQ(data_flow.estimates[level][static_cast<size_t>(o)].value,
                  expected.estimates[level][static_cast<size_t>(o)].value)
            << jackknife_groups_name(kind) << " level " << level << " observable " << o;
      }
    }
    // Other summation orders of real values; the susceptibility N (<m^2> - <|m|>^2) multiplies
    // their rounding by the sites N of the level (2^18 at level 1 of L = 1024).
    const double tolerance = lattice_side == 64 ? 1e-12 : 1e-9;
    for (size_t m = 0; m < networks.size(); ++m) {
      const auto learned = next_table(static_cast<int>(m % 2)).flow(3, {});
      const auto truth = expected_flows[m].flow(3, {});
      ASSERT_EQ(learned.estimates.size(), truth.estimates.size());
      for (size_t level = 0; level < learned.estimates.size(); ++level) {
        for (int o = 0; o < kSpinObservables; ++o) {
          const double want = truth.estimates[level][static_cast<size_t>(o)].value;
          EXPECT_NEAR(learned.estimates[level][static_cast<size_t>(o)].value, want,
                      tolerance * (1 + std::fabs(want)))
              << jackknife_groups_name(kind) << " model " << m << " level " << level;
        }
      }
    }
    EXPECT_EQ(offset, pass.size());
  }
}

INSTANTIATE_TEST_SUITE_P(DataPass, DataPassSpins,
                         ::testing::Values(std::pair{int64_t{64}, kChunkSites},
                                           std::pair{int64_t{1024}, kCanonicalTileSites}));

TEST(DataPass, TileSumsAddTilesInOrderPerSample) {
  GeneralisationPlan plan;
  plan.tests = {"data", "other"};
  GeneralisationCell data_cell, test_cell;
  data_cell.first_sample = 2;
  data_cell.count = 2;
  test_cell.source = 1;
  test_cell.count = 1;
  plan.cells = {{data_cell, test_cell}};
  TileSums sums(plan, {3, 2});
  EXPECT_EQ(sums.buffer().size(), 2u * 3u + 1u * 2u);
  sums.at(0, 0, 2, 0) = 1e16;
  sums.at(0, 0, 2, 1) = 1.0;
  sums.at(0, 0, 2, 2) = 1.0;
  sums.at(0, 0, 3, 2) = 4.0;
  sums.at(0, 1, 0, 1) = 5.0;
  // (1e16 + 1) + 1 rounds each time: tile order, not a pairwise or Kahan sum.
  EXPECT_EQ(sums.sample_sums(0, 0), (std::vector<double>{1e16, 4.0}));
  EXPECT_EQ(sums.sample_sums(0, 1), (std::vector<double>{5.0}));
}

}  // namespace
}  // namespace rgflow::analysis
