// A trained block model applied to whole fields: every block of a field through the network in
// batches. The network is applied as its affine chain (analysis/affine_chain.hpp: a graph layer
// is one dense matrix on the stacked node features, pooling and readout one more), so every
// layer is one Eigen matrix product followed by the packet activation, values only: no
// neighbour loops and no derivatives, which training needs and inference does not. Scalar =
// float runs in float32; the analysis picks it when both the model and the data are stored as
// float32 (see analysis_precision). Float32 predictions agree with double ones to about 1e-6
// relative (tested: tests/unit/test_analysis_layer.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rgflow/analysis/affine_chain.hpp"
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
  /// The same on a slab of a field: `rows` sites along axis 0 (a multiple of the block side),
  /// `side` along the others; out holds (rows / b) (side / b)^(d-1) values, row-major. Blocks are
  /// batched from the slab's first block, so a slab that is a whole field gives coarse_grain's
  /// bits.
  template <typename Value>
  void coarse_grain_slab(int dim, int64_t rows, int64_t side, const Value* field,
                         std::vector<Scalar>& out);

  /// Blocks processed per network call (keeps the activations in cache).
  static constexpr int64_t kBatch = 2048;

 private:
  struct Layer {
    nn::Matrix<Scalar> weight;
    nn::Vector<Scalar> bias;
    bool activate = false;
  };

  nn::SymmetricModel<Scalar> model_;
  std::vector<Layer> chain_;  // the network's affine chain in Scalar (plain strategies only)
  nn::Activation activation_ = nn::Activation::kIdentity;
  nn::Matrix<Scalar> blocks_;
  nn::Matrix<Scalar> batch_;
  std::vector<nn::Matrix<Scalar>> units_;  // per layer, one batch's outputs
};

}  // namespace rgflow::analysis
