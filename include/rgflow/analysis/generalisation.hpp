// Generalisation (docs/science.md section 7): a model's mean squared error on its own level pair
// (level_input k -> k+1) of every test set, each test set read with its own geometry (models are
// block-local, so any side works); and the learned flow, the model applied again and again from
// the data's level k. Pure kernels and planning: no MPI, no files. The driver sums per-sample
// errors over ranks (each sample's sum made by one rank), so totals are rank-count independent.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rgflow/analysis/cumulant_flow.hpp"
#include "rgflow/analysis/field_model.hpp"
#include "rgflow/analysis/grouped_moments.hpp"
#include "rgflow/analysis/moments.hpp"
#include "rgflow/analysis/spin_observables.hpp"
#include "rgflow/lattice/geometry.hpp"

namespace rgflow::analysis {

/// What the planner needs of a model.
struct GeneralisationModel {
  std::string name;
  int level_input = 0;           // the model maps level k -> k+1
  bool trained_on_data = false;  // its training dataset is the analysis's -data
  int64_t training_samples = 0;  // samples [0, training_samples) of it were trained on
};

/// What the planner needs of a dataset (the data or a test set).
struct GeneralisationData {
  std::string name;  // "data" or the test set's file stem
  int levels = 0;    // coarse levels K
  int64_t samples = 0;
};

/// One entry of the table: samples [first_sample, first_sample + count) of dataset `source`
/// (0 the data, e the e-th test set), inputs of level `level` and targets of level + 1, both
/// multiplied by `scale`; or, when `note` is not empty, no entry (NaN) and why.
struct GeneralisationCell {
  int source = 0;
  int level = 0;
  int64_t first_sample = 0, count = 0;
  double scale = 1;
  std::string note;
};

struct GeneralisationPlan {
  std::vector<std::string> tests;  // data, the test sets' names, data_x2, data_x0.5
  std::vector<std::vector<GeneralisationCell>> cells;  // [model][test]
};

/// The columns: `data` (the held-out samples of the data when the model was trained on it, all
/// of them otherwise), one per test set (all samples), `data_x2` and `data_x0.5` (the `data`
/// samples with inputs and targets scaled; the exact map is linear). Every entry uses the
/// model's own level pair. A test set without level k+1, or a `data` column with no held-out
/// sample (a model trained with -val_fraction 0 on the data), gets a note instead of a value.
GeneralisationPlan plan_generalisation(const std::vector<GeneralisationModel>& models,
                                       const GeneralisationData& data,
                                       const std::vector<GeneralisationData>& test_sets);

/// One-line text of what the columns of the table mean (written as an attribute).
std::string generalisation_description();

/// Sum over the blocks of one sample of (f(scale x) - scale y)^2, x the sample's field at the
/// input level (side `side`, d = `dim`) and y its next level. Residuals summed in double.
template <typename Scalar, typename Value>
double sample_squared_error(FieldModel<Scalar>& model, int dim, int64_t side, const Value* fine,
                            const Value* coarse, double scale);

/// The same on a slab of a sample: `rows` sites along axis 0 (whole blocks), `side` along the
/// others; `coarse` is the slab's next level. Blocks in the slab's row-major order.
template <typename Scalar, typename Value>
double slab_squared_error(FieldModel<Scalar>& model, int dim, int64_t rows, int64_t side,
                          const Value* fine, const Value* coarse, double scale);

/// Mean squared error from the per-sample sums (summed in sample order), NaN for no samples.
double mean_squared_error(const std::vector<double>& sample_sums, int64_t blocks_per_sample);

/// The learned levels of one sample: table level 0 of `sink` gets the start field (the data at
/// the model's input level k, side `side`), table level j the field after j applications of the
/// model, j = 1..levels - 1 (the side shrinks by the block side each time).
template <typename Scalar, typename Value>
void add_learned_levels(FieldModel<Scalar>& model, int dim, int64_t side, int64_t block_side,
                        const std::vector<Value>& start, int levels, LevelSink& sink);

/// The learned levels of a slab (`rows` sites along axis 0, `side` along the others, whole
/// blocks of every learned level): add_level(j, rows_j, side_j, values, count) gets the start
/// slab for j = 0 (values of type Value) and the slab after j applications of the model for
/// j = 1..levels - 1 (values of type Scalar), in that order.
template <typename Scalar, typename Value, typename AddLevel>
void add_learned_slab_levels(FieldModel<Scalar>& model, int dim, int64_t rows, int64_t side,
                             int64_t block_side, const Value* start, int levels,
                             AddLevel&& add_level) {
  int64_t count = rows;
  for (int axis = 1; axis < dim; ++axis) count *= side;
  add_level(0, rows, side, start, static_cast<size_t>(count));
  thread_local std::vector<Scalar> current, next;
  for (int level = 1; level < levels; ++level) {
    if (level == 1) {
      model.coarse_grain_slab(dim, rows, side, start, next);
    } else {
      model.coarse_grain_slab(dim, rows, side, current.data(), next);
    }
    rows /= block_side;
    side /= block_side;
    add_level(level, rows, side, next.data(), next.size());
    std::swap(current, next);
  }
}

/// kappa_n of the data's level k under the exact recursion, lambda_n^k kappa_n(distribution),
/// as the `exact_cumulant` of a flow whose first row is level k; NaN where unknown.
/// `level0_exact(n)` is kappa_n of the level-0 distribution (NaN if unknown).
std::function<double(int)> exact_cumulant_at_level(std::function<double(int)> level0_exact,
                                                   int level, double sites_per_block,
                                                   double block_side, double scaling_dimension);

/// A model's learned flow: row j of its tables is the data's level first_level + j after j
/// applications of the model (row 0 is the data itself); `note` says why there is none.
struct LearnedFlow {
  int first_level = 0;
  std::string note;
  CumulantFlow flow;
  SpinObservableFlow spins;  // fields of spins only (no levels otherwise)
};

/// The learned flow of a model mapping level `level_input` -> + 1, from its table summed over
/// ranks (null when the data of geometry `data` have no level above level_input: then the note
/// says so), against the exact recursion from the data's level `level_input`
/// (exact_cumulant_at_level of `level0_exact`).
LearnedFlow learned_flow(const GroupedMoments* table, int level_input,
                         const lattice::Geometry& data, double scaling_dimension,
                         const std::function<double(int)>& level0_exact);

}  // namespace rgflow::analysis
