#include "rgflow/train/data.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <typeinfo>

#include "rgflow/coarse/block_pairs.hpp"
#include "rgflow/core/error.hpp"
#include "rgflow/core/progress.hpp"
#include "rgflow/lattice/partition.hpp"

namespace rgflow::train {

DataPlan DataPlan::make(const io::DatasetSpec& data, int level, double val_fraction, int64_t batch,
                        int64_t memory_budget, int64_t scalar_bytes,
                        const std::string& option_prefix) {
  DataPlan plan;
  const int64_t samples = data.samples;
  plan.validation_samples =
      val_fraction > 0 ? std::max<int64_t>(1, std::llround(val_fraction * samples)) : 0;
  plan.training_samples = samples - plan.validation_samples;
  if (plan.training_samples < 1) {
    throw UsageError("option " + option_prefix +
                     "val_fraction: leaves no training samples (the dataset has " +
                     std::to_string(samples) + ")");
  }
  const auto& g = data.geometry;
  plan.pairs_per_sample = coarse::pairs_per_sample(g.dim, g.level_side(level), g.block_side);
  const int64_t training_pairs = plan.training_samples * plan.pairs_per_sample;
  if (batch > training_pairs) {
    throw UsageError("option " + option_prefix + "batch: " + std::to_string(batch) +
                     " exceeds the training split's " + std::to_string(training_pairs) + " pairs");
  }
  const int64_t sample_bytes = plan.pairs_per_sample * (g.sites_per_block() + 1) * scalar_bytes;
  plan.window_samples = memory_budget / sample_bytes;
  const std::string budget_option = option_prefix + "memory_mb";
  if (plan.window_samples < 1) {
    throw UsageError("option " + budget_option + ": one sample's training pairs need " +
                     std::to_string(sample_bytes >> 20) + " MiB; raise it");
  }
  plan.streamed =
      plan.training_samples > plan.window_samples || plan.validation_samples > plan.window_samples;
  if (plan.streamed && batch > plan.window_samples * plan.pairs_per_sample) {
    throw UsageError("option " + option_prefix + "batch: " + std::to_string(batch) +
                     " exceeds the " + std::to_string(plan.window_samples * plan.pairs_per_sample) +
                     " pairs a window of " + budget_option + " holds");
  }
  return plan;
}

template <typename Scalar>
PairSet<Scalar> load_pairs(const Comm& world, const io::DatasetReader& reader, int level,
                           int64_t sample_offset, int64_t samples) {
  const auto& g = reader.spec().geometry;
  const int64_t per_sample = coarse::pairs_per_sample(g.dim, g.level_side(level), g.block_side);
  const int n = static_cast<int>(g.sites_per_block());
  const auto range = lattice::piece_range(samples, world.size(), world.rank());
  PairSet<Scalar> set;
  set.total = static_cast<uint64_t>(samples * per_sample);
  set.first = static_cast<uint64_t>(range[0] * per_sample);
  const int64_t count = (range[1] - range[0]) * per_sample;
  set.x.resize(n, count);
  set.y.resize(1, count);
  for (int64_t s = range[0]; s < range[1]; ++s) {
    const auto fine = reader.read(level, sample_offset + s, 1);
    const auto coarse = reader.read(level + 1, sample_offset + s, 1);
    for (const auto* values : {&fine, &coarse}) {
      for (double v : *values) {
        if (!std::isfinite(v)) {
          throw UsageError("dataset '" + reader.path() +
                           "' holds a non-finite value (NaN or Inf) in sample " +
                           std::to_string(sample_offset + s));
        }
      }
    }
    const int64_t column = (s - range[0]) * per_sample;
    coarse::extract_pairs(g.dim, g.level_side(level), g.block_side, fine.data(), coarse.data(),
                          set.x.data() + column * n, set.y.data() + column);
  }
  return set;
}

template <typename Scalar>
const PairCache::Split<Scalar>& PairCache::pairs(const Comm& world, const io::DatasetReader& reader,
                                                 int level, const DataPlan& plan) {
  const std::string key = reader.path() + "|" + std::to_string(level) + "|" +
                          std::to_string(plan.training_samples) + "|" +
                          std::to_string(plan.validation_samples) + "|" + typeid(Scalar).name();
  Split<Scalar>* split = nullptr;
  if constexpr (std::is_same_v<Scalar, float>) {
    split = &single_;
  } else {
    split = &double_;
  }
  if (key_ == key) return *split;
  // Free the previous data before loading the next.
  key_.clear();
  single_ = {};
  double_ = {};
  // Each rank reads its own samples (independent reads): a failure on one reaches all.
  world.local_phase("train: load", [&] {
    split->first = std::make_shared<const PairSet<Scalar>>(
        load_pairs<Scalar>(world, reader, level, 0, plan.training_samples));
    split->second = std::make_shared<const PairSet<Scalar>>(
        load_pairs<Scalar>(world, reader, level, plan.training_samples, plan.validation_samples));
  });
  key_ = key;
  return *split;
}

template <typename Scalar>
TrainingPairs<Scalar> open_training_pairs(const Comm& world, const io::DatasetReader& reader,
                                          int level, const DataPlan& plan, PairCache& cache) {
  const int64_t per_sample = plan.pairs_per_sample;
  if (plan.streamed) {
    auto window_loader = [&world, &reader, level, per_sample](int64_t split_offset) {
      return [&world, &reader, level, per_sample, split_offset](int64_t first, int64_t count) {
        PairSet<Scalar> set;
        world.local_phase("train: load", [&] {
          set = load_pairs<Scalar>(world, reader, level, split_offset + first, count);
        });
        set.first += static_cast<uint64_t>(first * per_sample);  // ids from the split's start
        return set;
      };
    };
    return {PairSource<Scalar>(plan.training_samples, plan.window_samples, per_sample,
                               window_loader(0)),
            PairSource<Scalar>(plan.validation_samples, plan.window_samples, per_sample,
                               window_loader(plan.training_samples)),
            0.0};
  }
  const double start = wall_seconds();
  const auto& [train_pairs, validation_pairs] = cache.pairs<Scalar>(world, reader, level, plan);
  const double seconds = world.max(wall_seconds() - start);
  return {PairSource<Scalar>(train_pairs, per_sample),
          PairSource<Scalar>(validation_pairs, per_sample), seconds};
}

template PairSet<float> load_pairs<float>(const Comm&, const io::DatasetReader&, int, int64_t,
                                          int64_t);
template PairSet<double> load_pairs<double>(const Comm&, const io::DatasetReader&, int, int64_t,
                                            int64_t);
template const PairCache::Split<float>& PairCache::pairs<float>(const Comm&,
                                                                const io::DatasetReader&, int,
                                                                const DataPlan&);
template const PairCache::Split<double>& PairCache::pairs<double>(const Comm&,
                                                                  const io::DatasetReader&, int,
                                                                  const DataPlan&);
template TrainingPairs<float> open_training_pairs<float>(const Comm&, const io::DatasetReader&, int,
                                                         const DataPlan&, PairCache&);
template TrainingPairs<double> open_training_pairs<double>(const Comm&, const io::DatasetReader&,
                                                           int, const DataPlan&, PairCache&);

}  // namespace rgflow::train
