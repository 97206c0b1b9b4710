#include "rgflow/analysis/model_propagation.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "rgflow/analysis/grouped_moments.hpp"
#include "rgflow/analysis/jackknife.hpp"
#include "rgflow/coarse/block_pairs.hpp"
#include "rgflow/core/error.hpp"

namespace rgflow::analysis {

ModelPropagation::ModelPropagation(const nn::Network<double>& network, int level,
                                   const PropagationData& data, const PropagationOptions& options,
                                   int64_t groups)
    : network_(network), data_(data), options_(options), groups_(groups), level_(level) {
  const auto& spec = network.spec();
  const auto& g = data.geometry;
  report_.input_level = level;
  if (spec.strategy == nn::Strategy::kAverage || spec.strategy == nn::Strategy::kCanonical) {
    report_.skipped = "the " + nn::strategy_name(spec.strategy) +
                      " strategy feeds the network transformed copies of the block, whose sites "
                      "are not i.i.d.";
    return;
  }
  if (level > g.levels) {
    report_.skipped = "the model maps level " + std::to_string(level) + ", which the data lack";
    return;
  }
  chain_ = affine_chain(network);
  for (const auto& layer : chain_.layers) {
    if (layer.weight.rows() > options.max_width) {
      report_.skipped = "a layer of " + std::to_string(layer.weight.rows()) +
                        " units exceeds -propagation_max_width " +
                        std::to_string(options.max_width);
      return;
    }
  }
  const bool polynomial = exact_moments_needed(chain_, 4) >= 0;
  const std::string& wanted = options.modes;
  if (wanted == "exact" || ((wanted == "auto" || wanted == "all") && polynomial)) {
    modes_.push_back(PropagationMode::kExact);
  }
  if (wanted == "taylor" || wanted == "all" || (wanted == "auto" && !polynomial)) {
    modes_.push_back(PropagationMode::kTaylor);
  }
  if (wanted == "gauss" || wanted == "all" || (wanted == "auto" && !polynomial)) {
    modes_.push_back(PropagationMode::kGauss);
  }
  const int needed = std::max(8, exact_moments_needed(chain_, 4));
  site_moments_ = field::site_raw_moments(data.distribution, level, static_cast<int>(g.block_side),
                                          g.dim, data.scaling_dimension, std::min(needed, 127));
  for (auto mode : modes_) report_.modes.push_back(propagation_mode_name(mode));
  predicted_.resize(modes_.size());
  report_.mode_notes.resize(modes_.size());
}

double ModelPropagation::prediction_cost(size_t m) const {
  double cost = 0;
  for (const auto& layer : chain_.layers) cost += std::pow(double(layer.weight.rows()), 4);
  return cost * (modes_[m] == PropagationMode::kGauss ? 2 : 1);
}

void ModelPropagation::predict(size_t m) {
  PropagationSettings settings = options_.settings;
  settings.mode = modes_[m];
  try {
    predicted_[m] = propagate(chain_, site_moments_, settings);
    report_.mode_notes[m].clear();
  } catch (const UsageError& reason) {
    predicted_[m].clear();
    report_.mode_notes[m] = reason.what();
  }
}

namespace {

void put(std::string& bytes, const void* data, size_t size) {
  bytes.append(static_cast<const char*>(data), size);
}

template <typename T>
T take(const std::string& bytes, size_t& position) {
  if (position + sizeof(T) > bytes.size()) throw std::invalid_argument("prediction bytes: short");
  T value;
  std::memcpy(&value, bytes.data() + position, sizeof(T));
  position += sizeof(T);
  return value;
}

}  // namespace

std::string ModelPropagation::prediction_bytes(size_t m) const {
  std::string bytes;
  const uint64_t note = report_.mode_notes[m].size(), layers = predicted_[m].size();
  put(bytes, &note, sizeof note);
  bytes += report_.mode_notes[m];
  put(bytes, &layers, sizeof layers);
  for (const auto& layer : predicted_[m]) {
    const int64_t width = layer.width;
    const uint64_t orders = layer.kappa.size();
    put(bytes, &width, sizeof width);
    put(bytes, &orders, sizeof orders);
    for (const auto& tensor : layer.kappa) {
      const uint64_t size = tensor.size();
      put(bytes, &size, sizeof size);
      put(bytes, tensor.data(), size * sizeof(double));
    }
  }
  return bytes;
}

void ModelPropagation::set_prediction(size_t m, const std::string& bytes) {
  size_t position = 0;
  const auto note = take<uint64_t>(bytes, position);
  report_.mode_notes[m] = bytes.substr(position, note);
  position += note;
  predicted_[m].assign(take<uint64_t>(bytes, position), JointCumulants{});
  for (auto& layer : predicted_[m]) {
    layer.width = static_cast<int>(take<int64_t>(bytes, position));
    layer.kappa.resize(take<uint64_t>(bytes, position));
    for (auto& tensor : layer.kappa) {
      tensor.resize(take<uint64_t>(bytes, position));
      for (double& v : tensor) v = take<double>(bytes, position);
    }
  }
}

void ModelPropagation::prepare_monte_carlo() {
  if (skipped()) return;
  const auto usable =
      std::find_if(predicted_.begin(), predicted_.end(), [](const auto& p) { return !p.empty(); });
  if (usable == predicted_.end()) {
    report_.skipped =
        report_.mode_notes.empty() ? "no propagation mode applies" : report_.mode_notes.front();
    return;
  }
  usable_ = static_cast<size_t>(usable - predicted_.begin());
  const size_t layers = chain_.layers.size();
  offsets_.assign(1, 1);  // slot 0 of a group holds its block count
  for (size_t l = 0; l < layers; ++l) {
    report_.layers.push_back(l + 1 == layers ? "output" : "hidden_" + std::to_string(l + 1));
    report_.widths.push_back(double(chain_.layers[l].weight.rows()));
    offsets_.push_back(offsets_.back() +
                       sorted_tuples(static_cast<int>(chain_.layers[l].weight.rows()), 4).size());
  }
  buffer_.assign(static_cast<size_t>(groups_) * offsets_.back(), 0.0);
}

void ModelPropagation::fill_owned_groups(int rank, int ranks, const RowsReader& read,
                                         int64_t first_owner) {
  if (skipped()) return;
  const auto& g = data_.geometry;
  const size_t layers = chain_.layers.size();
  const size_t stride = offsets_.back();
  const int64_t per_sample = coarse::pairs_per_sample(g.dim, g.level_side(level_), g.block_side);
  const int64_t quota = (options_.blocks + groups_ - 1) / groups_;
  const int n = static_cast<int>(g.sites_per_block());
  std::vector<double> field;
  nn::Matrix<double> blocks;
  nn::Network<double>::Tape tape;
  // Blocks of the model's level per row of top-level blocks: only the rows that hold the blocks
  // taken are read.
  const int64_t per_top_row = per_sample / g.top_blocks_per_axis();
  int64_t fine_rows_per_top_row = g.top_block_side();
  for (int k = 0; k < level_; ++k) fine_rows_per_top_row /= g.block_side;
  // Space groups: group g's blocks are those of its slab of top-level block rows in every
  // sample (the slab's blocks are consecutive columns: block rows in row-major order).
  const int64_t block_rows = g.level_side(level_) / g.block_side;
  const int64_t top_side = g.level_side(g.levels);
  const int64_t per_block_row = per_sample / block_rows;
  for (int64_t group = 0; group < groups_; ++group) {
    if ((first_owner + group) % ranks != rank) continue;
    const bool space = data_.space_groups;
    const auto range = space ? std::array<int64_t, 2>{0, data_.samples}
                             : group_samples(data_.samples, groups_, group);
    int64_t first_block = 0, group_blocks = per_sample;
    if (space) {
      const auto rows = group_rows(top_side, groups_, group);
      const int64_t rows_per_top_row = block_rows / top_side;
      first_block = rows[0] * rows_per_top_row * per_block_row;
      group_blocks = (rows[1] - rows[0]) * rows_per_top_row * per_block_row;
    }
    double* slot = buffer_.data() + static_cast<size_t>(group) * stride;
    int64_t taken = 0;
    for (int64_t sample = range[0]; sample < range[1] && taken < quota; ++sample) {
      const int64_t take = std::min(group_blocks, quota - taken);
      const int64_t first_row = first_block / per_top_row;
      const int64_t rows = (first_block + take + per_top_row - 1) / per_top_row - first_row;
      read(sample, first_row, rows, field);
      blocks.resize(n, rows * per_top_row);
      coarse::extract_slab_blocks(g.dim, rows * fine_rows_per_top_row, g.level_side(level_),
                                  g.block_side, field.data(), blocks.data());
      network_.forward(blocks.middleCols(first_block - first_row * per_top_row, take), tape);
      for (size_t l = 0; l < layers; ++l) {
        nn::Matrix<double> units = chain_activations(network_, tape, static_cast<int>(l));
        const auto& centre = predicted_[usable_][l].kappa[0];
        for (Eigen::Index a = 0; a < units.rows(); ++a)
          units.row(a).array() -= centre[static_cast<size_t>(a)];
        std::vector<double> sums(offsets_[l + 1] - offsets_[l], 0.0);
        add_tuple_sums(units, 4, sums);
        for (size_t k = 0; k < sums.size(); ++k) slot[offsets_[l] + k] += sums[k];
      }
      taken += take;
    }
    slot[0] = double(taken);
  }
}

PropagationReport ModelPropagation::finish() {
  if (skipped()) return report_;
  const auto& g = data_.geometry;
  const size_t layers = chain_.layers.size();
  const size_t stride = offsets_.back();
  const auto& centre = predicted_[usable_];
  // Joint cumulants of every layer, one per sorted tuple, from the sums of all groups but
  // `left_out` (-1: all), summed in group order. The jackknife works entry by entry, so it runs on
  // these distinct entries; the full tensors are filled once, from its results.
  auto estimate = [&](int64_t left_out) {
    std::vector<double> total(stride, 0.0);
    for (int64_t group = 0; group < groups_; ++group) {
      if (group == left_out) continue;
      const double* slot = buffer_.data() + static_cast<size_t>(group) * stride;
      for (size_t k = 0; k < stride; ++k) total[k] += slot[k];
    }
    std::vector<double> flat;
    for (size_t l = 0; l < layers; ++l) {
      const std::vector<double> sums(total.begin() + static_cast<long>(offsets_[l]),
                                     total.begin() + static_cast<long>(offsets_[l + 1]));
      const auto joint = tuple_cumulants_from_sums(sums, total[0], centre[l].kappa[0], 4);
      flat.insert(flat.end(), joint.begin(), joint.end());
    }
    if (left_out < 0) report_.blocks = static_cast<int64_t>(total[0]);
    return flat;
  };
  std::vector<std::vector<double>> left_out;
  for (int64_t group = 0; group < groups_; ++group) left_out.push_back(estimate(group));
  const std::vector<Estimate> distinct = jackknife(estimate(-1), left_out);
  // `mc`: layer by layer, orders 1..4, the full tensors (order k + 1: width^(k+1) entries).
  std::vector<Estimate> mc;
  size_t entries = 0;
  for (size_t l = 0; l < layers; ++l) {
    for (int n = 1; n <= 4; ++n) entries += size_t(tensor_size(int(report_.widths[l]), n));
  }
  mc.reserve(entries);
  std::vector<std::vector<size_t>> start(layers, std::vector<size_t>(5, 0));
  for (size_t l = 0; l < layers; ++l) {
    const int width = static_cast<int>(report_.widths[l]);
    std::vector<double> value, error;
    for (size_t k = offsets_[l]; k < offsets_[l + 1]; ++k) {
      value.push_back(distinct[k - 1].value);  // slot 0 of the sums is the block count
      error.push_back(distinct[k - 1].error);
    }
    const JointCumulants values = scatter_tuple_values(value, width, 4);
    const JointCumulants errors = scatter_tuple_values(error, width, 4);
    for (size_t k = 0; k < 4; ++k) {
      start[l][k] = mc.size();
      for (size_t i = 0; i < values.kappa[k].size(); ++i) {
        mc.push_back({values.kappa[k][i], errors.kappa[k][i]});
      }
    }
    start[l][4] = mc.size();
  }
  auto values = [&](size_t l, size_t k, bool errors) {
    std::vector<double> out;
    const size_t end = k + 1 < 4 ? start[l][k + 1] : start[l][4];
    for (size_t i = start[l][k]; i < end; ++i) out.push_back(errors ? mc[i].error : mc[i].value);
    return out;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t l = 0; l < layers; ++l) {
    report_.mc_relative_error.emplace_back();
    for (size_t k = 0; k < 4; ++k) {
      const auto value = values(l, k, false), error = values(l, k, true);
      const std::vector<double> zero(value.size(), 0.0);
      report_.mc_relative_error.back().push_back(
          relative_difference(error, zero) / std::max(relative_difference(value, zero), 1e-300));
    }
  }
  const size_t modes = predicted_.size();
  for (size_t m = 0; m < modes; ++m) {
    report_.relative_error.emplace_back();
    report_.output_predicted.emplace_back(4, nan);
    for (size_t l = 0; l < layers; ++l) {
      report_.relative_error.back().emplace_back(4, nan);
      if (predicted_[m].empty()) continue;
      for (size_t k = 0; k < 4; ++k) {
        if (predicted_[m][l].kappa[k].empty()) continue;
        report_.relative_error.back()[l][k] =
            relative_difference(predicted_[m][l].kappa[k], values(l, k, false));
      }
    }
    if (!predicted_[m].empty()) {
      for (size_t k = 0; k < 4; ++k) {
        if (!predicted_[m].back().kappa[k].empty()) {
          report_.output_predicted.back()[k] = predicted_[m].back().kappa[k][0];
        }
      }
    }
  }
  for (size_t k = 0; k < 4; ++k) {
    report_.output_mc.push_back(mc[start[layers - 1][k]].value);
    report_.output_mc_error.push_back(mc[start[layers - 1][k]].error);
  }
  // Each unit's own cumulants: the diagonal entries.
  report_.marginal_predicted.assign(modes, {});
  for (size_t l = 0; l < layers; ++l) {
    const int width = static_cast<int>(report_.widths[l]);
    for (int a = 0; a < width; ++a) {
      report_.marginal_layer.push_back(double(l));
      for (size_t k = 0; k < 4; ++k) {
        int64_t diagonal = 0;
        for (size_t r = 0; r <= k; ++r) diagonal = diagonal * width + a;
        const size_t i = static_cast<size_t>(diagonal);
        report_.marginal_mc.push_back(mc[start[l][k] + i].value);
        report_.marginal_mc_error.push_back(mc[start[l][k] + i].error);
        for (size_t m = 0; m < modes; ++m) {
          const bool known = !predicted_[m].empty() && !predicted_[m][l].kappa[k].empty();
          report_.marginal_predicted[m].push_back(known ? predicted_[m][l].kappa[k][i] : nan);
        }
      }
    }
  }
  if (network_.spec().activation == nn::Activation::kIdentity) {
    report_.linear_power_sums = linear_weight_power_sums(chain_, 8);
    for (int order = 1; order <= 8; ++order) {
      report_.linear_expected.push_back(
          double(g.sites_per_block()) *
          std::pow(double(g.block_side), -order * data_.scaling_dimension));
    }
  }
  return report_;
}

std::vector<PredictionTask> share_predictions(
    const std::vector<std::unique_ptr<ModelPropagation>>& runs, int ranks) {
  std::vector<std::pair<double, PredictionTask>> by_cost;
  for (size_t m = 0; m < runs.size(); ++m) {
    for (size_t mode = 0; mode < runs[m]->mode_count(); ++mode) {
      by_cost.push_back({-runs[m]->prediction_cost(mode), {m, mode, 0}});
    }
  }
  std::stable_sort(by_cost.begin(), by_cost.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<double> load(static_cast<size_t>(ranks), 0.0);
  std::vector<PredictionTask> tasks;
  for (auto& [cost, task] : by_cost) {
    const auto least = std::min_element(load.begin(), load.end());
    *least -= cost;
    task.owner = static_cast<int>(least - load.begin());
    tasks.push_back(task);
  }
  return tasks;
}

}  // namespace rgflow::analysis
