#include "rgflow/analysis/affine_chain.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "rgflow/nn/symmetry_group.hpp"

namespace rgflow::analysis {

using nn::Matrix;
using nn::Vector;

std::vector<Vector<double>> AffineChain::forward(const Vector<double>& x) const {
  std::vector<Vector<double>> outputs;
  Vector<double> h = x;
  for (const auto& layer : layers) {
    Vector<double> z = layer.weight * h + layer.bias;
    if (layer.activate) {
      for (Eigen::Index a = 0; a < z.size(); ++a) z(a) = nn::activation_value(activation, z(a));
    }
    outputs.push_back(z);
    h = z;
  }
  return outputs;
}

namespace {

// The elements of the block's point group (identity excluded) that map the graph onto itself:
// g(i) and g(j) are neighbours exactly when i and j are (list sizes, which mean aggregation
// divides by, follow). An equivariant graph layer commutes with these on i.i.d. inputs.
std::vector<nn::Permutation> graph_symmetries(const nn::Network<double>& network) {
  const auto& neighbours = network.neighbours();
  const int nodes = network.inputs();
  std::vector<std::vector<char>> adjacent(static_cast<size_t>(nodes),
                                          std::vector<char>(static_cast<size_t>(nodes), 0));
  for (int i = 0; i < nodes; ++i) {
    for (int j : neighbours[static_cast<size_t>(i)]) {
      adjacent[static_cast<size_t>(i)][static_cast<size_t>(j)] = 1;
    }
  }
  std::vector<nn::Permutation> kept;
  const auto group = nn::point_group(network.spec().block);
  for (size_t k = 1; k < group.size(); ++k) {  // the identity comes first
    const nn::Permutation& g = group[k];
    bool preserves = static_cast<int>(g.size()) == nodes;
    for (int i = 0; preserves && i < nodes; ++i) {
      for (int j = 0; preserves && j < nodes; ++j) {
        preserves = adjacent[static_cast<size_t>(i)][static_cast<size_t>(j)] ==
                    adjacent[static_cast<size_t>(g[static_cast<size_t>(i)])]
                            [static_cast<size_t>(g[static_cast<size_t>(j)])];
      }
    }
    if (preserves) kept.push_back(g);
  }
  return kept;
}

}  // namespace

AffineChain affine_chain(const nn::Network<double>& network) {
  const auto& spec = network.spec();
  AffineChain chain;
  chain.activation = spec.activation;
  const int layers = network.layer_count();
  auto bias_of = [&](int layer, Eigen::Index rows) {
    return spec.bias ? network.bias(layer) : Vector<double>(Vector<double>::Zero(rows));
  };
  if (spec.kind == nn::ModelKind::kMlp) {
    for (int l = 0; l < layers; ++l) {
      AffineLayer layer;
      layer.weight = network.weight(l);
      layer.bias = bias_of(l, layer.weight.rows());
      layer.activate = l + 1 < layers;
      chain.layers.push_back(layer);
    }
    return chain;
  }
  // Graph network on node-major stacked features.
  const int nodes = network.inputs();
  const auto& neighbours = network.neighbours();
  const std::vector<nn::Permutation> node_symmetries = graph_symmetries(network);
  for (int l = 0; l + 1 < layers; ++l) {
    const Matrix<double> self = network.weight(l);
    const Matrix<double> other = network.neighbour_weight(l);
    const Eigen::Index out = self.rows(), in = self.cols();
    AffineLayer layer;
    layer.weight = Matrix<double>::Zero(nodes * out, nodes * in);
    layer.bias = Vector<double>(nodes * out);
    const Vector<double> b = bias_of(l, out);
    for (int i = 0; i < nodes; ++i) {
      layer.weight.block(i * out, i * in, out, in) += self;
      const auto& list = neighbours[static_cast<size_t>(i)];
      const double scale = spec.mean_aggregation && !list.empty() ? 1.0 / double(list.size()) : 1.0;
      for (int j : list) layer.weight.block(i * out, j * in, out, in) += scale * other;
      layer.bias.segment(i * out, out) = b;
    }
    layer.activate = true;
    for (const nn::Permutation& g : node_symmetries) {  // unit (i, f) -> (g(i), f)
      std::vector<int> image(static_cast<size_t>(nodes * out));
      for (int i = 0; i < nodes; ++i) {
        for (Eigen::Index f = 0; f < out; ++f) {
          image[static_cast<size_t>(i * out + f)] =
              static_cast<int>(g[static_cast<size_t>(i)] * out + f);
        }
      }
      layer.symmetries.push_back(std::move(image));
    }
    chain.layers.push_back(layer);
  }
  const Matrix<double> readout = network.weight(layers - 1);
  const Eigen::Index width = readout.cols();
  AffineLayer last;
  last.weight = Matrix<double>(readout.rows(), nodes * width);
  for (int i = 0; i < nodes; ++i) {
    last.weight.block(0, i * width, readout.rows(), width) =
        spec.mean_pooling ? Matrix<double>(readout / double(nodes)) : readout;
  }
  last.bias = bias_of(layers - 1, readout.rows());
  chain.layers.push_back(last);
  return chain;
}

Matrix<double> chain_activations(const nn::Network<double>& network,
                                 const nn::Network<double>::Tape& tape, int layer) {
  const int layers = network.layer_count();
  if (layer + 1 == layers) return tape.output;
  const Matrix<double>& h = tape.h[static_cast<size_t>(layer + 1)];
  if (network.spec().kind == nn::ModelKind::kMlp) return h;
  // Graph features: width x (B N), column s N + i; the chain's unit (i, f) is i * width + f,
  // which is the memory order of the block's N columns.
  const Eigen::Index nodes = network.inputs();
  const Eigen::Index blocks = h.cols() / nodes;
  return Eigen::Map<const Matrix<double>>(h.data(), h.rows() * nodes, blocks);
}

JointCumulants affine_cumulants(const JointCumulants& in, const AffineLayer& layer) {
  const Matrix<double>& w = layer.weight;
  const int out_width = static_cast<int>(w.rows());
  const int in_width = static_cast<int>(w.cols());
  JointCumulants out;
  out.width = out_width;
  out.kappa.resize(in.kappa.size());
  for (size_t k = 0; k < in.kappa.size(); ++k) {
    const int order = static_cast<int>(k) + 1;
    if (in.kappa[k].empty()) continue;
    // Apply W along one axis at a time: axis j of (out^j x in^(order-j)) becomes an out axis.
    std::vector<double> current = in.kappa[k];
    for (int axis = 0; axis < order; ++axis) {
      const int64_t before = tensor_size(out_width, axis);
      const int64_t after = tensor_size(in_width, order - axis - 1);
      std::vector<double> next(static_cast<size_t>(before * out_width * after), 0.0);
      for (int64_t p = 0; p < before; ++p) {
        for (int a = 0; a < out_width; ++a) {
          double* target = next.data() + (p * out_width + a) * after;
          for (int i = 0; i < in_width; ++i) {
            const double weight = w(a, i);
            if (weight == 0) continue;
            const double* source = current.data() + (p * in_width + i) * after;
            for (int64_t q = 0; q < after; ++q) target[q] += weight * source[q];
          }
        }
      }
      current.swap(next);
    }
    if (order == 1) {
      for (int a = 0; a < out_width; ++a) current[static_cast<size_t>(a)] += layer.bias(a);
    }
    out.kappa[k] = std::move(current);
  }
  return out;
}

std::vector<double> linear_weight_power_sums(const AffineChain& chain, int orders) {
  Matrix<double> effective = Matrix<double>::Identity(chain.inputs(), chain.inputs());
  for (const auto& layer : chain.layers) effective = layer.weight * effective;
  std::vector<double> sums(static_cast<size_t>(orders), 0.0);
  for (int n = 1; n <= orders; ++n) {
    for (Eigen::Index i = 0; i < effective.cols(); ++i) {
      sums[static_cast<size_t>(n - 1)] += std::pow(effective(0, i), n);
    }
  }
  return sums;
}

}  // namespace rgflow::analysis
