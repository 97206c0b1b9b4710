#include "rgflow/nn/metrics.hpp"

#include <stdexcept>

namespace rgflow::nn {
namespace {

using MatrixD = Matrix<double>;

template <typename Scalar>
MatrixD outputs(const Network<Scalar>& net, const Matrix<Scalar>& x) {
  typename Network<Scalar>::Tape tape;
  net.forward(x, tape);
  return tape.output.template cast<double>();
}

// Per hidden layer, features as (features x B) in double: MLP hidden outputs; for a graph
// network each graph layer's node features summed over nodes.
template <typename Scalar>
std::vector<MatrixD> hidden_features(const Network<Scalar>& net, const Matrix<Scalar>& x) {
  typename Network<Scalar>::Tape tape;
  net.forward(x, tape);
  std::vector<MatrixD> features;
  const Eigen::Index batch = x.cols(), nodes = net.inputs();
  for (int layer = 1; layer < net.layer_count(); ++layer) {
    const MatrixD h = tape.h[static_cast<size_t>(layer)].template cast<double>();
    if (net.spec().kind == ModelKind::kMlp) {
      features.push_back(h);
      continue;
    }
    MatrixD summed(h.rows(), batch);
    for (Eigen::Index s = 0; s < batch; ++s) {
      summed.col(s) = h.middleCols(s * nodes, nodes).rowwise().sum();
    }
    features.push_back(summed);
  }
  return features;
}

// E|h - E h|^2 over the batch (columns), summed over features.
double centred_power(const MatrixD& h) {
  const Eigen::VectorXd mean = h.rowwise().mean();
  return (h.colwise() - mean).squaredNorm() / double(h.cols());
}

double batch_variance(const MatrixD& f) {
  return centred_power(f);
}

}  // namespace

template <typename Scalar>
OutputSymmetryErrors output_symmetry_errors(const Network<Scalar>& net, const Matrix<Scalar>& x,
                                            int permutation_samples, uint64_t seed,
                                            double scale_factor) {
  const MatrixD f = outputs(net, x);
  const double variance = batch_variance(f);
  const double batch = double(x.cols());
  // Mean square of `difference` relative to Var f (0/0 taken as 0: an exactly symmetric
  // constant map).
  auto relative = [&](const MatrixD& difference) {
    const double power = difference.squaredNorm() / batch;
    return power == 0 ? 0.0 : power / variance;
  };
  OutputSymmetryErrors errors;
  for (int k = 0; k < permutation_samples; ++k) {
    const Permutation g = random_permutation(net.inputs(), seed, static_cast<uint64_t>(k));
    errors.permutation += relative(outputs(net, permute_blocks(x, g)) - f);
  }
  if (permutation_samples > 0) errors.permutation /= permutation_samples;
  const auto group = point_group(net.spec().block);
  for (const auto& g : group)
    errors.point_group += relative(outputs(net, permute_blocks(x, g)) - f);
  errors.point_group /= double(group.size());
  const Matrix<Scalar> negated = -x;
  errors.sign = relative(outputs(net, negated) + f);
  const Matrix<Scalar> scaled = Scalar(scale_factor) * x;
  errors.scale = relative((outputs(net, scaled) - scale_factor * f) / scale_factor);
  return errors;
}

template <typename Scalar>
std::vector<double> invariant_fraction(const Network<Scalar>& net, const Matrix<Scalar>& x,
                                       const std::vector<Permutation>& group) {
  const std::vector<MatrixD> plain = hidden_features(net, x);
  std::vector<MatrixD> averaged(plain.size());
  for (size_t l = 0; l < plain.size(); ++l)
    averaged[l] = MatrixD::Zero(plain[l].rows(), plain[l].cols());
  for (const auto& g : group) {
    const auto moved = hidden_features(net, permute_blocks(x, g));
    for (size_t l = 0; l < plain.size(); ++l) averaged[l] += moved[l];
  }
  std::vector<double> fraction;
  for (size_t l = 0; l < plain.size(); ++l) {
    averaged[l] /= double(group.size());
    const double total = centred_power(plain[l]);
    fraction.push_back(total == 0 ? 1.0 : centred_power(averaged[l]) / total);
  }
  return fraction;
}

template <typename Scalar>
std::vector<double> equivariance_error(const Network<Scalar>& net, const Matrix<Scalar>& x,
                                       const std::vector<Permutation>& group) {
  if (net.spec().kind != ModelKind::kGnn) {
    throw std::invalid_argument("equivariance errors are defined for graph networks");
  }
  const Eigen::Index batch = x.cols(), nodes = net.inputs();
  typename Network<Scalar>::Tape reference, moved;
  net.forward(x, reference);
  const int graph_layers = net.layer_count() - 1;
  std::vector<double> error(static_cast<size_t>(graph_layers), 0.0);
  for (const auto& g : group) {
    net.forward(permute_blocks(x, g), moved);
    for (int layer = 1; layer <= graph_layers; ++layer) {
      const MatrixD h = reference.h[static_cast<size_t>(layer)].template cast<double>();
      const MatrixD hg = moved.h[static_cast<size_t>(layer)].template cast<double>();
      double difference = 0;
      for (Eigen::Index s = 0; s < batch; ++s) {
        for (Eigen::Index i = 0; i < nodes; ++i) {
          // (g.h)(node g[i]) = h(node i)
          difference +=
              (hg.col(s * nodes + g[static_cast<size_t>(i)]) - h.col(s * nodes + i)).squaredNorm();
        }
      }
      const double norm = h.squaredNorm();
      error[static_cast<size_t>(layer - 1)] += norm == 0 ? 0.0 : difference / norm;
    }
  }
  for (double& e : error) e /= double(group.size());
  return error;
}

template <typename Scalar>
std::vector<double> unit_order_parameter(const Network<Scalar>& net) {
  const bool gnn = net.spec().kind == ModelKind::kGnn;
  std::vector<double> order;
  for (int layer = 0; layer + 1 < net.layer_count(); ++layer) {
    const MatrixD in = net.weight(layer).template cast<double>();
    const MatrixD out = net.weight(layer + 1).template cast<double>();
    const Eigen::VectorXd bias = net.bias(layer).template cast<double>();
    const Eigen::Index units = in.rows();
    const Eigen::Index width = in.cols() * (gnn ? 2 : 1) + 1 + out.rows();
    MatrixD u(width, units);  // column a is u_a
    for (Eigen::Index a = 0; a < units; ++a) {
      Eigen::Index row = 0;
      u.col(a).segment(row, in.cols()) = in.row(a).transpose();
      row += in.cols();
      if (gnn) {
        u.col(a).segment(row, in.cols()) =
            net.neighbour_weight(layer).template cast<double>().row(a).transpose();
        row += in.cols();
      }
      u(row++, a) = bias(a);
      u.col(a).segment(row, out.rows()) = out.col(a);
    }
    double pairs = 0, spread = 0;
    for (Eigen::Index a = 0; a < units; ++a) {
      for (Eigen::Index b = a + 1; b < units; ++b) {
        spread += (u.col(a) - u.col(b)).squaredNorm();
        pairs += 1;
      }
    }
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
