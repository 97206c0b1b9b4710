// Cumulant propagation through one trained model (docs/science.md section 4), end to end: the
// predictions of every mode that applies, and the Monte Carlo estimates from the network's own
// activations on blocks of the data's level the model was trained on, with delete-one jackknife
// errors over the groups of samples (analysis::jackknife). The Monte Carlo tuple sums are made
// per jackknife group by the one rank that owns it, in sample order; the caller sums buffer()
// over ranks (zeros elsewhere: exact), so the results are bit-identical for any rank count.
// No MPI and no files here: samples come through a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rgflow/analysis/propagation.hpp"
#include "rgflow/field/distribution.hpp"
#include "rgflow/lattice/geometry.hpp"
#include "rgflow/nn/network.hpp"

namespace rgflow::analysis {

struct PropagationOptions {
  std::string modes = "auto";  // auto, exact, taylor, gauss, all (none: the caller skips)
  PropagationSettings settings;
  int max_width = 32;
  int64_t blocks = 32768;  // Monte Carlo blocks, spread over the jackknife groups
};

/// Predictions next to the Monte Carlo estimates, as written to /propagation/<model>.
struct PropagationReport {
  std::string skipped;  // why no propagation was done ("" if it was)
  int input_level = 0;
  int64_t blocks = 0;                   // Monte Carlo sample size
  std::vector<std::string> modes;       // exact, taylor, gauss (those that applied)
  std::vector<std::string> mode_notes;  // per mode: "" or why it was not done
  std::vector<std::string> layers;      // hidden_1, ..., output
  std::vector<double> widths;           // per layer
  std::vector<std::vector<std::vector<double>>>
      relative_error;                                   // mode, layer, order 1..4 (NaN: none)
  std::vector<std::vector<double>> mc_relative_error;   // layers x 4: ||MC error|| / ||MC||
  std::vector<std::vector<double>> output_predicted;    // per mode: kappa_1..4 of the output
  std::vector<double> output_mc, output_mc_error;       // kappa_1..4
  std::vector<std::vector<double>> marginal_predicted;  // per mode: units x 4, flattened
  std::vector<double> marginal_mc, marginal_mc_error;   // units x 4, flattened
  std::vector<double> marginal_layer;                   // per unit: its layer (0-based)
  std::vector<double> linear_power_sums;                // identity networks: sum_i w_i^n, n = 1..8
  std::vector<double> linear_expected;                  // N b^(-n Delta)
};

/// The data the Monte Carlo draws its blocks from.
struct PropagationData {
  lattice::Geometry geometry;
  field::Distribution distribution;
  double scaling_dimension = 1;
  int64_t samples = 0;
  /// Jackknife groups of space (slabs of top-level block rows of every sample) rather than of
  /// samples (as analysis::GroupedMoments forms them).
  bool space_groups = false;
};

/// Use: construct (plans the modes), predict() every mode (each may run on another rank and be
/// handed over with prediction_bytes / set_prediction), prepare_monte_carlo(), then
/// fill_owned_groups on every rank, sum buffer() over ranks, finish().
class ModelPropagation {
 public:
  /// Plans the propagation of `network` fed with level `level` of the data: the modes that
  /// apply. The report says `skipped` when nothing applies (average/canonical strategies, a
  /// layer wider than max_width, a level the data lack).
  ModelPropagation(const nn::Network<double>& network, int level, const PropagationData& data,
                   const PropagationOptions& options, int64_t groups);

  bool skipped() const { return !report_.skipped.empty(); }
  /// Modes planned (0 when skipped).
  size_t mode_count() const { return modes_.size(); }
  /// A rough relative cost of predicting mode `m` (for sharing predictions out over ranks).
  double prediction_cost(size_t m) const;
  /// The predictions of mode `m` (or the note saying why the mode does not apply).
  void predict(size_t m);
  /// Mode m's predictions and note as bytes, and their inverse: a prediction made on one rank,
  /// handed to the others bit for bit.
  std::string prediction_bytes(size_t m) const;
  void set_prediction(size_t m, const std::string& bytes);
  /// After every mode's prediction is in: the Monte Carlo centre and buffer (or `skipped` when no
  /// mode applied).
  void prepare_monte_carlo();

  /// Reads one sample's values of the model's level on rows [first_row, first_row + rows) of
  /// the top-level block grid (axis 0; whole along the other axes, row-major) into `field`.
  using RowsReader = std::function<void(int64_t sample, int64_t first_row, int64_t rows,
                                        std::vector<double>& field)>;
  /// Tuple sums of the jackknife groups owned by `rank` of `ranks` into buffer(), taking up to
  /// ceil(blocks / groups) blocks from the first samples of each group (space groups: from the
  /// group's slab of the first samples); reads only the top-level block rows that hold them.
  /// Group g is owned by rank (first_owner + g) mod ranks: the models of an analysis start
  /// where the previous one's groups ended, so more ranks than groups all work.
  void fill_owned_groups(int rank, int ranks, const RowsReader& read, int64_t first_owner = 0);
  /// Per group: the block count, then the tuple sums of every layer; zero where not owned.
  std::vector<double>& buffer() { return buffer_; }
  /// The report, from buffer() summed over ranks.
  PropagationReport finish();

 private:
  const nn::Network<double>& network_;
  PropagationData data_;
  PropagationOptions options_;
  int64_t groups_;
  int level_;
  AffineChain chain_;
  std::vector<PropagationMode> modes_;
  std::vector<double> site_moments_;
  std::vector<std::vector<JointCumulants>> predicted_;  // per mode (empty: not done)
  size_t usable_ = 0;                                   // the first mode done: the MC centre
  std::vector<size_t> offsets_;                         // per layer, into a group's slot
  std::vector<double> buffer_;
  PropagationReport report_;
};

/// One prediction of the propagation (model `model`'s mode `mode`) and the rank that makes it.
struct PredictionTask {
  size_t model = 0, mode = 0;
  int owner = 0;
};

/// The predictions of every (model, mode) of `runs` shared out over `ranks` ranks: largest
/// prediction_cost first (ties in model then mode order), each to the rank with the least work
/// so far (the lowest such rank); in that order. The same on every rank.
std::vector<PredictionTask> share_predictions(
    const std::vector<std::unique_ptr<ModelPropagation>>& runs, int ranks);

}  // namespace rgflow::analysis
