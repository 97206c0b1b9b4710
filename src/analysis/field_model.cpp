#include "rgflow/analysis/field_model.hpp"

#include <algorithm>
#include <chrono>

#include "rgflow/coarse/block_pairs.hpp"

namespace rgflow::analysis {

std::string analysis_precision(const std::string& model_scalar, const std::string& data_dtype) {
  return model_scalar == "float32" && data_dtype == "float32" ? "float32" : "float64";
}

namespace {

bool plain_strategy(const nn::ModelSpec& spec) {
  return spec.strategy != nn::Strategy::kAverage && spec.strategy != nn::Strategy::kCanonical;
}

}  // namespace

template <typename Scalar>
FieldModel<Scalar>::FieldModel(const nn::Network<double>& network) : model_(network.spec()) {
  Scalar* target = model_.network().parameters();
  for (Eigen::Index i = 0; i < network.parameter_count(); ++i) {
    target[i] = static_cast<Scalar>(network.parameters()[i]);
  }
  if (!plain_strategy(network.spec())) return;
  // The chain from the Scalar network's parameters (a float32 model narrowed above is exact), so
  // both paths start from the same numbers.
  const AffineChain chain = affine_chain(network);
  activation_ = chain.activation;
  for (const auto& layer : chain.layers) {
    chain_.push_back(
        {layer.weight.template cast<Scalar>(), layer.bias.template cast<Scalar>(), layer.activate});
  }
  units_.resize(chain_.size());
}

template <typename Scalar>
template <typename Value>
void FieldModel<Scalar>::coarse_grain(int dim, int64_t side, const Value* field,
                                      std::vector<Scalar>& out) {
  coarse_grain_slab(dim, side, side, field, out);
}

template <typename Scalar>
template <typename Value>
void FieldModel<Scalar>::coarse_grain_slab(int dim, int64_t rows, int64_t side, const Value* field,
                                           std::vector<Scalar>& out) {
  const int64_t block_side = model_.spec().block.side;
  const int64_t pairs = rows / block_side * coarse::pairs_per_sample(dim - 1, side, block_side);
  const Eigen::Index sites = model_.network().inputs();
  blocks_.resize(sites, pairs);
  coarse::extract_slab_blocks(dim, rows, side, block_side, field, blocks_.data());
  out.resize(static_cast<size_t>(pairs));
  const bool plain = !chain_.empty();
  for (int64_t first = 0; first < pairs; first += kBatch) {
    const int64_t count = std::min(kBatch, pairs - first);
    if (plain) {
      for (size_t l = 0; l < chain_.size(); ++l) {
        auto& out_units = units_[l];
        if (l == 0) {
          out_units.noalias() = chain_[l].weight * blocks_.middleCols(first, count);
        } else {
          out_units.noalias() = chain_[l].weight * units_[l - 1];
        }
        out_units.colwise() += chain_[l].bias;
        if (chain_[l].activate) {
          nn::apply_activation(activation_, out_units.data(), static_cast<Scalar*>(nullptr),
                               out_units.size());
        }
      }
      std::copy(units_.back().data(), units_.back().data() + count, out.begin() + first);
    } else {
      batch_ = blocks_.middleCols(first, count);
      const nn::Matrix<Scalar> y = model_.predict(batch_);
      std::copy(y.data(), y.data() + count, out.begin() + first);
    }
  }
}

template class FieldModel<float>;
template class FieldModel<double>;
template void FieldModel<float>::coarse_grain(int, int64_t, const float*, std::vector<float>&);
template void FieldModel<float>::coarse_grain(int, int64_t, const double*, std::vector<float>&);
template void FieldModel<double>::coarse_grain(int, int64_t, const float*, std::vector<double>&);
template void FieldModel<double>::coarse_grain(int, int64_t, const double*, std::vector<double>&);
template void FieldModel<float>::coarse_grain_slab(int, int64_t, int64_t, const float*,
                                                   std::vector<float>&);
template void FieldModel<float>::coarse_grain_slab(int, int64_t, int64_t, const double*,
                                                   std::vector<float>&);
template void FieldModel<double>::coarse_grain_slab(int, int64_t, int64_t, const float*,
                                                    std::vector<double>&);
template void FieldModel<double>::coarse_grain_slab(int, int64_t, int64_t, const double*,
                                                    std::vector<double>&);

}  // namespace rgflow::analysis
