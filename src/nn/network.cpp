#include "rgflow/nn/network.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <functional>

#include "rgflow/core/text.hpp"
#include "rgflow/field/philox.hpp"

namespace rgflow::nn {
namespace {

// Hands out indices into theta and records them per effective entry.
class ParameterAllocator {
 public:
  int fresh() { return count_++; }
  int count() const { return count_; }

  /// An array whose entry (r, c) takes source(r, c); `source` calls fresh() as it needs.
  TiedArray array(Eigen::Index rows, Eigen::Index cols,
                  const std::function<int(Eigen::Index, Eigen::Index)>& source) {
    TiedArray result;
    result.rows = rows;
    result.cols = cols;
    result.source.resize(static_cast<size_t>(rows * cols));
    for (Eigen::Index c = 0; c < cols; ++c) {
      for (Eigen::Index r = 0; r < rows; ++r) {
        result.source[static_cast<size_t>(c * rows + r)] = source(r, c);
      }
    }
    result.contiguous = true;
    for (size_t e = 0; e < result.source.size(); ++e) {
      result.contiguous = result.contiguous && result.source[e] == result.source[0] + int(e);
    }
    return result;
  }

  TiedArray untied(Eigen::Index rows, Eigen::Index cols) {
    const int base = count_;
    count_ += static_cast<int>(rows * cols);
    return array(rows, cols, [&](Eigen::Index r, Eigen::Index c) {
      return base + static_cast<int>(c * rows + r);
    });
  }

  TiedArray single(Eigen::Index rows, Eigen::Index cols) {
    const int shared = fresh();
    return array(rows, cols, [&](Eigen::Index, Eigen::Index) { return shared; });
  }

 private:
  int count_ = 0;
};

bool relu_family(Activation activation) {
  return activation == Activation::kRelu || activation == Activation::kGelu ||
         activation == Activation::kSilu || activation == Activation::kSoftplus;
}

}  // namespace

const std::vector<std::string>& model_kind_names() {
  static const std::vector<std::string> names{"mlp", "gnn"};
  return names;
}
const std::vector<std::string>& tying_names() {
  static const std::vector<std::string> names{"none",  "inputs",    "orbits",
                                              "units", "symmetric", "scalar"};
  return names;
}
const std::vector<std::string>& strategy_names() {
  static const std::vector<std::string> names{"none", "augment", "regularize", "average",
                                              "canonical"};
  return names;
}
std::optional<Strategy> parse_strategy(const std::string& name) {
  return parse_name<Strategy>(strategy_names(), name);
}
std::string strategy_name(Strategy strategy) {
  return strategy_names()[static_cast<size_t>(strategy)];
}
std::optional<ModelKind> parse_model_kind(const std::string& name) {
  return parse_name<ModelKind>(model_kind_names(), name);
}
std::optional<Tying> parse_tying(const std::string& name) {
  return parse_name<Tying>(tying_names(), name);
}
std::string model_kind_name(ModelKind kind) {
  return model_kind_names()[static_cast<size_t>(kind)];
}
std::string tying_name(Tying tying) {
  return tying_names()[static_cast<size_t>(tying)];
}

namespace {

// The layer widths, input to output: sites (mlp) or one feature per node (gnn), the hidden
// widths, one output.
std::vector<double> layer_widths(const ModelSpec& spec) {
  const double sites = std::pow(static_cast<double>(spec.block.side), spec.block.dim);
  std::vector<double> widths{spec.kind == ModelKind::kGnn ? 1.0 : sites};
  for (int width : spec.hidden) widths.push_back(width);
  widths.push_back(1);
  return widths;
}

// Free parameters of one weight array (mirrors the allocator calls of Network's constructor).
double weight_parameters(const ModelSpec& spec, size_t layer, size_t hidden_layers, double rows,
                         double cols, double orbits) {
  const bool out_hidden = layer<hidden_layers, in_hidden = layer> 0;
  switch (spec.tying) {
    case Tying::kNone:
      break;
    case Tying::kInputs:
      if (layer == 0) return rows;
      break;
    case Tying::kOrbits:
      if (layer == 0) return rows * orbits;
      break;
    case Tying::kUnits:
      if (out_hidden && in_hidden) return 1;
      if (out_hidden) return cols;
      if (in_hidden) return rows;
      break;
    case Tying::kSymmetric:
      if (rows == cols) return rows * (rows + 1) / 2;
      break;
    case Tying::kScalar:
      return 1;
  }
  return rows * cols;
}

// Free parameters with `orbits` site orbits for -tying orbits.
double count_parameters(const ModelSpec& spec, double orbits) {
  const std::vector<double> widths = layer_widths(spec);
  const size_t hidden_layers = spec.hidden.size();
  const bool gnn = spec.kind == ModelKind::kGnn;
  double total = 0;
  for (size_t layer = 0; layer <= hidden_layers; ++layer) {
    const double rows = widths[layer + 1], cols = widths[layer];
    const double weight = weight_parameters(spec, layer, hidden_layers, rows, cols, orbits);
    total += weight;
    if (gnn && layer < hidden_layers && !spec.tie_self_neighbour) total += weight;
    if (spec.bias) {
      const bool shared =
          spec.tying == Tying::kScalar || (spec.tying == Tying::kUnits && layer < hidden_layers);
      total += shared ? 1 : rows;
    }
  }
  return total;
}

}  // namespace

double ModelSpec::effective_entries() const {
  const std::vector<double> widths = layer_widths(*this);
  const bool gnn = kind == ModelKind::kGnn;
  // The block's sites: inputs of every sample, and a neighbour list each for a graph network.
  double total =
      std::pow(static_cast<double>(block.side), block.dim) * (gnn ? 1 + 2 * block.dim : 1);
  for (size_t layer = 0; layer + 1 < widths.size(); ++layer) {
    const bool graph_layer = gnn && layer + 2 < widths.size();
    total += widths[layer + 1] * widths[layer] * (graph_layer ? 2 : 1) + widths[layer + 1];
  }
  return total;
}

double ModelSpec::memory_bytes() const {
  const std::vector<double> widths = layer_widths(*this);
  double largest = 0;
  for (size_t layer = 0; layer + 1 < widths.size(); ++layer) {
    largest = std::max(largest, widths[layer + 1] * widths[layer]);
  }
  const double entries = effective_entries();
  // Orbits are at most the sites: an upper bound that needs no symmetry group.
  const double parameters = count_parameters(*this, layer_widths(*this).front());
  const double value = sizeof(double);
  // Per entry an int index and (when tied) an expanded value; the dense gradient of the largest
  // array twice; theta, its gradient and two optimiser moments.
  return entries * (sizeof(int) + value) + 2 * largest * value + 4 * parameters * value;
}

int64_t ModelSpec::free_parameters() const {
  double orbits = 0;
  if (tying == Tying::kOrbits) {
    const int n = block.sites();
    if (orbit_group == "full") {
      orbits = 1;  // S_N is transitive
    } else {
      const auto group = orbit_group == "point" ? point_group(block) : reflection_group(block);
      int count = 0;
      for (int label : site_orbits(group, n)) count = std::max(count, label + 1);
      orbits = count;
    }
  }
  return static_cast<int64_t>(count_parameters(*this, orbits));
}

std::string ModelSpec::validate() const {
  if (block.dim < 1 || block.dim > 3) return "block dimension must be 1, 2 or 3";
  if (block.side < 2) return "block side must be at least 2";
  if (hidden.empty()) return "at least one hidden layer is needed";
  for (int width : hidden) {
    if (width < 1) return "hidden widths must be positive";
  }
  // Sizes before anything else looks at them: the network indexes its entries with int, and
  // every later step allocates in proportion to them.
  const double bytes = memory_bytes();
  const double entries = effective_entries();
  if (entries > static_cast<double>(INT_MAX) || bytes > kMaxMemoryBytes) {
    char amount[96];
    std::snprintf(amount, sizeof amount, "%.3g weights need about %.3g GiB per rank", entries,
                  bytes / (1024.0 * 1024 * 1024));
    return "the network (block " + std::to_string(block.side) + "^" + std::to_string(block.dim) +
           ", hidden " + join_list(hidden) + ") is too large: " + amount +
           ", more than the limit of " +
           std::to_string(static_cast<int>(kMaxMemoryBytes / (1024.0 * 1024 * 1024))) + " GiB";
  }
  if (kind == ModelKind::kGnn && (tying == Tying::kInputs || tying == Tying::kOrbits)) {
    return "tying '" + tying_name(tying) +
           "' applies to mlp only (a graph network is equivariant by construction)";
  }
  if (tying == Tying::kOrbits && orbit_group != "point" && orbit_group != "reflections" &&
      orbit_group != "full") {
    return "orbit group must be point, reflections or full";
  }
  if (kind == ModelKind::kMlp && tie_self_neighbour) {
    return "tying self and neighbour weights applies to gnn only";
  }
  return "";
}

template <typename Scalar>
Network<Scalar>::Network(const ModelSpec& spec) : spec_(spec) {
  const int n = spec.block.sites();
  const bool gnn = spec.kind == ModelKind::kGnn;
  const int hidden_layers = static_cast<int>(spec.hidden.size());
  std::vector<int> widths{gnn ? 1 : n};
  widths.insert(widths.end(), spec.hidden.begin(), spec.hidden.end());
  widths.push_back(1);
  std::vector<int> orbit;
  int orbit_count = 0;
  if (spec.tying == Tying::kOrbits) {
    std::vector<Permutation> group;
    if (spec.orbit_group == "point") group = point_group(spec.block);
    if (spec.orbit_group == "reflections") group = reflection_group(spec.block);
    if (spec.orbit_group == "full") group.push_back(point_group(spec.block).front());
    orbit = site_orbits(group, n);
    if (spec.orbit_group == "full") orbit.assign(static_cast<size_t>(n), 0);  // S_N is transitive
    for (int label : orbit) orbit_count = std::max(orbit_count, label + 1);
  }

  ParameterAllocator allocator;
  for (int layer = 0; layer <= hidden_layers; ++layer) {
    const Eigen::Index rows = widths[static_cast<size_t>(layer + 1)];
    const Eigen::Index cols = widths[static_cast<size_t>(layer)];
    const bool out_hidden = layer < hidden_layers;
    const bool in_hidden = layer > 0;
    auto make_weight = [&]() -> TiedArray {
      switch (spec.tying) {
        case Tying::kNone:
          break;
        case Tying::kInputs:
          if (layer == 0) {
            const int base = allocator.count();
            for (Eigen::Index r = 0; r < rows; ++r) allocator.fresh();
            return allocator.array(rows, cols, [&](Eigen::Index r, Eigen::Index) {
              return base + static_cast<int>(r);
            });
          }
          break;
        case Tying::kOrbits:
          if (layer == 0) {
            const int base = allocator.count();
            for (Eigen::Index e = 0; e < rows * orbit_count; ++e) allocator.fresh();
            return allocator.array(rows, cols, [&](Eigen::Index r, Eigen::Index c) {
              return base + static_cast<int>(r) * orbit_count + orbit[static_cast<size_t>(c)];
            });
          }
          break;
        case Tying::kUnits: {
          if (out_hidden && in_hidden) return allocator.single(rows, cols);
          const int base = allocator.count();
          if (out_hidden) {  // every unit of this layer has the same incoming weights
            for (Eigen::Index c = 0; c < cols; ++c) allocator.fresh();
            return allocator.array(rows, cols, [&](Eigen::Index, Eigen::Index c) {
              return base + static_cast<int>(c);
            });
          }
          if (in_hidden) {  // every unit of the layer below sends the same outgoing weights
            for (Eigen::Index r = 0; r < rows; ++r) allocator.fresh();
            return allocator.array(rows, cols, [&](Eigen::Index r, Eigen::Index) {
              return base + static_cast<int>(r);
            });
          }
          break;
        }
        case Tying::kSymmetric:
          if (rows == cols) {
            const int base = allocator.count();
            for (Eigen::Index e = 0; e < rows * (rows + 1) / 2; ++e) allocator.fresh();
            return allocator.array(rows, cols, [&](Eigen::Index r, Eigen::Index c) {
              const Eigen::Index lo = std::min(r, c), hi = std::max(r, c);
              return base + static_cast<int>(hi * (hi + 1) / 2 + lo);
            });
          }
          break;
        case Tying::kScalar:
          return allocator.single(rows, cols);
      }
      return allocator.untied(rows, cols);
    };
    weights_.push_back(make_weight());
    if (gnn && out_hidden) {
      neighbours_w_.push_back(spec.tie_self_neighbour ? weights_.back() : make_weight());
    }
    TiedArray bias;
    if (spec.bias) {
      const bool shared =
          spec.tying == Tying::kScalar || (spec.tying == Tying::kUnits && out_hidden);
      bias = shared ? allocator.single(rows, 1) : allocator.untied(rows, 1);
    } else {
      bias.rows = rows;
      bias.cols = 1;
    }
    biases_.push_back(bias);
  }
  if (gnn) neighbours_ = block_neighbours(spec.block, spec.periodic);

  // Expanded storage for arrays that are not plain slices of theta.
  Eigen::Index offset = 0;
  auto place = [&](TiedArray& array) {
    if (array.contiguous || array.source.empty()) return;
    array.offset = offset;
    offset += array.size();
  };
  for (auto& array : weights_) place(array);
  for (auto& array : neighbours_w_) place(array);
  for (auto& array : biases_) place(array);
  expanded_.assign(static_cast<size_t>(offset), Scalar(0));
  Eigen::Index largest = 0;
  for (const auto& array : weights_) largest = std::max(largest, 2 * array.size());
  dense_gradient_.assign(static_cast<size_t>(largest), Scalar(0));
  theta_.assign(static_cast<size_t>(allocator.count()), Scalar(0));
  init_parameters();
}

template <typename Scalar>
void Network<Scalar>::init_parameters() {
  // Each free parameter takes the distribution of the first weight array that uses it; biases
  // start at zero. Draws come from Philox keyed by the seed, counter = parameter index.
  std::vector<bool> done(theta_.size(), false);
  const field::PhiloxKey key = field::philox_key(spec_.seed);
  const bool he = relu_family(spec_.activation);
  auto initialise = [&](const TiedArray& array, double fan_in) {
    const double fan_out = static_cast<double>(array.rows);
    for (int index : array.source) {
      if (done[static_cast<size_t>(index)]) continue;
      done[static_cast<size_t>(index)] = true;
      const auto w = field::philox4x32_10({static_cast<uint32_t>(index), 0u, 0u, 0x494E4954u}, key);
      double value;
      if (he) {
        const double normal = std::sqrt(-2.0 * std::log(field::uniform_open01(w[0]))) *
                              std::cos(6.283185307179586 * field::uniform_open01(w[1]));
        value = normal * std::sqrt(2.0 / fan_in);
      } else {
        const double limit = std::sqrt(6.0 / (fan_in + fan_out));
        value = limit * (2.0 * field::uniform_open01(w[0]) - 1.0);
      }
      theta_[static_cast<size_t>(index)] = static_cast<Scalar>(value);
    }
  };
  const bool gnn = spec_.kind == ModelKind::kGnn;
  for (size_t layer = 0; layer < weights_.size(); ++layer) {
    const bool graph_layer = gnn && layer < neighbours_w_.size();
    // A graph unit sums its own and its neighbours' features: about twice the inputs.
    const double fan_in = static_cast<double>(weights_[layer].cols) * (graph_layer ? 2.0 : 1.0);
    initialise(weights_[layer], fan_in);
    if (graph_layer) initialise(neighbours_w_[layer], fan_in);
  }
}

template <typename Scalar>
typename Network<Scalar>::ConstMap Network<Scalar>::view(const TiedArray& array) const {
  const Scalar* data =
      array.contiguous ? theta_.data() + array.source[0] : expanded_.data() + array.offset;
  return ConstMap(data, array.rows, array.cols);
}

template <typename Scalar>
void Network<Scalar>::expand() const {
  auto gather = [&](const TiedArray& array) {
    if (array.contiguous || array.source.empty()) return;
    Scalar* target = expanded_.data() + array.offset;
    for (size_t e = 0; e < array.source.size(); ++e) {
      target[e] = theta_[static_cast<size_t>(array.source[e])];
    }
  };
  for (const auto& array : weights_) gather(array);
  for (const auto& array : neighbours_w_) gather(array);
  for (const auto& array : biases_) gather(array);
  stacked_weights_.resize(neighbours_w_.size());
  for (size_t layer = 0; layer < neighbours_w_.size(); ++layer) {
    const auto self = view(weights_[layer]);
    auto& stacked = stacked_weights_[layer];
    stacked.resize(self.rows(), 2 * self.cols());
    stacked.leftCols(self.cols()) = self;
    stacked.rightCols(self.cols()) = view(neighbours_w_[layer]);
  }
}

template <typename Scalar>
void Network<Scalar>::fold(const TiedArray& array, const Scalar* dense_gradient,
                           Scalar* gradient) const {
  for (size_t e = 0; e < array.source.size(); ++e) {
    gradient[array.source[e]] += dense_gradient[e];
  }
}

template <typename Scalar>
void Network<Scalar>::forward(const Eigen::Ref<const Matrix<Scalar>>& x, Tape& tape) const {
  expand();
  const Eigen::Index batch = x.cols();
  const int layers = layer_count();
  tape.h.resize(static_cast<size_t>(layers));
  tape.d.resize(static_cast<size_t>(layers - 1));
  if (spec_.kind == ModelKind::kMlp) {
    tape.h[0] = x;
    for (int layer = 0; layer < layers; ++layer) {
      const auto w = view(weights_[static_cast<size_t>(layer)]);
      Matrix<Scalar>& out =
          layer + 1 < layers ? tape.h[static_cast<size_t>(layer + 1)] : tape.output;
      out.noalias() = w * tape.h[static_cast<size_t>(layer)];
      if (spec_.bias) out.colwise() += view(biases_[static_cast<size_t>(layer)]).col(0);
      if (layer + 1 < layers) {
        auto& derivative = tape.d[static_cast<size_t>(layer)];
        derivative.resize(out.rows(), out.cols());
        apply_activation(spec_.activation, out.data(), derivative.data(), out.size());
      }
    }
    return;
  }
  // Graph network: features are width x (B N), column s N + i is node i of block s, which is
  // the memory order of x: the input layer is x viewed as one row.
  const Eigen::Index nodes = inputs();
  const int graph_layers = layers - 1;
  tape.stacked.resize(static_cast<size_t>(graph_layers));
  tape.h[0] = Eigen::Map<const Matrix<Scalar>>(x.data(), 1, nodes * batch);
  for (int layer = 0; layer < graph_layers; ++layer) {
    const Matrix<Scalar>& h = tape.h[static_cast<size_t>(layer)];
    const Eigen::Index width = h.rows();
    Matrix<Scalar>& stacked = tape.stacked[static_cast<size_t>(layer)];
    stacked.resize(2 * width, h.cols());
    stacked.topRows(width) = h;
    auto agg = stacked.bottomRows(width);
    agg.setZero();
    for (Eigen::Index s = 0; s < batch; ++s) {
      for (Eigen::Index i = 0; i < nodes; ++i) {
        const auto& list = neighbours_[static_cast<size_t>(i)];
        auto target = agg.col(s * nodes + i);
        for (int j : list) target += h.col(s * nodes + j);
        if (spec_.mean_aggregation && !list.empty()) target /= Scalar(list.size());
      }
    }
    Matrix<Scalar>& out = tape.h[static_cast<size_t>(layer + 1)];
    out.noalias() = stacked_weights_[static_cast<size_t>(layer)] * stacked;
    if (spec_.bias) out.colwise() += view(biases_[static_cast<size_t>(layer)]).col(0);
    auto& derivative = tape.d[static_cast<size_t>(layer)];
    derivative.resize(out.rows(), out.cols());
    apply_activation(spec_.activation, out.data(), derivative.data(), out.size());
  }
  const Matrix<Scalar>& last = tape.h[static_cast<size_t>(layers - 1)];
  tape.pooled.setZero(last.rows(), batch);
  for (Eigen::Index s = 0; s < batch; ++s) {
    tape.pooled.col(s) = last.middleCols(s * nodes, nodes).rowwise().sum();
  }
  if (spec_.mean_pooling) tape.pooled /= Scalar(nodes);
  tape.output.noalias() = view(weights_.back()) * tape.pooled;
  if (spec_.bias) tape.output.colwise() += view(biases_.back()).col(0);
}

template <typename Scalar>
void Network<Scalar>::backward(Tape& tape, const Eigen::Ref<const Matrix<Scalar>>& output_gradient,
                               Scalar* gradient, Matrix<Scalar>* input_gradient) const {
  const int layers = layer_count();
  using ConstRef = const Eigen::Ref<const Matrix<Scalar>>&;
  // dL/dW = G h^T for a layer with output gradient G and input h, folded onto theta.
  auto accumulate_weight = [&](const TiedArray& array, ConstRef g, ConstRef h) {
    if (array.contiguous) {
      Eigen::Map<Matrix<Scalar>> target(gradient + array.source[0], array.rows, array.cols);
      target.noalias() += g * h.transpose();
      return;
    }
    Eigen::Map<Matrix<Scalar>> dense(dense_gradient_.data(), array.rows, array.cols);
    dense.noalias() = g * h.transpose();
    fold(array, dense_gradient_.data(), gradient);
  };
  auto accumulate_bias = [&](const TiedArray& array, ConstRef g) {
    if (!spec_.bias) return;
    const Vector<Scalar> sum = g.rowwise().sum();
    fold(array, sum.data(), gradient);
  };
  // Two work matrices, alternating as the gradient moves down the layers.
  tape.scratch.resize(2);
  Matrix<Scalar>* g = &tape.scratch[0];
  Matrix<Scalar>* below = &tape.scratch[1];

  if (spec_.kind == ModelKind::kMlp) {
    for (int layer = layers - 1; layer >= 0; --layer) {
      const auto& array = weights_[static_cast<size_t>(layer)];
      const bool top = layer == layers - 1;
      ConstRef current = top ? output_gradient : ConstRef(*g);
      accumulate_weight(array, current, tape.h[static_cast<size_t>(layer)]);
      accumulate_bias(biases_[static_cast<size_t>(layer)], current);
      if (layer > 0) {
        below->noalias() = view(array).transpose() * current;
        below->array() *= tape.d[static_cast<size_t>(layer - 1)].array();
        std::swap(g, below);
      } else if (input_gradient) {
        input_gradient->noalias() = view(array).transpose() * current;
      }
    }
    return;
  }
  const Eigen::Index nodes = inputs();
  const Eigen::Index batch = output_gradient.cols();
  const int graph_layers = layers - 1;
  accumulate_weight(weights_.back(), output_gradient, tape.pooled);
  accumulate_bias(biases_.back(), output_gradient);
  // Pooling hands every node of a block the block's gradient (divided by N for a mean).
  Matrix<Scalar> pooled_gradient = view(weights_.back()).transpose() * output_gradient;
  if (spec_.mean_pooling) pooled_gradient /= Scalar(nodes);
  g->resize(pooled_gradient.rows(), nodes * batch);
  for (Eigen::Index s = 0; s < batch; ++s) {
    g->middleCols(s * nodes, nodes).colwise() = pooled_gradient.col(s);
  }
  for (int layer = graph_layers - 1; layer >= 0; --layer) {
    g->array() *= tape.d[static_cast<size_t>(layer)].array();  // now dL/dz
    const auto& self = weights_[static_cast<size_t>(layer)];
    const auto& neighbour = neighbours_w_[static_cast<size_t>(layer)];
    // [dW_self dW_nbr] = dz [h; agg]^T in one product; the halves fold onto their parameters.
    Eigen::Map<Matrix<Scalar>> dense(dense_gradient_.data(), self.rows, 2 * self.cols);
    dense.noalias() = *g * tape.stacked[static_cast<size_t>(layer)].transpose();
    fold(self, dense_gradient_.data(), gradient);
    fold(neighbour, dense_gradient_.data() + self.size(), gradient);
    accumulate_bias(biases_[static_cast<size_t>(layer)], *g);
    if (layer == 0 && !input_gradient) break;
    // [dh; dagg] = [W_self W_nbr]^T dz; then node j collects dagg from every neighbour i.
    below->noalias() = stacked_weights_[static_cast<size_t>(layer)].transpose() * *g;
    const Eigen::Index width = self.cols;
    for (Eigen::Index s = 0; s < batch; ++s) {
      for (Eigen::Index j = 0; j < nodes; ++j) {
        auto target = below->col(s * nodes + j).head(width);
        for (int i : neighbours_[static_cast<size_t>(j)]) {
          const auto& list = neighbours_[static_cast<size_t>(i)];
          const auto source = below->col(s * nodes + i).tail(width);
          if (spec_.mean_aggregation) {
            target += source / Scalar(list.size());
          } else {
            target += source;
          }
        }
      }
    }
    *g = below->topRows(width);
  }
  if (input_gradient) {
    *input_gradient = Eigen::Map<const Matrix<Scalar>>(g->data(), nodes, batch);
  }
}

template <typename Scalar>
Matrix<Scalar> Network<Scalar>::weight(int layer) const {
  expand();
  return view(weights_.at(static_cast<size_t>(layer)));
}

template <typename Scalar>
Matrix<Scalar> Network<Scalar>::neighbour_weight(int layer) const {
  expand();
  return view(neighbours_w_.at(static_cast<size_t>(layer)));
}

template <typename Scalar>
Vector<Scalar> Network<Scalar>::bias(int layer) const {
  expand();
  const auto& array = biases_.at(static_cast<size_t>(layer));
  if (array.source.empty()) return Vector<Scalar>::Zero(array.rows);
  return view(array).col(0);
}

template <typename Scalar>
Scalar mse_loss(const Matrix<Scalar>& prediction, const Eigen::Ref<const Matrix<Scalar>>& target,
                Matrix<Scalar>* gradient) {
  const Matrix<Scalar> residual = prediction - target;
  const Scalar batch = Scalar(prediction.cols());
  if (gradient) *gradient = (Scalar(2) / batch) * residual;
  return residual.squaredNorm() / batch;
}

template class Network<float>;
template class Network<double>;
template float mse_loss<float>(const Matrix<float>&, const Eigen::Ref<const Matrix<float>>&,
                               Matrix<float>*);
template double mse_loss<double>(const Matrix<double>&, const Eigen::Ref<const Matrix<double>>&,
                                 Matrix<double>*);

}  // namespace rgflow::nn
