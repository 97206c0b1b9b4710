#include "rgflow/train/options.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "rgflow/core/error.hpp"
#include "rgflow/core/text.hpp"
#include "rgflow/nn/activation.hpp"

namespace rgflow::train {
namespace {

// Values as messages (and the list of tuning strengths) show them; doubles read back exactly.
std::string text_of(const StoredOption::Value& value) {
  if (const auto* number = std::get_if<int64_t>(&value)) return std::to_string(*number);
  if (const auto* real = std::get_if<double>(&value)) {
    char text[32];
    for (int digits = 15; digits <= 17; ++digits) {  // the shortest that reads back exactly
      std::snprintf(text, sizeof text, "%.*g", digits, *real);
      if (std::strtod(text, nullptr) == *real) break;
    }
    return text;
  }
  const std::string& text = std::get<std::string>(value);
  return text.empty() ? "''" : text;
}

std::string join_reals(const std::vector<double>& values) {
  std::vector<std::string> items;
  for (double value : values) items.push_back(text_of(value));
  return join_list(items);
}

}  // namespace

std::vector<StoredOption> TrainingOptions::fields() const {
  const nn::ModelSpec& m = model;
  const TrainSettings& s = settings;
  auto flag = [](bool value) { return int64_t{value ? 1 : 0}; };
  std::vector<StoredOption> list = {
      {"level", level},
      {"model", nn::model_kind_name(m.kind)},
      {"hidden", join_list(m.hidden)},
      {"activation", nn::activation_name(m.activation)},
      {"tying", nn::tying_name(m.tying)},
      {"orbit_group", m.orbit_group},
      {"strategy", nn::strategy_name(m.strategy)},
      {"no_bias", flag(!m.bias)},
      {"aggregation", std::string(m.mean_aggregation ? "mean" : "sum")},
      {"pooling", std::string(m.mean_pooling ? "mean" : "sum")},
      {"periodic", flag(m.periodic)},
      {"tie_self_neighbour", flag(m.tie_self_neighbour)},
      {"lambda_permutation", s.penalty.permutation},
      {"lambda_point_group", s.penalty.point_group},
      {"lambda_sign", s.penalty.sign},
      {"lambda_scale", s.penalty.scale},
      {"scale_factor", s.penalty.scale_factor},
      {"optimizer", optimizer.kind},
      {"lr", s.schedule.base},
      {"momentum", optimizer.momentum},
      {"weight_decay", optimizer.weight_decay},
      {"schedule", s.schedule.kind},
      {"step_factor", s.schedule.step_factor},
      {"step_epochs", s.schedule.step_epochs},
      {"batch", s.batch},
      {"epochs", s.epochs},
      {"steps", s.steps},
      {"patience", s.patience},
      {"val_fraction", val_fraction},
      {"seed", static_cast<int64_t>(s.seed)},
      {"dtype", dtype},
      {"reproducible", flag(s.reproducible)},
      {"tune_penalties", join_list(tuning.types)},
  };
  if (tuning.active()) {  // the trials' options matter only when there are trials
    list.push_back({"tune_grid", join_reals(tuning.grid)});
    list.push_back({"tune_epochs", tuning.epochs});
    list.push_back({"tune_tolerance", tuning.tolerance});
  }
  return list;
}

std::string TuningOptions::parse(const std::string& types_text, const std::string& grid_text,
                                 const std::vector<std::string>& given,
                                 const std::string& option_prefix) {
  const std::string option = "option " + option_prefix;
  const std::vector<std::string> all = {"permutation", "point_group", "sign", "scale"};
  types.clear();
  grid.clear();
  for (const std::string& type : types_text == "all" ? all : split_list(types_text)) {
    if (std::find(all.begin(), all.end(), type) == all.end()) {
      return option + "tune_penalties: unknown penalty '" + type +
             "' (allowed: permutation, point_group, sign, scale, all)";
    }
    if (std::find(types.begin(), types.end(), type) != types.end()) {
      return option + "tune_penalties: '" + type + "' is listed twice";
    }
    if (std::find(given.begin(), given.end(), type) != given.end()) {
      return option + "lambda_" + type +
             ": a strength cannot be both given and tuned (-tune_penalties lists " + type + ")";
    }
    types.push_back(type);
  }
  for (const std::string& item : split_list(grid_text)) {
    char* end = nullptr;
    const double value = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !std::isfinite(value) || value < 0) {
      return option + "tune_grid: '" + grid_text + "' is not a list of non-negative strengths";
    }
    grid.push_back(value);
  }
  std::sort(grid.begin(), grid.end());
  grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
  return "";
}

std::vector<int> parse_hidden_widths(const std::string& option, const std::string& text) {
  std::vector<int> widths;
  for (const std::string& item : split_list(text)) {
    char* end = nullptr;
    const long value = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || value < 1 || value > 1 << 20) {
      throw UsageError("option " + option + ": '" + text +
                       "' is not a list of positive widths (e.g. 64,64)");
    }
    widths.push_back(static_cast<int>(value));
  }
  if (widths.empty()) throw UsageError("option " + option + ": no hidden widths given");
  return widths;
}

std::string TrainingOptions::problem(const std::string& option_prefix) const {
  const std::string& p = option_prefix;
  {
    // The block comes from the dataset, read later; the smallest block (2 sites) gives a lower
    // bound on the network's size, so a network too large for any block is refused before any
    // file is opened (and when a pipeline is validated).
    nn::ModelSpec smallest = model;
    smallest.block = {1, 2};
    const std::string problem = smallest.validate();
    if (problem.rfind("the network", 0) == 0) {
      return "option " + p + "hidden: even on the smallest block, " + problem;
    }
    if (!problem.empty()) return problem;
  }
  if (!(val_fraction >= 0 && val_fraction < 1)) {
    return "option " + p + "val_fraction: must be in [0, 1)";
  }
  if (val_fraction == 0 && settings.patience > 0) {
    // Nothing held out: every validation loss would be 0, and early stopping would keep the
    // first epoch's weights.
    return "options " + p + "patience and " + p +
           "val_fraction 0 cannot go together: early stopping needs a validation split";
  }
  if (!(settings.schedule.base > 0)) return "option " + p + "lr: must be positive";
  const nn::SymmetryPenalty& penalty = settings.penalty;
  for (const auto& [name, value] :
       {std::pair<const char*, double>{"lambda_permutation", penalty.permutation},
        {"lambda_point_group", penalty.point_group},
        {"lambda_sign", penalty.sign},
        {"lambda_scale", penalty.scale}}) {
    if (value < 0) return "option " + p + name + ": must not be negative";
  }
  if (tuning.active()) {
    if (tuning.grid.size() < 2) return "option " + p + "tune_grid: needs at least two strengths";
    if (!(tuning.tolerance >= 0)) return "option " + p + "tune_tolerance: must not be negative";
    if (model.strategy != nn::Strategy::kRegularize) {
      return "option " + p + "tune_penalties: needs -strategy regularize";
    }
    if (!(val_fraction > 0)) {
      return "option " + p + "tune_penalties: tuning needs a validation split (-val_fraction > 0)";
    }
  }
  if (penalty.active() && model.strategy != nn::Strategy::kRegularize) {
    return "option " + p + "strategy: symmetry penalties (-lambda_*) need -strategy regularize";
  }
  return "";
}

std::string TrainingOptions::problem_with(const io::DatasetSpec& data, const std::string& data_path,
                                          const std::string& option_prefix) const {
  const auto& g = data.geometry;
  if (level + 1 > g.levels) {
    return "option " + option_prefix + "level: level " + std::to_string(level + 1) +
           " does not exist in '" + data_path + "' (levels 0-" + std::to_string(g.levels) + ")";
  }
  // The network's size against the limit, now that the block is known: before any allocation.
  nn::ModelSpec spec = model;
  spec.block = {g.dim, static_cast<int>(g.block_side)};
  return spec.validate();
}

std::string difference(const TrainingOptions& options, const DataIdentity& data,
                       const StoredTraining& stored) {
  auto differs = [](const std::string& what, const std::string& theirs, const std::string& mine) {
    return what + " " + theirs + " (this run: " + mine + ")";
  };
  const DataIdentity& d = stored.data;
  if (d.seed != data.seed) {
    return differs("the dataset's seed", std::to_string(d.seed), std::to_string(data.seed));
  }
  if (d.distribution != data.distribution) {
    return differs("the dataset's distribution", d.distribution, data.distribution);
  }
  if (d.side != data.side) {
    return differs("the dataset's L", std::to_string(d.side), std::to_string(data.side));
  }
  if (d.samples != data.samples) {
    return differs("the dataset's samples", std::to_string(d.samples),
                   std::to_string(data.samples));
  }
  const std::vector<StoredOption> mine = options.fields();
  auto find = [](const std::vector<StoredOption>& list, const std::string& name) {
    for (const StoredOption& option : list) {
      if (option.name == name) return &option;
    }
    return static_cast<const StoredOption*>(nullptr);
  };
  for (const StoredOption& option : mine) {
    const StoredOption* theirs = find(stored.options, option.name);
    if (theirs == nullptr) return differs("-" + option.name, "unset", text_of(option.value));
    if (theirs->value != option.value) {
      return differs("-" + option.name, text_of(theirs->value), text_of(option.value));
    }
  }
  for (const StoredOption& option : stored.options) {
    if (find(mine, option.name) == nullptr) {
      return differs("-" + option.name, text_of(option.value), "unset");
    }
  }
  return "";
}

std::string difference_from_file(const std::string& path, const TrainingOptions& options,
                                 const DataIdentity& data) {
  return difference(options, data, io::TrainingFileReader(path, "").options());
}

}  // namespace rgflow::train
