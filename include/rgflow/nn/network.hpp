// Networks for the block map: an MLP on the N = b^d values of a block, or a graph network on the
// block's lattice graph, one output each. Shapes: a batch of B blocks is an N x B matrix (one
// column per block, sites in BlockShape order); outputs are 1 x B.
//
// Parameters: the optimiser sees one flat vector theta of free parameters. Weight tying lives in
// the parametrisation: every entry of every effective weight matrix and bias vector is one entry
// of theta (TiedArray::source), so tied entries share a value, and the gradient of a free
// parameter is the sum of the gradients of the entries tied to it (exact, by the chain rule).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rgflow/nn/activation.hpp"
#include "rgflow/nn/symmetry_group.hpp"

namespace rgflow::nn {

template <typename Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
template <typename Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

/// g applied to every block (column) of a batch.
template <typename Scalar>
Matrix<Scalar> permute_blocks(const Matrix<Scalar>& x, const Permutation& g) {
  Matrix<Scalar> y(x.rows(), x.cols());
  for (Eigen::Index s = 0; s < x.cols(); ++s) permute_block(g, x.col(s).data(), y.col(s).data());
  return y;
}

enum class ModelKind { kMlp, kGnn };
enum class Tying {
  kNone,
  kInputs,     // first layer shared across all sites: invariant to every site permutation
  kOrbits,     // first layer shared within orbits of a site group (ModelSpec::orbit_group)
  kUnits,      // all hidden units of a layer identical (in, bias and out weights)
  kSymmetric,  // square weight matrices constrained W = W^T
  kScalar,     // each weight matrix and bias vector is one number times the all-ones pattern
};

const std::vector<std::string>& model_kind_names();
const std::vector<std::string>& tying_names();
std::optional<ModelKind> parse_model_kind(const std::string& name);
std::optional<Tying> parse_tying(const std::string& name);
std::string model_kind_name(ModelKind kind);
std::string tying_name(Tying tying);

/// How a model is made to respect the block's symmetries beyond its weight tying
/// (docs/science.md section 6).
enum class Strategy {
  kNone,
  kAugment,     // training inputs transformed by random group elements
  kRegularize,  // soft penalty lambda_t R_t per symmetry type added to the loss
  kAverage,     // f(x) = mean over the point group of f_net(g.x): exactly invariant
  kCanonical,   // f(x) = f_net(sort(x)): exactly invariant under every site permutation
};
const std::vector<std::string>& strategy_names();
std::optional<Strategy> parse_strategy(const std::string& name);
std::string strategy_name(Strategy strategy);

struct ModelSpec {
  ModelKind kind = ModelKind::kMlp;
  BlockShape block{2, 2};
  std::vector<int> hidden{64, 64};  // widths of the hidden layers (graph layers for gnn)
  Activation activation = Activation::kTanh;
  Tying tying = Tying::kNone;
  std::string orbit_group = "point";  // for kOrbits: point, reflections or full
  bool bias = true;
  // Graph networks only.
  bool mean_aggregation = false;    // neighbour sum (default) or mean
  bool mean_pooling = false;        // readout sum (default) or mean over nodes
  bool periodic = false;            // wrap the block's graph
  bool tie_self_neighbour = false;  // W_nbr = W_self
  Strategy strategy = Strategy::kNone;
  uint64_t seed = 1;  // initialisation

  /// "" if the spec is usable, else a one-line reason. Includes the size limit below, so a spec
  /// that passes can be built without exhausting memory.
  std::string validate() const;

  /// Effective weight and bias entries of the network (tied entries counted each time), from
  /// the sizes alone: nothing is allocated. Double, so that absurd sizes cannot overflow.
  double effective_entries() const;
  /// Bytes a Network<double> of this spec and its optimiser state hold (parameter indices,
  /// expanded weights, gradients, Adam moments), estimated from the sizes alone.
  double memory_bytes() const;
  /// Free parameters (theta's length) the network will have, from the sizes alone. Only for a
  /// spec that passed validate().
  int64_t free_parameters() const;

  /// The stated limit on memory_bytes(), per rank.
  static constexpr double kMaxMemoryBytes = 4.0 * 1024 * 1024 * 1024;
};

/// An effective weight matrix or bias vector (column-major, rows x cols) as a view of theta.
struct TiedArray {
  Eigen::Index rows = 0, cols = 0;
  std::vector<int> source;  // entry e -> index into theta
  Eigen::Index offset = 0;  // position in the expanded buffer
  bool contiguous = false;  // source[e] = source[0] + e: read theta in place

  Eigen::Index size() const { return rows * cols; }
};

template <typename Scalar>
class Network {
 public:
  /// Activations of one forward pass, kept for the backward pass.
  struct Tape {
    std::vector<Matrix<Scalar>> h;  // h[0]: input features; h[l+1]: output of layer l
    std::vector<Matrix<Scalar>> d;  // d[l]: phi'(z) of layer l
    // gnn: [h[l]; neighbour aggregate of h[l]] stacked, so that W_self h + W_nbr agg is one
    // product [W_self W_nbr] stacked[l].
    std::vector<Matrix<Scalar>> stacked;
    Matrix<Scalar> pooled;                // gnn: width x B readout input
    Matrix<Scalar> output;                // 1 x B
    std::vector<Matrix<Scalar>> scratch;  // backward pass work space, reused across steps
  };

  /// Builds the architecture and initialises theta (Xavier for bounded activations, He for the
  /// relu family; biases zero) from spec.seed with the counter-based generator.
  explicit Network(const ModelSpec& spec);

  const ModelSpec& spec() const { return spec_; }
  int inputs() const { return spec_.block.sites(); }
  Eigen::Index parameter_count() const { return static_cast<Eigen::Index>(theta_.size()); }
  Scalar* parameters() { return theta_.data(); }
  const Scalar* parameters() const { return theta_.data(); }
  /// Number of layers with weights (hidden layers plus the output / readout layer).
  int layer_count() const { return static_cast<int>(weights_.size()); }

  /// y = f(x) for a batch: x is inputs() x B.
  void forward(const Eigen::Ref<const Matrix<Scalar>>& x, Tape& tape) const;
  /// Adds dL/dtheta to gradient[0 .. parameter_count) given dL/dy (1 x B) for the batch of the
  /// last forward into `tape`; if `input_gradient` is given, sets it to dL/dx (inputs() x B).
  void backward(Tape& tape, const Eigen::Ref<const Matrix<Scalar>>& output_gradient,
                Scalar* gradient, Matrix<Scalar>* input_gradient = nullptr) const;

  /// Effective weights of layer l (rows = outputs): W (mlp) or W_self (gnn); W_nbr for gnn.
  Matrix<Scalar> weight(int layer) const;
  Matrix<Scalar> neighbour_weight(int layer) const;
  Vector<Scalar> bias(int layer) const;
  const std::vector<std::vector<int>>& neighbours() const { return neighbours_; }

 private:
  using ConstMap = Eigen::Map<const Matrix<Scalar>>;
  ConstMap view(const TiedArray& array) const;
  void expand() const;
  void fold(const TiedArray& array, const Scalar* dense_gradient, Scalar* gradient) const;
  void init_parameters();

  ModelSpec spec_;
  std::vector<Scalar> theta_;
  std::vector<TiedArray> weights_;       // per layer; the last is the output / readout layer
  std::vector<TiedArray> neighbours_w_;  // gnn graph layers
  std::vector<TiedArray> biases_;        // per layer (empty arrays when spec.bias is false)
  std::vector<std::vector<int>> neighbours_;
  mutable std::vector<Scalar> expanded_;  // tied arrays gathered from theta
  mutable std::vector<Scalar> dense_gradient_;
  mutable std::vector<Matrix<Scalar>> stacked_weights_;  // gnn: [W_self W_nbr] per graph layer
};

/// Mean squared error over a batch and its gradient dL/dy = 2 (y - t) / B.
template <typename Scalar>
Scalar mse_loss(const Matrix<Scalar>& prediction, const Eigen::Ref<const Matrix<Scalar>>& target,
                Matrix<Scalar>* gradient);

}  // namespace rgflow::nn
