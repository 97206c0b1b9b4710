// A trained block model applied to whole fields: every block of a field through the network in
// batches, with the vectorised kernels training uses (Network<Scalar>::forward: Eigen matrix
// products and packet activations). Scalar = float runs the float32 kernels of training; the
// analysis picks it when both the model and the data are stored as float32 (see
// analysis_precision). Float32 predictions agree with double ones to about 1e-6 relative
// (tested: tests/unit/test_field_model.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rgflow/nn/network.hpp"
#include "rgflow/nn/symmetric_model.hpp"

namespace rgflow::analysis {

/// "float32" when the model's stored parameters and the data are both float32 (nothing is
/// rounded that was not already float32), else "float64".
std::string analysis_precision(const std::string& model_scalar, const std::string& data_dtype);

template <typename Scalar>
class FieldModel {
 public:
  /// Copies `network`'s parameters into a Scalar model (a float32 model stored and widened to
  /// double narrows back exactly).
  explicit FieldModel(const nn::Network<double>& network);

  /// out[p] = f(block p) for the blocks of one field of side `side` (d = `dim` axes, row-major),
  /// times nothing: p runs over the coarse sites in row-major order, `out` is resized to
  /// (side / block_side)^dim values. The symmetry strategy applies (average, canonical).
  template <typename Value>
  void coarse_grain(int dim, int64_t side, const Value* field, std::vector<Scalar>& out);

  /// Blocks processed per network call (keeps the activations in cache).
  static constexpr int64_t kBatch = 2048;

 private:
  nn::SymmetricModel<Scalar> model_;
  nn::Matrix<Scalar> blocks_;
  nn::Matrix<Scalar> batch_;
  typename nn::Network<Scalar>::Tape tape_;
};

}  // namespace rgflow::analysis
