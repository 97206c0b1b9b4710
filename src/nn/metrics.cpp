#include "rgflow/nn/metrics.hpp"

#include <stdexcept>
#include <string>

namespace rgflow::nn {
namespace {

using MatrixD = Matrix<double>;

template <typename Scalar>
MatrixD outputs(const Network<Scalar>& net, const Matrix<Scalar>& x) {
  typename Network<Scalar>::Tape tape;
  net.forward(x, tape);
  return tape.output.template cast<double>();
}

// Node features of a graph layer, width x (B N) with column s N + i for node i of block s, as
// one stacked vector per block: (N width) x B, entry i * width + f. Column-major storage already
// holds each block's N columns one after the other, so this is a reshape.
MatrixD stack_nodes(const MatrixD& h, Eigen::Index nodes) {
  return Eigen::Map<const MatrixD>(h.data(), h.rows() * nodes, h.cols() / nodes);
}

// One (features x B) matrix per hidden layer, in double.
template <typename Scalar>
std::vector<MatrixD> hidden_features(const Network<Scalar>& net, const Matrix<Scalar>& x) {
  typename Network<Scalar>::Tape tape;
  net.forward(x, tape);
  const bool gnn = net.spec().kind == ModelKind::kGnn;
  std::vector<MatrixD> features;
  // tape.h[0] is the input; tape.h[1 .. layer_count() - 1] are the hidden layers' outputs.
  for (size_t layer = 1; layer < tape.h.size(); ++layer) {
    const MatrixD h = tape.h[layer].template cast<double>();
    features.push_back(gnn ? stack_nodes(h, net.inputs()) : h);
  }
  return features;
}

// E|h - E h|^2 with the expectation over the batch (the columns of h); population normalisation.
double centred_power(const MatrixD& h) {
  const Eigen::VectorXd mean = h.rowwise().mean();
  return (h.colwise() - mean).squaredNorm() / double(h.cols());
}

// |h(g.x) - g.h(x)|^2 summed over the batch's blocks; h and moved are width x (B N) node features
// of x and g.x. g.h puts node i's features on node g[i].
double equivariance_residual(const MatrixD& h, const MatrixD& moved, const Permutation& g) {
  const Eigen::Index nodes = static_cast<Eigen::Index>(g.size());
  double residual = 0;
  for (Eigen::Index s = 0; s < h.cols() / nodes; ++s) {
    for (Eigen::Index i = 0; i < nodes; ++i) {
      const Eigen::Index image = g[static_cast<size_t>(i)];
      residual += (moved.col(s * nodes + image) - h.col(s * nodes + i)).squaredNorm();
    }
  }
  return residual;
}

void check_batch(int inputs, Eigen::Index rows, Eigen::Index blocks) {
  if (rows != inputs || blocks < 1) {
    throw std::invalid_argument("symmetry metrics need a batch of at least one block of " +
                                std::to_string(inputs) + " sites, got " + std::to_string(rows) +
                                " x " + std::to_string(blocks));
  }
}

void check_group(const std::vector<Permutation>& group, int sites) {
  if (group.empty()) throw std::invalid_argument("symmetry metrics need a non-empty group");
  for (const auto& g : group) {
    if (static_cast<int>(g.size()) != sites) {
      throw std::invalid_argument("group element acts on " + std::to_string(g.size()) +
                                  " sites, the block has " + std::to_string(sites));
    }
  }
}

// Columns u_a (one per unit of hidden layer `layer`) of the order parameter: incoming weights
// (self, then neighbour for a graph layer), bias, and every weight that carries the unit's output:
// its column of the next layer's weights, and of the next layer's neighbour weights when that is
// a graph layer (a graph unit feeds its own node and its neighbours).
template <typename Scalar>
MatrixD unit_vectors(const Network<Scalar>& net, int layer) {
  const bool gnn = net.spec().kind == ModelKind::kGnn;
  MatrixD incoming = net.weight(layer).template cast<double>();  // units x fan-in
  if (gnn) {
    MatrixD both(incoming.rows(), 2 * incoming.cols());
    both << incoming, net.neighbour_weight(layer).template cast<double>();
    incoming = both;
  }
  MatrixD outgoing = net.weight(layer + 1).template cast<double>();  // fan-out x units
  const bool next_is_graph_layer = gnn && layer + 2 < net.layer_count();
  if (next_is_graph_layer) {
    MatrixD both(2 * outgoing.rows(), outgoing.cols());
    both << outgoing, net.neighbour_weight(layer + 1).template cast<double>();
    outgoing = both;
  }
  MatrixD u(incoming.cols() + 1 + outgoing.rows(), incoming.rows());
  u << incoming.transpose(), net.bias(layer).template cast<double>().transpose(), outgoing;
  return u;
}

}  // namespace

template <typename Scalar>
OutputSymmetryErrors output_symmetry_errors(const Network<Scalar>& net, const Matrix<Scalar>& x,
                                            int permutation_samples, uint64_t seed,
                                            double scale_factor) {
  check_batch(net.inputs(), x.rows(), x.cols());
  const MatrixD f = outputs(net, x);
  const double variance = centred_power(f);
  // E_x of difference^2 relative to Var f; 0/0 counts as 0 (a constant, exactly symmetric f).
  auto relative = [&](const MatrixD& difference) {
    const double power = difference.squaredNorm() / double(f.cols());
    return power == 0 ? 0.0 : power / variance;
  };
  auto group_error = [&](const std::vector<Permutation>& group) {
    double sum = 0;
    for (const auto& g : group) sum += relative(outputs(net, permute_blocks(x, g)) - f);
    return group.empty() ? 0.0 : sum / double(group.size());
  };
  std::vector<Permutation> sampled;
  for (int k = 0; k < permutation_samples; ++k) {
    sampled.push_back(random_permutation(net.inputs(), seed, static_cast<uint64_t>(k)));
  }
  OutputSymmetryErrors errors;
  errors.permutation = group_error(sampled);
  errors.point_group = group_error(point_group(net.spec().block));
  const Matrix<Scalar> negated = -x;
  errors.sign = relative(outputs(net, negated) + f);
  const Matrix<Scalar> scaled = Scalar(scale_factor) * x;
  // Dividing the residual by c before squaring is the c^2 of the definition.
  errors.scale = relative((outputs(net, scaled) - scale_factor * f) / scale_factor);
  return errors;
}

template <typename Scalar>
std::vector<double> invariant_fraction(const Network<Scalar>& net, const Matrix<Scalar>& x,
                                       const std::vector<Permutation>& group) {
  check_batch(net.inputs(), x.rows(), x.cols());
  check_group(group, net.inputs());
  const std::vector<MatrixD> plain = hidden_features(net, x);
  std::vector<MatrixD> averaged;
  for (const auto& h : plain) averaged.push_back(MatrixD::Zero(h.rows(), h.cols()));
  for (const auto& g : group) {
    const std::vector<MatrixD> moved = hidden_features(net, permute_blocks(x, g));
    for (size_t l = 0; l < plain.size(); ++l) averaged[l] += moved[l];
  }
  std::vector<double> fraction;
  for (size_t l = 0; l < plain.size(); ++l) {
    averaged[l] /= double(group.size());
    const double total = centred_power(plain[l]);
    // Features constant over the batch carry no variation to break: count them as invariant.
    fraction.push_back(total == 0 ? 1.0 : centred_power(averaged[l]) / total);
  }
  return fraction;
}

template <typename Scalar>
std::vector<double> equivariance_error(const Network<Scalar>& net, const Matrix<Scalar>& x,
                                       const std::vector<Permutation>& group) {
  if (net.spec().kind != ModelKind::kGnn) {
    throw std::invalid_argument("equivariance errors are defined for graph networks only");
  }
  check_batch(net.inputs(), x.rows(), x.cols());
  check_group(group, net.inputs());
  typename Network<Scalar>::Tape tape;
  net.forward(x, tape);
  std::vector<MatrixD> reference;  // graph layer l's node features at index l - 1
  for (size_t layer = 1; layer < tape.h.size(); ++layer) {
    reference.push_back(tape.h[layer].template cast<double>());
  }
  std::vector<double> error(reference.size(), 0.0);
  for (const auto& g : group) {
    net.forward(permute_blocks(x, g), tape);
    for (size_t l = 0; l < reference.size(); ++l) {
      const MatrixD moved = tape.h[l + 1].template cast<double>();
      const double norm = reference[l].squaredNorm();
      const double residual = equivariance_residual(reference[l], moved, g);
      error[l] += residual == 0 ? 0.0 : residual / norm;
    }
  }
  for (double& e : error) e /= double(group.size());
  return error;
}

template <typename Scalar>
std::vector<double> unit_order_parameter(const Network<Scalar>& net) {
  std::vector<double> order;
  for (int layer = 0; layer + 1 < net.layer_count(); ++layer) {
    const MatrixD u = unit_vectors(net, layer);
    const Eigen::Index units = u.cols();
    double spread = 0;
    for (Eigen::Index a = 0; a < units; ++a) {
      for (Eigen::Index b = a + 1; b < units; ++b) spread += (u.col(a) - u.col(b)).squaredNorm();
    }
    const double pairs = 0.5 * double(units) * double(units - 1);
    const double size = u.squaredNorm() / double(units);
    order.push_back(pairs == 0 || size == 0 ? 0.0 : (spread / pairs) / size);
  }
  return order;
}

#define RGFLOW_INSTANTIATE_METRICS(Scalar)                                             \
  template OutputSymmetryErrors output_symmetry_errors<Scalar>(                        \
      const Network<Scalar>&, const Matrix<Scalar>&, int, uint64_t, double);           \
  template std::vector<double> invariant_fraction<Scalar>(                             \
      const Network<Scalar>&, const Matrix<Scalar>&, const std::vector<Permutation>&); \
  template std::vector<double> equivariance_error<Scalar>(                             \
      const Network<Scalar>&, const Matrix<Scalar>&, const std::vector<Permutation>&); \
  template std::vector<double> unit_order_parameter<Scalar>(const Network<Scalar>&);
RGFLOW_INSTANTIATE_METRICS(float)
RGFLOW_INSTANTIATE_METRICS(double)

}  // namespace rgflow::nn
