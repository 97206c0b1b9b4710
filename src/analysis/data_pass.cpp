#include "rgflow/analysis/data_pass.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <limits>
#include <queue>
#include <stdexcept>
#include <type_traits>

#include "rgflow/coarse/block_pairs.hpp"

namespace rgflow::analysis {

int64_t block_row_sites(const lattice::Geometry& geometry, int level) {
  int64_t sites = geometry.top_block_side();
  for (int k = 0; k < level; ++k) sites /= geometry.block_side;
  const int64_t side = geometry.level_side(level);
  for (int axis = 1; axis < geometry.dim; ++axis) sites *= side;
  return sites;
}

int64_t canonical_rows(const lattice::Geometry& geometry) {
  return std::max<int64_t>(1, kCanonicalTileSites / block_row_sites(geometry, 0));
}

std::vector<RowRange> canonical_tiles(const lattice::Geometry& geometry, RowRange range) {
  const int64_t step = canonical_rows(geometry);
  std::vector<RowRange> tiles;
  for (int64_t begin = range.begin; begin < range.end; begin += step) {
    tiles.push_back({begin, std::min(range.end, begin + step)});
  }
  return tiles;
}

std::vector<RowRange> sample_tiles(const lattice::Geometry& geometry, JackknifeGroups kind,
                                   int64_t groups) {
  const int64_t top_rows = geometry.top_blocks_per_axis();
  if (kind == JackknifeGroups::kSamples) return canonical_tiles(geometry, {0, top_rows});
  std::vector<RowRange> tiles;
  for (int64_t group = 0; group < groups; ++group) {
    const auto rows = group_rows(top_rows, groups, group);
    for (const auto& tile : canonical_tiles(geometry, {rows[0], rows[1]})) tiles.push_back(tile);
  }
  return tiles;
}

PassChunks::PassChunks(const lattice::Geometry& geometry, int64_t samples, JackknifeGroups kind,
                       int64_t groups, int64_t chunk_sites)
    : geometry_(geometry),
      samples_(samples),
      kind_(kind),
      groups_(groups),
      tiles_(sample_tiles(geometry, kind, groups)) {
  const bool space = kind == JackknifeGroups::kSpace;
  const int64_t row_sites = block_row_sites(geometry, 0);
  auto tile_sites = [&](size_t t) { return tiles_[t].rows() * row_sites; };
  // The tiles of each group (space groups; else one run of every tile) and their cuts: runs of
  // at least chunk_sites sites, or the whole run when it is smaller.
  std::vector<std::array<size_t, 2>> runs;
  if (space) {
    size_t t = 0;
    for (int64_t group = 0; group < groups; ++group) {
      const int64_t end = group_rows(geometry.top_blocks_per_axis(), groups, group)[1];
      const size_t first = t;
      while (t < tiles_.size() && tiles_[t].end <= end) ++t;
      runs.push_back({first, t});
    }
  } else {
    runs.push_back({0, tiles_.size()});
  }
  std::vector<std::vector<std::array<size_t, 2>>> cuts(runs.size());  // [run]: tile ranges
  std::vector<int64_t> run_sites(runs.size(), 0);
  for (size_t r = 0; r < runs.size(); ++r) {
    int64_t held = 0;
    size_t first = runs[r][0];
    for (size_t t = runs[r][0]; t < runs[r][1]; ++t) {
      held += tile_sites(t);
      run_sites[r] += tile_sites(t);
      if (held >= chunk_sites || t + 1 == runs[r][1]) {
        cuts[r].push_back({first, t + 1});
        first = t + 1;
        held = 0;
      }
    }
  }
  // A sample's pieces in a SpinSumTable: its cuts, run after run.
  spin_pieces_ = 0;
  std::vector<int64_t> first_spin_piece;
  for (const auto& c : cuts) {
    first_spin_piece.push_back(spin_pieces_);
    spin_pieces_ += static_cast<int64_t>(c.size());
  }
  auto add = [&](int64_t group, int64_t first_sample, int64_t end_sample, size_t run, size_t cut) {
    const auto tiles = cuts[run][cut];
    int64_t sites = 0;
    for (size_t t = tiles[0]; t < tiles[1]; ++t) sites += tile_sites(t);
    const int64_t piece =
        chunks_.empty() || chunks_.back().group != group ? 0 : chunks_.back().piece + 1;
    chunks_.push_back({group, piece, first_sample, end_sample, tiles[0], tiles[1],
                       first_spin_piece[run] + static_cast<int64_t>(cut),
                       sites * (end_sample - first_sample)});
  };
  for (int64_t group = 0; group < groups; ++group) {
    const size_t run = space ? static_cast<size_t>(group) : 0;
    const auto range =
        space ? std::array<int64_t, 2>{0, samples} : group_samples(samples, groups, group);
    if (cuts[run].size() == 1 && !space) {
      // Samples smaller than a chunk: runs of whole samples.
      const int64_t per_chunk = std::max<int64_t>(
          1, (chunk_sites + run_sites[run] - 1) / std::max<int64_t>(1, run_sites[run]));
      for (int64_t first = range[0]; first < range[1]; first += per_chunk) {
        add(group, first, std::min(range[1], first + per_chunk), run, 0);
      }
      continue;
    }
    for (int64_t sample = range[0]; sample < range[1]; ++sample) {
      for (size_t cut = 0; cut < cuts[run].size(); ++cut) add(group, sample, sample + 1, run, cut);
    }
  }
}

GroupedMoments PassChunks::table(int levels, int order) const {
  std::vector<int64_t> pieces(static_cast<size_t>(groups_), 0);
  for (const auto& chunk : chunks_) ++pieces[static_cast<size_t>(chunk.group)];
  return GroupedMoments(kind_, levels, order, geometry_.top_blocks_per_axis(), pieces);
}

std::vector<int> PassChunks::owners(int ranks) const {
  // (sites so far, rank): the least loaded rank on top, the lowest of equals.
  std::priority_queue<std::pair<int64_t, int>, std::vector<std::pair<int64_t, int>>, std::greater<>>
      load;
  for (int rank = 0; rank < ranks; ++rank) load.push({0, rank});
  std::vector<int> owner;
  owner.reserve(chunks_.size());
  for (const auto& chunk : chunks_) {
    auto [sites, rank] = load.top();
    load.pop();
    owner.push_back(rank);
    load.push({sites + chunk.sites, rank});
  }
  return owner;
}

int64_t pass_bytes(const lattice::Geometry& geometry, int64_t rows, int64_t value_bytes,
                   bool models) {
  int64_t row_values = 0;
  for (int level = 0; level <= geometry.levels; ++level) {
    row_values += block_row_sites(geometry, level);
  }
  const int64_t work =
      models ? kModelBytesPerSite * canonical_rows(geometry) * block_row_sites(geometry, 0) : 0;
  return rows * row_values * value_bytes + work;
}

int64_t rows_per_read(const lattice::Geometry& geometry, int64_t value_bytes, bool models,
                      int64_t budget_bytes) {
  const int64_t one_tile = pass_bytes(geometry, canonical_rows(geometry), value_bytes, models);
  if (one_tile > budget_bytes) return 0;
  const int64_t row_bytes = pass_bytes(geometry, 1, value_bytes, false);
  const int64_t work = pass_bytes(geometry, 0, value_bytes, models);
  return std::min(geometry.top_blocks_per_axis(), (budget_bytes - work) / row_bytes);
}

TileSums::TileSums(const GeneralisationPlan& plan, const std::vector<int64_t>& tiles_per_source)
    : plan_(plan), tiles_per_source_(tiles_per_source) {
  size_t next = 0;
  for (const auto& row : plan.cells) {
    offset_.emplace_back();
    for (const auto& cell : row) {
      offset_.back().push_back(next);
      if (cell.note.empty()) {
        next += static_cast<size_t>(cell.count) *
                static_cast<size_t>(tiles_per_source_.at(static_cast<size_t>(cell.source)));
      }
    }
  }
  slots_.assign(next, 0.0);
}

double& TileSums::at(size_t model, size_t test, int64_t sample, int64_t tile) {
  const auto& cell = plan_.cells[model][test];
  const int64_t tiles = tiles_per_source_[static_cast<size_t>(cell.source)];
  return slots_[offset_[model][test] +
                static_cast<size_t>((sample - cell.first_sample) * tiles + tile)];
}

std::vector<double> TileSums::sample_sums(size_t model, size_t test) const {
  const auto& cell = plan_.cells[model][test];
  const int64_t tiles = tiles_per_source_[static_cast<size_t>(cell.source)];
  std::vector<double> sums(static_cast<size_t>(cell.count));
  const double* slot = slots_.data() + offset_[model][test];
  for (auto& sum : sums) {
    sum = slot[0];
    for (int64_t tile = 1; tile < tiles; ++tile) sum += slot[tile];
    slot += tiles;
  }
  return sums;
}

PassModels::PassModels(const std::vector<Source>& models, const std::string& data_dtype,
                       int data_levels, const std::function<GroupedMoments(int levels)>& table,
                       const std::function<SpinSumTable(int first_level)>& spin_table) {
  for (const Source& source : models) {
    Kernels kernels;
    kernels.level_input = source.level_input;
    kernels.in_double = std::make_unique<FieldModel<double>>(*source.network);
    if (analysis_precision(source.scalar, data_dtype) == "float32") {
      kernels.in_float = std::make_unique<FieldModel<float>>(*source.network);
    }
    if (source.level_input < data_levels) {
      kernels.flow = std::make_unique<GroupedMoments>(table(data_levels - source.level_input + 1));
      if (spin_table)
        kernels.spins = std::make_unique<SpinSumTable>(spin_table(source.level_input));
    }
    models_.push_back(std::move(kernels));
  }
}

std::vector<PassModel> PassModels::for_pass(const std::string& dtype, bool flows) const {
  std::vector<PassModel> pass;
  for (const Kernels& model : models_) {
    pass.push_back({model.level_input, dtype == "float32" ? model.in_float.get() : nullptr,
                    model.in_double.get(), flows ? model.flow.get() : nullptr,
                    flows ? model.spins.get() : nullptr});
  }
  return pass;
}

std::string PassModels::precision(const std::vector<std::string>& names) const {
  std::string text;
  for (size_t m = 0; m < models_.size(); ++m) {
    text += (text.empty() ? "" : ",") + names[m] + ":" + (single(m) ? "float32" : "float64");
  }
  return text;
}

GeneralisationTable generalisation_table(const GeneralisationPlan& plan, const TileSums& sums,
                                         const std::vector<std::string>& model_names,
                                         const PassSource& data,
                                         const std::vector<PassSource>& test_sets) {
  GeneralisationTable table;
  for (size_t m = 0; m < plan.cells.size(); ++m) {
    table.mse.emplace_back(plan.tests.size());
    for (size_t t = 0; t < plan.tests.size(); ++t) {
      const auto& cell = plan.cells[m][t];
      if (!cell.note.empty()) {
        table.mse[m][t] = std::numeric_limits<double>::quiet_NaN();
        table.notes += (table.notes.empty() ? "" : "; ") + model_names[m] + "/" + plan.tests[t] +
                       ": " + cell.note;
        continue;
      }
      const auto& g = cell.source == 0 ? data.geometry
                                       : test_sets[static_cast<size_t>(cell.source - 1)].geometry;
      table.mse[m][t] = mean_squared_error(
          sums.sample_sums(m, t),
          coarse::pairs_per_sample(g.dim, g.level_side(cell.level), g.block_side));
    }
  }
  return table;
}

std::vector<int64_t> tiles_per_source(const PassSource& data, JackknifeGroups kind, int64_t groups,
                                      const std::vector<PassSource>& test_sets) {
  std::vector<int64_t> tiles{
      static_cast<int64_t>(sample_tiles(data.geometry, kind, groups).size())};
  for (const auto& t : test_sets) {
    tiles.push_back(static_cast<int64_t>(
        canonical_tiles(t.geometry, {0, t.geometry.top_blocks_per_axis()}).size()));
  }
  return tiles;
}

nn::Matrix<double> first_blocks(const lattice::Geometry& g, int64_t samples, int64_t limit,
                                const SlabReader<double>& read) {
  const int64_t per_sample = coarse::pairs_per_sample(g.dim, g.side, g.block_side);
  const int64_t columns = std::min<int64_t>(limit, per_sample * samples);
  nn::Matrix<double> x(g.sites_per_block(), columns);
  nn::Matrix<double> tile_blocks;
  std::vector<double> field;
  for (int64_t sample = 0, filled = 0; filled < columns; ++sample) {
    for (const auto& tile : canonical_tiles(g, {0, g.top_blocks_per_axis()})) {
      if (filled == columns) break;
      read(0, sample, tile, field);
      const int64_t rows = tile.rows() * g.top_block_side();
      tile_blocks.resize(g.sites_per_block(),
                         static_cast<Eigen::Index>(field.size()) / g.sites_per_block());
      coarse::extract_slab_blocks(g.dim, rows, g.side, g.block_side, field.data(),
                                  tile_blocks.data());
      const int64_t take = std::min<int64_t>(tile_blocks.cols(), columns - filled);
      x.middleCols(filled, take) = tile_blocks.leftCols(take);
      filled += take;
    }
  }
  return x;
}

namespace {

// f(network) with the network the model is applied with to values of type Value: float32 only
// to float data.
template <typename Value, typename F>
void with_network(PassModel& model, F&& f) {
  if constexpr (std::is_same_v<Value, float>) {
    if (model.in_float != nullptr) {
      f(*model.in_float);
      return;
    }
  }
  f(*model.in_double);
}

// One sample's values of every level on a run of rows, read at once, and a view of one tile.
template <typename Value>
struct ReadRows {
  RowRange rows;
  std::vector<std::vector<Value>> levels;  // [level]; empty for levels not read

  const Value* tile(const lattice::Geometry& g, int level, RowRange tile) const {
    return levels[static_cast<size_t>(level)].data() +
           (tile.begin - rows.begin) * block_row_sites(g, level);
  }
};

// Site rows of level `level` in `tile`, and the level's side.
int64_t site_rows(const lattice::Geometry& g, int level, RowRange tile) {
  int64_t rows = tile.rows() * g.top_block_side();
  for (int k = 0; k < level; ++k) rows /= g.block_side;
  return rows;
}

}  // namespace

template <typename Value>
void data_pass(const PassChunks& chunks, GroupedMoments& data, std::vector<PassModel>& models,
               const GeneralisationPlan& plan, TileSums& sums, int64_t read_rows, int rank,
               int ranks, const SlabReader<Value>& read, SpinSumTable* spins) {
  const lattice::Geometry& g = chunks.geometry();
  const int levels = g.levels + 1;
  const std::vector<RowRange>& tiles = chunks.tiles();
  ReadRows<Value> buffer;
  buffer.levels.resize(static_cast<size_t>(levels));
  // Spin sums: the top-level block row after a read's last tile at every level, and a learned
  // level's first row after the tile.
  bool need_next_rows = spins != nullptr;
  for (const auto& model : models) need_next_rows = need_next_rows || model.spins != nullptr;
  std::vector<std::vector<Value>> next_rows(static_cast<size_t>(levels));
  std::vector<std::vector<double>> learned_next;
  const std::vector<int> owners = chunks.owners(ranks);
  for (size_t c = 0; c < chunks.chunks().size(); ++c) {
    if (owners[c] != rank) continue;
    const PassChunk& chunk = chunks.chunks()[c];
    const int64_t spin_piece = chunk.spin_piece;
    const size_t first_tile = chunk.first_tile, end_tile = chunk.end_tile;
    std::vector<CentralMoments> moments(static_cast<size_t>(levels), CentralMoments(data.order()));
    std::vector<std::vector<CentralMoments>> learned(models.size());
    for (size_t m = 0; m < models.size(); ++m) {
      if (models[m].flow != nullptr) {
        learned[m].assign(static_cast<size_t>(models[m].flow->levels()),
                          CentralMoments(models[m].flow->order()));
      }
    }
    for (int64_t sample = chunk.first_sample; sample < chunk.end_sample; ++sample) {
      for (size_t first = first_tile; first < end_tile;) {
        // A read: whole tiles, as many as read_rows allows (at least one).
        size_t end = first + 1;
        while (end < end_tile && tiles[end].end - tiles[first].begin <= read_rows) ++end;
        buffer.rows = {tiles[first].begin, tiles[end - 1].end};
        for (int level = 0; level < levels; ++level) {
          read(level, sample, buffer.rows, buffer.levels[static_cast<size_t>(level)]);
        }
        if (need_next_rows) {
          const int64_t after = tiles[end - 1].end % g.top_blocks_per_axis();
          for (int level = 0; level < levels; ++level) {
            read(level, sample, {after, after + 1}, next_rows[static_cast<size_t>(level)]);
          }
        }
        for (size_t t = first; t < end; ++t) {
          const RowRange tile = tiles[t];
          // The site row after the tile at `level`: the next tile's first, or the row read after.
          auto next_row = [&](int level) {
            return t + 1 < end ? buffer.tile(g, level, tiles[t + 1])
                               : next_rows[static_cast<size_t>(level)].data();
          };
          for (int level = 0; level < levels; ++level) {
            moments[static_cast<size_t>(level)].add(
                buffer.tile(g, level, tile),
                static_cast<size_t>(tile.rows() * block_row_sites(g, level)));
            if (spins != nullptr) {
              spins->add(level, sample, spin_piece,
                         tile_spin_sums(g.dim, g.level_side(level), site_rows(g, level, tile),
                                        buffer.tile(g, level, tile), next_row(level)));
            }
          }
          for (size_t m = 0; m < models.size(); ++m) {
            PassModel& model = models[m];
            const int k = model.level_input;
            if (k >= g.levels) continue;  // nothing to apply it to (a note says so)
            const Value* fine = buffer.tile(g, k, tile);
            const int64_t rows = site_rows(g, k, tile), side = g.level_side(k);
            with_network<Value>(model, [&](auto& network) {
              const int flow_levels = model.flow != nullptr    ? model.flow->levels()
                                      : model.spins != nullptr ? model.spins->levels()
                                                               : 0;
              if (model.spins != nullptr) {
                // The learned levels' rows after the tile: the model applied to the data's next
                // top-level block row alone; each level's first site row kept.
                learned_next.resize(static_cast<size_t>(flow_levels));
                add_learned_slab_levels(
                    network, g.dim, site_rows(g, k, {0, 1}), side, g.block_side, next_row(k),
                    flow_levels,
                    [&](int level, int64_t level_rows, int64_t, const auto* values, size_t count) {
                      learned_next[static_cast<size_t>(level)].assign(
                          values, values + count / static_cast<size_t>(level_rows));
                    });
              }
              if (flow_levels > 0) {
                auto& slots = learned[m];
                add_learned_slab_levels(
                    network, g.dim, rows, side, g.block_side, fine, flow_levels,
                    [&](int level, int64_t level_rows, int64_t level_side, const auto* values,
                        size_t count) {
                      if (model.flow != nullptr)
                        slots[static_cast<size_t>(level)].add(values, count);
                      if (model.spins != nullptr) {
                        model.spins->add(
                            level, sample, spin_piece,
                            tile_spin_sums(g.dim, level_side, level_rows, values,
                                           learned_next[static_cast<size_t>(level)].data()));
                      }
                    });
              }
              for (size_t test = 0; test < plan.tests.size(); ++test) {
                const auto& cell = plan.cells[m][test];
                if (!cell.note.empty() || cell.source != 0 || sample < cell.first_sample ||
                    sample >= cell.first_sample + cell.count) {
                  continue;
                }
                sums.at(m, test, sample, static_cast<int64_t>(t)) = slab_squared_error(
                    network, g.dim, rows, side, fine, buffer.tile(g, k + 1, tile), cell.scale);
              }
            });
          }
        }
        first = end;
      }
    }
    for (int level = 0; level < levels; ++level) {
      data.store(level, chunk.group, chunk.piece, moments[static_cast<size_t>(level)]);
    }
    for (size_t m = 0; m < models.size(); ++m) {
      for (size_t level = 0; level < learned[m].size(); ++level) {
        models[m].flow->store(static_cast<int>(level), chunk.group, chunk.piece, learned[m][level]);
      }
    }
  }
}

template <typename Value>
void test_set_pass(const lattice::Geometry& g, int64_t samples, int source,
                   std::vector<PassModel>& models, const GeneralisationPlan& plan, TileSums& sums,
                   int rank, int ranks, const SlabReader<Value>& read) {
  const std::vector<RowRange> tiles = canonical_tiles(g, {0, g.top_blocks_per_axis()});
  const int64_t tile_count = static_cast<int64_t>(tiles.size());
  std::vector<bool> needed(static_cast<size_t>(g.levels + 1), false);
  bool any = false;
  for (size_t m = 0; m < models.size(); ++m) {
    for (const auto& cell : plan.cells[m]) {
      if (cell.note.empty() && cell.source == source) {
        needed[static_cast<size_t>(cell.level)] = needed[static_cast<size_t>(cell.level) + 1] =
            true;
        any = true;
      }
    }
  }
  if (!any) return;
  ReadRows<Value> buffer;
  buffer.levels.resize(needed.size());
  for (int64_t unit = rank; unit < samples * tile_count; unit += ranks) {
    const int64_t sample = unit / tile_count, t = unit % tile_count;
    const RowRange tile = tiles[static_cast<size_t>(t)];
    buffer.rows = tile;
    for (size_t level = 0; level < needed.size(); ++level) {
      if (needed[level]) read(static_cast<int>(level), sample, tile, buffer.levels[level]);
    }
    for (size_t m = 0; m < models.size(); ++m) {
      for (size_t test = 0; test < plan.tests.size(); ++test) {
        const auto& cell = plan.cells[m][test];
        if (!cell.note.empty() || cell.source != source || sample < cell.first_sample ||
            sample >= cell.first_sample + cell.count) {
          continue;
        }
        const int k = cell.level;
        with_network<Value>(models[m], [&](auto& network) {
          sums.at(m, test, sample, t) =
              slab_squared_error(network, g.dim, site_rows(g, k, tile), g.level_side(k),
                                 buffer.tile(g, k, tile), buffer.tile(g, k + 1, tile), cell.scale);
        });
      }
    }
  }
}

void data_pass(const PassSource& source, const PassChunks& chunks, GroupedMoments& data,
               const PassModels& models, const GeneralisationPlan& plan, TileSums& sums,
               int64_t read_rows, int rank, int ranks, SpinSumTable* spins) {
  auto pass = models.for_pass(source.dtype, true);
  if (source.dtype == "float32") {
    data_pass<float>(chunks, data, pass, plan, sums, read_rows, rank, ranks, source.read_float,
                     spins);
  } else {
    data_pass<double>(chunks, data, pass, plan, sums, read_rows, rank, ranks, source.read_double,
                      spins);
  }
}

void test_set_pass(const PassSource& source, int index, const PassModels& models,
                   const GeneralisationPlan& plan, TileSums& sums, int rank, int ranks) {
  auto pass = models.for_pass(source.dtype, false);
  if (source.dtype == "float32") {
    test_set_pass<float>(source.geometry, source.samples, index, pass, plan, sums, rank, ranks,
                         source.read_float);
  } else {
    test_set_pass<double>(source.geometry, source.samples, index, pass, plan, sums, rank, ranks,
                          source.read_double);
  }
}

template void data_pass<float>(const PassChunks&, GroupedMoments&, std::vector<PassModel>&,
                               const GeneralisationPlan&, TileSums&, int64_t, int, int,
                               const SlabReader<float>&, SpinSumTable*);
template void data_pass<double>(const PassChunks&, GroupedMoments&, std::vector<PassModel>&,
                                const GeneralisationPlan&, TileSums&, int64_t, int, int,
                                const SlabReader<double>&, SpinSumTable*);
template void test_set_pass<float>(const lattice::Geometry&, int64_t, int, std::vector<PassModel>&,
                                   const GeneralisationPlan&, TileSums&, int, int,
                                   const SlabReader<float>&);
template void test_set_pass<double>(const lattice::Geometry&, int64_t, int, std::vector<PassModel>&,
                                    const GeneralisationPlan&, TileSums&, int, int,
                                    const SlabReader<double>&);

}  // namespace rgflow::analysis
