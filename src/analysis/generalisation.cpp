#include "rgflow/analysis/generalisation.hpp"

#include <cmath>
#include <limits>

#include "rgflow/coarse/block_pairs.hpp"

namespace rgflow::analysis {

GeneralisationPlan plan_generalisation(const std::vector<GeneralisationModel>& models,
                                       const GeneralisationData& data,
                                       const std::vector<GeneralisationData>& test_sets) {
  GeneralisationPlan plan;
  plan.tests.push_back("data");
  for (const auto& test : test_sets) plan.tests.push_back(test.name);
  plan.tests.push_back("data_x2");
  plan.tests.push_back("data_x0.5");
  const size_t columns = plan.tests.size();
  for (const auto& model : models) {
    const int k = model.level_input;
    const std::string pair =
        "level " + std::to_string(k) + " -> " + std::to_string(k + 1) + " (the model's pair)";
    std::vector<GeneralisationCell> row(columns);
    for (size_t t = 0; t < columns; ++t) {
      GeneralisationCell& cell = row[t];
      cell.level = k;
      const bool from_data = t == 0 || t + 2 >= columns;
      const GeneralisationData& source = from_data ? data : test_sets[t - 1];
      cell.source = from_data ? 0 : static_cast<int>(t);
      cell.scale = t + 2 == columns ? 2.0 : t + 1 == columns ? 0.5 : 1.0;
      cell.first_sample = from_data && model.trained_on_data ? model.training_samples : 0;
      cell.count = std::max<int64_t>(source.samples - cell.first_sample, 0);
      if (source.levels < k + 1) {
        cell.note = "'" + source.name + "' has no level " + std::to_string(k + 1) + " for " + pair;
      } else if (cell.count == 0) {
        cell.note = "'" + model.name +
                    "' was trained on every sample of the data (-val_fraction 0): no held-out "
                    "samples to test on";
      }
    }
    plan.cells.push_back(row);
  }
  return plan;
}

std::string generalisation_description() {
  return "mean squared error of each model's predictions on its own level pair (level_input k "
         "of model.h5 -> k+1), every test set read with its own side. Columns: 'data' = the "
         "held-out samples [training_samples, n_samples) of the data when the model was trained "
         "on it, all its samples otherwise; one column per -eval_data file (file stem) = all its "
         "samples; 'data_x2' and 'data_x0.5' = the 'data' samples with inputs and targets "
         "multiplied by 2 and 1/2. NaN where attribute 'notes' says why (no held-out samples, "
         "a test set without level k+1)";
}

template <typename Scalar, typename Value>
double sample_squared_error(FieldModel<Scalar>& model, int dim, int64_t side, const Value* fine,
                            const Value* coarse, double scale) {
  return slab_squared_error(model, dim, side, side, fine, coarse, scale);
}

template <typename Scalar, typename Value>
double slab_squared_error(FieldModel<Scalar>& model, int dim, int64_t rows, int64_t side,
                          const Value* fine, const Value* coarse, double scale) {
  thread_local std::vector<Value> scaled;
  thread_local std::vector<Scalar> predicted;
  const Value* input = fine;
  if (scale != 1.0) {
    int64_t sites = rows;
    for (int axis = 1; axis < dim; ++axis) sites *= side;
    scaled.resize(static_cast<size_t>(sites));
    for (int64_t i = 0; i < sites; ++i) scaled[static_cast<size_t>(i)] = Value(scale) * fine[i];
    input = scaled.data();
  }
  model.coarse_grain_slab(dim, rows, side, input, predicted);
  double sum = 0;
  for (size_t p = 0; p < predicted.size(); ++p) {
    const double residual = double(predicted[p]) - scale * double(coarse[p]);
    sum += residual * residual;
  }
  return sum;
}

double mean_squared_error(const std::vector<double>& sample_sums, int64_t blocks_per_sample) {
  if (sample_sums.empty()) return std::numeric_limits<double>::quiet_NaN();
  double total = 0;
  for (double v : sample_sums) total += v;
  return total / (double(sample_sums.size()) * double(blocks_per_sample));
}

template <typename Scalar, typename Value>
void add_learned_levels(FieldModel<Scalar>& model, int dim, int64_t side, int64_t block_side,
                        const std::vector<Value>& start, int levels, LevelSink& sink) {
  add_learned_slab_levels(model, dim, side, side, block_side, start.data(), levels,
                          [&](int level, int64_t, int64_t level_side, const auto* values,
                              size_t count) { sink.add(level, level_side, values, count); });
}

std::function<double(int)> exact_cumulant_at_level(std::function<double(int)> level0_exact,
                                                   int level, double sites_per_block,
                                                   double block_side, double scaling_dimension) {
  return [=](int n) {
    const double lambda = sites_per_block * std::pow(block_side, -n * scaling_dimension);
    return std::pow(lambda, double(level)) * level0_exact(n);
  };
}

LearnedFlow learned_flow(const GroupedMoments* table, int level_input,
                         const lattice::Geometry& data, double scaling_dimension,
                         const std::function<double(int)>& level0_exact) {
  LearnedFlow learned;
  learned.first_level = level_input;
  const double sites = static_cast<double>(data.sites_per_block());
  const double side = static_cast<double>(data.block_side);
  if (table == nullptr) {
    learned.note = "the model maps level " + std::to_string(level_input) + " -> " +
                   std::to_string(level_input + 1) + "; the data have levels 0.." +
                   std::to_string(data.levels);
  } else {
    learned.flow = cumulant_flow(
        table->by_level(), sites, side, scaling_dimension,
        exact_cumulant_at_level(level0_exact, level_input, sites, side, scaling_dimension));
  }
  return learned;
}

template double sample_squared_error(FieldModel<float>&, int, int64_t, const float*, const float*,
                                     double);
template double sample_squared_error(FieldModel<double>&, int, int64_t, const double*,
                                     const double*, double);
template double sample_squared_error(FieldModel<double>&, int, int64_t, const float*, const float*,
                                     double);
template double slab_squared_error(FieldModel<float>&, int, int64_t, int64_t, const float*,
                                   const float*, double);
template double slab_squared_error(FieldModel<double>&, int, int64_t, int64_t, const double*,
                                   const double*, double);
template double slab_squared_error(FieldModel<double>&, int, int64_t, int64_t, const float*,
                                   const float*, double);
template void add_learned_levels(FieldModel<float>&, int, int64_t, int64_t,
                                 const std::vector<float>&, int, LevelSink&);
template void add_learned_levels(FieldModel<double>&, int, int64_t, int64_t,
                                 const std::vector<double>&, int, LevelSink&);
template void add_learned_levels(FieldModel<double>&, int, int64_t, int64_t,
                                 const std::vector<float>&, int, LevelSink&);

}  // namespace rgflow::analysis
