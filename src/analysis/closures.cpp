#include "rgflow/analysis/closures.hpp"

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <array>
#include <cmath>

#include "rgflow/nn/network.hpp"

namespace rgflow::analysis {

using nn::Matrix;
using nn::Vector;

std::vector<double> taylor_coefficients(nn::Activation activation, double x, int order) {
  std::vector<double> c(static_cast<size_t>(order) + 1, 0.0);
  if (activation == nn::Activation::kRelu) {
    // Piecewise linear: the expansion about the mean is the line of the side the mean is on
    // (differences across the kink would blow up).
    c[0] = std::max(x, 0.0);
    if (order >= 1) c[1] = x > 0 ? 1.0 : 0.0;
    return c;
  }
  auto f = [&](double v) { return nn::activation_value(activation, v); };
  const double h = 1e-3 * std::max(1.0, std::abs(x));
  const double f0 = f(x), f1 = f(x + h), f_1 = f(x - h), f2 = f(x + 2 * h), f_2 = f(x - 2 * h);
  c[0] = f0;
  if (order >= 1) c[1] = (-f2 + 8 * f1 - 8 * f_1 + f_2) / (12 * h);
  if (order >= 2) c[2] = (-f2 + 16 * f1 - 30 * f0 + 16 * f_1 - f_2) / (12 * h * h) / 2;
  if (order >= 3) c[3] = (f2 - 2 * f1 + 2 * f_1 - f_2) / (2 * h * h * h) / 6;
  return c;
}

namespace {

// E[prod_i delta_{D_i}^{e_i}] for up to four distinct units D (delta = z - E z), from their
// joint cumulants of order 2..4 (higher ones zero), tabulated for every exponent vector with
// e_i <= limits[i], for kLanes sets of units at once. The recursion takes one factor of the last
// unit p present and sums over the block of the set partition holding it: 1 to 3 further
// factors c, chosen among the remaining ones, C(rest_i, c_i) ways each, times the block's joint
// cumulant and the moment of what is left. Each entry needs only entries of smaller exponents,
// which come first in the table's mixed-radix order, so one pass fills it. Which terms make
// which entry (the program) depends only on the number of units and the limits, not on the
// units: it is built once, and run on the blocks' cumulants of kLanes sets side by side (lane
// l of every array belongs to set l), so each term is one vector multiply-add.
constexpr int kLanes = 8;

class MomentProgram {
 public:
  MomentProgram(int r, const std::vector<int>& limits) : r_(r) {
    int size = 1;
    for (int i = 0; i < r_; ++i) {
      stride_[static_cast<size_t>(i)] = size;
      size *= limits[static_cast<size_t>(i)] + 1;
    }
    size_ = size;
    // For each unit p: every choice c of 1 to 3 further factors that some entry can hold.
    std::array<std::vector<int>, 4> blocks_of;
    for (int p = 0; p < r_; ++p) {
      std::array<int, 4> c{0, 0, 0, 0};
      for (c[0] = 0; c[0] <= (r_ > 0 ? 3 : 0); ++c[0]) {
        for (c[1] = 0; c[1] <= (r_ > 1 ? 3 - c[0] : 0); ++c[1]) {
          for (c[2] = 0; c[2] <= (r_ > 2 ? 3 - c[0] - c[1] : 0); ++c[2]) {
            for (c[3] = 0; c[3] <= (r_ > 3 ? 3 - c[0] - c[1] - c[2] : 0); ++c[3]) {
              const int taken = c[0] + c[1] + c[2] + c[3];
              if (taken == 0) continue;
              bool possible = true;
              int offset = 0;
              for (int i = 0; i < r_; ++i) {
                possible = possible && c[static_cast<size_t>(i)] + (i == p ? 1 : 0) <=
                                           limits[static_cast<size_t>(i)];
                offset += c[static_cast<size_t>(i)] * stride_[static_cast<size_t>(i)];
              }
              if (!possible) continue;
              blocks_of[static_cast<size_t>(p)].push_back(static_cast<int>(blocks_.size()));
              blocks_.push_back({p, c, taken, offset});
            }
          }
        }
      }
    }
    std::array<int, 4> e{0, 0, 0, 0};
    term_start_.push_back(0);
    for (int key = 0; key < size_; ++key) {
      int total = 0, p = -1;
      for (int i = 0; i < r_; ++i) {
        total += e[static_cast<size_t>(i)];
        if (e[static_cast<size_t>(i)] > 0) p = i;
      }
      if (total >= 2) {
        std::array<int, 4> rest = e;  // one factor of unit p taken
        --rest[static_cast<size_t>(p)];
        const int base = key - stride_[static_cast<size_t>(p)];
        for (int b : blocks_of[static_cast<size_t>(p)]) {
          const Block& block = blocks_[static_cast<size_t>(b)];
          double ways = 1;
          bool fits = true;
          for (int i = 0; i < r_ && fits; ++i) {
            const int n = rest[static_cast<size_t>(i)], k = block.c[static_cast<size_t>(i)];
            fits = k <= n;
            for (int j = 1; fits && j <= k; ++j) ways = ways * double(n - k + j) / double(j);
          }
          if (fits) terms_.push_back({b, base - block.offset, ways});
        }
      }
      term_start_.push_back(static_cast<int>(terms_.size()));
      for (int i = 0; i < r_; ++i) {  // next exponent vector, e_0 fastest
        if (++e[static_cast<size_t>(i)] <= limits[static_cast<size_t>(i)]) break;
        e[static_cast<size_t>(i)] = 0;
      }
    }
  }

  int size() const { return size_; }
  int block_count() const { return static_cast<int>(blocks_.size()); }
  int key(const std::array<int, 4>& e) const {
    int key = 0;
    for (int i = 0; i < r_; ++i) key += e[static_cast<size_t>(i)] * stride_[static_cast<size_t>(i)];
    return key;
  }

  /// kappa[b * kLanes + lane]: block b's joint cumulant for the set `units` (0 where z lacks
  /// the order).
  void gather(const JointCumulants& z, const std::vector<int>& units, int lane,
              std::vector<double>& kappa) const {
    for (size_t b = 0; b < blocks_.size(); ++b) {
      const Block& block = blocks_[b];
      const auto& tensor = z.kappa[static_cast<size_t>(block.taken)];
      int64_t index = units[static_cast<size_t>(block.p)];
      for (int i = 0; i < r_; ++i) {
        for (int k = 0; k < block.c[static_cast<size_t>(i)]; ++k) {
          index = index * z.width + units[static_cast<size_t>(i)];
        }
      }
      kappa[b * kLanes + static_cast<size_t>(lane)] =
          tensor.empty() ? 0.0 : tensor[static_cast<size_t>(index)];
    }
  }

  /// table[key * kLanes + lane]: the moments of every lane's set.
  void run(const std::vector<double>& kappa, std::vector<double>& table) const {
    table.resize(static_cast<size_t>(size_) * kLanes);
    for (int key = 0; key < size_; ++key) {
      double sum[kLanes];
      for (int l = 0; l < kLanes; ++l) sum[l] = key == 0 ? 1.0 : 0.0;
      for (int t = term_start_[static_cast<size_t>(key)];
           t < term_start_[static_cast<size_t>(key) + 1]; ++t) {
        const Term& term = terms_[static_cast<size_t>(t)];
        const double* k = kappa.data() + static_cast<size_t>(term.block) * kLanes;
        const double* m = table.data() + static_cast<size_t>(term.source) * kLanes;
        for (int l = 0; l < kLanes; ++l) sum[l] += term.ways * k[l] * m[l];
      }
      std::copy(sum, sum + kLanes, table.data() + static_cast<size_t>(key) * kLanes);
    }
  }

 private:
  struct Block {
    int p;                 // the unit whose factor the block holds
    std::array<int, 4> c;  // further factors taken from each unit
    int taken;             // their number: the block's cumulant has order taken + 1
    int offset;            // table offset of c
  };
  struct Term {
    int block;
    int source;   // the entry of the factors left over
    double ways;  // prod_i C(rest_i, c_i)
  };

  int r_;
  int size_ = 0;
  std::array<int, 4> stride_{0, 0, 0, 0};
  std::vector<Block> blocks_;
  std::vector<Term> terms_;
  std::vector<int> term_start_;  // terms of entry key: [term_start_[key], term_start_[key + 1])
};

// Every sorted tuple of 2..max_order units is a set of r <= 4 distinct units u_1 < ... < u_r
// with multiplicities m_i >= 1. The closures visit each set once and compute the central moments
// of all its tuples from what they share (a moment table, a quadrature grid), writing them into
// dense tables indexed like the cumulant tensors (only sorted tuples' entries are used).
using Pattern = std::array<int, 4>;

std::vector<Pattern> multiplicity_patterns(int r, int max_order) {
  std::vector<Pattern> patterns;
  Pattern m{0, 0, 0, 0};
  for (int i = 0; i < r; ++i) m[static_cast<size_t>(i)] = 1;
  while (true) {
    int total = 0;
    for (int i = 0; i < r; ++i) total += m[static_cast<size_t>(i)];
    if (total >= 2 && total <= max_order) patterns.push_back(m);
    int i = 0;
    while (i < r && ++m[static_cast<size_t>(i)] > max_order) m[static_cast<size_t>(i++)] = 1;
    if (i == r) break;
  }
  return patterns;
}

// Steps `units` (increasing, each < width) to the next subset of its size in lexicographic
// order; false after the last.
bool next_subset(std::vector<int>& units, int width) {
  const int r = static_cast<int>(units.size());
  int i = r - 1;
  while (i >= 0 && units[static_cast<size_t>(i)] == width - r + i) --i;
  if (i < 0) return false;
  ++units[static_cast<size_t>(i)];
  for (int j = i + 1; j < r; ++j)
    units[static_cast<size_t>(j)] = units[static_cast<size_t>(j - 1)] + 1;
  return true;
}

// Calls visit(units, patterns) for every set of 1..min(4, max_order) distinct units (increasing)
// with the multiplicity patterns of the tuples over it.
template <typename Visit>
void for_each_unit_set(int width, int max_order, Visit&& visit) {
  for (int r = 1; r <= std::min(4, max_order); ++r) {
    const std::vector<Pattern> patterns = multiplicity_patterns(r, max_order);
    std::vector<int> units(static_cast<size_t>(r));
    for (int i = 0; i < r; ++i) units[static_cast<size_t>(i)] = i;
    if (r > width) continue;
    do {
      visit(units, patterns);
    } while (next_subset(units, width));
  }
}

// The sorted tuple of `units` repeated by `m`.
std::vector<int> expand(const std::vector<int>& units, const Pattern& m) {
  std::vector<int> t;
  for (size_t i = 0; i < units.size(); ++i) t.insert(t.end(), static_cast<size_t>(m[i]), units[i]);
  return t;
}

// Dense central-moment tables of orders 0..max_order (entries at sorted tuples only).
class CentralTables {
 public:
  CentralTables(int width, int max_order)
      : width_(width), tables_(static_cast<size_t>(max_order) + 1) {
    for (int n = 2; n <= max_order; ++n) {
      tables_[static_cast<size_t>(n)].assign(static_cast<size_t>(tensor_size(width, n)), 0.0);
    }
  }
  double& at(const std::vector<int>& t) {
    return tables_[t.size()][static_cast<size_t>(flat_index(t, width_))];
  }
  double operator()(const std::vector<int>& t) const {
    return tables_[t.size()][static_cast<size_t>(flat_index(t, width_))];
  }

 private:
  int width_;
  std::vector<std::vector<double>> tables_;
};

// Sets of distinct units up to the symmetries of a layer: a set is computed when it is the
// smallest (lexicographically, sorted) of its images, and its tuples' values are stored at
// their images too.
class UnitSymmetry {
 public:
  explicit UnitSymmetry(const std::vector<std::vector<int>>& symmetries)
      : symmetries_(symmetries) {}

  bool canonical(const std::vector<int>& units) const {
    for (const auto& g : symmetries_) {
      image_.clear();
      for (int u : units) image_.push_back(g[static_cast<size_t>(u)]);
      std::sort(image_.begin(), image_.end());
      if (image_ < units) return false;
    }
    return true;
  }

  /// central(units repeated by m) = value, and the same at every image of that tuple.
  void store(CentralTables& central, const std::vector<int>& units, const Pattern& m,
             double value) const {
    central.at(expand(units, m)) = value;
    for (const auto& g : symmetries_) {
      image_.clear();
      for (size_t i = 0; i < units.size(); ++i) {
        image_.insert(image_.end(), static_cast<size_t>(m[i]), g[static_cast<size_t>(units[i])]);
      }
      std::sort(image_.begin(), image_.end());
      central.at(image_) = value;
    }
  }

 private:
  const std::vector<std::vector<int>>& symmetries_;
  mutable std::vector<int> image_;
};

}  // namespace

JointCumulants taylor_closure(const JointCumulants& z, nn::Activation activation, int order,
                              int max_order, const std::vector<std::vector<int>>& symmetries) {
  const UnitSymmetry symmetry(symmetries);
  const int w = z.width;
  std::vector<std::vector<double>> coefficients(static_cast<size_t>(w));
  std::vector<double> mean(static_cast<size_t>(w));
  {
    const MomentProgram program(1, {order});
    std::vector<double> kappa(static_cast<size_t>(program.block_count()) * kLanes), table;
    for (int a = 0; a < w; ++a) {
      auto& c = coefficients[static_cast<size_t>(a)];
      c = taylor_coefficients(activation, z.kappa[0][static_cast<size_t>(a)], order);
      program.gather(z, {a}, 0, kappa);
      program.run(kappa, table);
      double m = 0;
      for (int j = 0; j <= order; ++j) {
        m += c[static_cast<size_t>(j)] *
             table[static_cast<size_t>(program.key({j, 0, 0, 0})) * kLanes];
      }
      mean[static_cast<size_t>(a)] = m;
      c[0] -= m;  // phi(z_a) - E phi(z_a) as a polynomial in delta_a
    }
  }
  // Per set of distinct units one moment table, large enough for every tuple over the set (an
  // entry does not depend on the table's extent); per tuple the sum over the powers (j_1..j_k)
  // of prod c_{t_i, j_i} E[prod delta_{t_i}^{j_i}]. Sets of r units share their limits, so they
  // go through one program, kLanes at a time.
  CentralTables central(w, max_order);
  for (int r = 1; r <= std::min(4, max_order) && r <= w; ++r) {
    const std::vector<Pattern> patterns = multiplicity_patterns(r, max_order);
    if (patterns.empty()) continue;
    std::vector<int> limits(static_cast<size_t>(r), 0);
    for (const Pattern& m : patterns) {
      for (int i = 0; i < r; ++i) {
        limits[static_cast<size_t>(i)] =
            std::max(limits[static_cast<size_t>(i)], order * m[static_cast<size_t>(i)]);
      }
    }
    const MomentProgram program(r, limits);
    // Per pattern: the position in the set of each factor of its tuples, and every choice of
    // powers (j_1..j_n) with the table entry of the exponents it makes.
    struct Powers {
      std::array<int, 4> j;
      size_t key;
    };
    std::vector<std::vector<int>> positions;
    std::vector<std::vector<Powers>> choices;
    for (const Pattern& m : patterns) {
      std::vector<int> position;
      for (int i = 0; i < r; ++i)
        position.insert(position.end(), static_cast<size_t>(m[static_cast<size_t>(i)]), i);
      std::vector<Powers> list;
      std::array<int, 4> j{0, 0, 0, 0};
      const size_t n = position.size();
      while (true) {
        std::array<int, 4> e{0, 0, 0, 0};
        for (size_t i = 0; i < n; ++i) e[static_cast<size_t>(position[i])] += j[i];
        list.push_back({j, static_cast<size_t>(program.key(e)) * kLanes});
        size_t next = 0;
        while (next < n && ++j[next] > order) j[next++] = 0;
        if (next == n) break;
      }
      positions.push_back(std::move(position));
      choices.push_back(std::move(list));
    }
    std::vector<double> kappa(static_cast<size_t>(program.block_count()) * kLanes), table;
    std::vector<double> coefficient(4 * static_cast<size_t>(order + 1) * kLanes);
    std::vector<std::vector<int>> batch;
    auto flush = [&] {
      for (size_t lane = 0; lane < kLanes; ++lane) {
        program.gather(z, batch[std::min(lane, batch.size() - 1)], static_cast<int>(lane), kappa);
      }
      program.run(kappa, table);
      for (size_t k = 0; k < patterns.size(); ++k) {
        const std::vector<int>& position = positions[k];
        const size_t n = position.size();
        // coefficient[(i * (order + 1) + j) * kLanes + lane]: c_{t_i, j} of lane's tuple.
        for (size_t i = 0; i < n; ++i) {
          for (int j = 0; j <= order; ++j) {
            for (size_t lane = 0; lane < kLanes; ++lane) {
              const int unit =
                  batch[std::min(lane, batch.size() - 1)][static_cast<size_t>(position[i])];
              coefficient[(i * static_cast<size_t>(order + 1) + static_cast<size_t>(j)) * kLanes +
                          lane] = coefficients[static_cast<size_t>(unit)][static_cast<size_t>(j)];
            }
          }
        }
        double total[kLanes] = {};
        for (const Powers& p : choices[k]) {
          double product[kLanes];
          for (size_t lane = 0; lane < kLanes; ++lane) product[lane] = 1;
          for (size_t i = 0; i < n; ++i) {
            const double* c =
                coefficient.data() +
                (i * static_cast<size_t>(order + 1) + static_cast<size_t>(p.j[i])) * kLanes;
            for (size_t lane = 0; lane < kLanes; ++lane) product[lane] *= c[lane];
          }
          const double* moment = table.data() + p.key;
          for (size_t lane = 0; lane < kLanes; ++lane) total[lane] += product[lane] * moment[lane];
        }
        for (size_t lane = 0; lane < batch.size(); ++lane) {
          symmetry.store(central, batch[lane], patterns[k], total[lane]);
        }
      }
      batch.clear();
    };
    std::vector<int> units(static_cast<size_t>(r));
    for (int i = 0; i < r; ++i) units[static_cast<size_t>(i)] = i;
    do {
      if (!symmetry.canonical(units)) continue;
      batch.push_back(units);
      if (batch.size() == kLanes) flush();
    } while (next_subset(units, w));
    if (!batch.empty()) flush();
  }
  return joint_cumulants_from_central(mean, max_order,
                                      [&central](const std::vector<int>& t) { return central(t); });
}

std::vector<Vector<double>> gaussian_directions(const std::vector<double>& covariance, int width,
                                                const std::vector<int>& units) {
  const int r = static_cast<int>(units.size());
  Matrix<double> sub(r, r);
  for (int i = 0; i < r; ++i)
    for (int j = 0; j < r; ++j)
      sub(i, j) = covariance[static_cast<size_t>(units[static_cast<size_t>(i)] * width +
                                                 units[static_cast<size_t>(j)])];
  Eigen::SelfAdjointEigenSolver<Matrix<double>> solver(sub);
  const double largest = std::max(solver.eigenvalues().maxCoeff(), 0.0);
  std::vector<Vector<double>> directions;
  for (int k = 0; k < r; ++k) {
    const double lambda = solver.eigenvalues()(k);
    if (lambda > 1e-13 * std::max(largest, 1e-300)) {
      directions.push_back(solver.eigenvectors().col(k) * std::sqrt(lambda));
    }
  }
  return directions;
}

void gauss_hermite_rule(int points, std::vector<double>& nodes, std::vector<double>& weights) {
  Matrix<double> jacobi = Matrix<double>::Zero(points, points);
  for (int k = 1; k < points; ++k) jacobi(k, k - 1) = jacobi(k - 1, k) = std::sqrt(double(k));
  Eigen::SelfAdjointEigenSolver<Matrix<double>> solver(jacobi);
  nodes.resize(static_cast<size_t>(points));
  weights.resize(static_cast<size_t>(points));
  for (int k = 0; k < points; ++k) {
    nodes[static_cast<size_t>(k)] = solver.eigenvalues()(k);
    const double v = solver.eigenvectors()(0, k);
    weights[static_cast<size_t>(k)] = v * v;
  }
}

std::vector<double> gauss_unit_means(const JointCumulants& z, nn::Activation activation,
                                     const std::vector<double>& nodes,
                                     const std::vector<double>& weights) {
  const int w = z.width;
  const auto& mu = z.kappa[0];
  const auto& cov = z.kappa[1];
  std::vector<double> mean(static_cast<size_t>(w));
  for (int a = 0; a < w; ++a) {
    const double sd = std::sqrt(std::max(0.0, cov[static_cast<size_t>(a * w + a)]));
    double m = 0;
    for (size_t k = 0; k < nodes.size(); ++k) {
      m +=
          weights[k] * nn::activation_value(activation, mu[static_cast<size_t>(a)] + sd * nodes[k]);
    }
    mean[static_cast<size_t>(a)] = m;
  }
  return mean;
}

JointCumulants gauss_closure(const JointCumulants& z, nn::Activation activation, int points,
                             int max_order, const std::vector<std::vector<int>>& symmetries) {
  const UnitSymmetry symmetry(symmetries);
  const int w = z.width;
  std::vector<double> nodes, weights;
  gauss_hermite_rule(points, nodes, weights);
  const auto& mu = z.kappa[0];
  const auto& cov = z.kappa[1];
  const std::vector<double> mean = gauss_unit_means(z, activation, nodes, weights);
  // Central moments of phi over each set of distinct units D: z_D = mu_D + V sqrt(L) u with the
  // eigen-decomposition of the covariance of D (rank-deficient ones integrate over fewer
  // dimensions: tied units are perfectly correlated). One decomposition and one grid per set,
  // phi evaluated once per node and unit, every tuple over the set summed from those values.
  // The weight of grid node n = g_0 + P g_1 + ... (P points; dimension 0 fastest) of a q-dim
  // grid, q = 0..4: ((1 w_{g_0}) w_{g_1}) ..., built dimension by dimension.
  std::array<std::vector<double>, 5> grid_weight;
  grid_weight[0] = {1.0};
  for (size_t q = 1; q < grid_weight.size(); ++q) {
    const std::vector<double>& lower = grid_weight[q - 1];
    for (int g = 0; g < points; ++g) {
      for (double v : lower) grid_weight[q].push_back(v * weights[static_cast<size_t>(g)]);
    }
  }
  CentralTables central(w, max_order);
  std::vector<double> centred;
  for_each_unit_set(
      w, max_order, [&](const std::vector<int>& units, const std::vector<Pattern>& patterns) {
        if (!symmetry.canonical(units)) return;
        const int r = static_cast<int>(units.size());
        const std::vector<Vector<double>> directions = gaussian_directions(cov, w, units);
        const int q = static_cast<int>(directions.size());
        const std::vector<double>& node_weight = grid_weight[static_cast<size_t>(q)];
        const size_t count = node_weight.size();
        centred.resize(count * static_cast<size_t>(r));
        // Unit i's coordinate at every node, (mu_i + A_i0 x_{g_0}) + A_i1 x_{g_1} + ...: the
        // first P^(d+1) entries from the first P^d, one dimension at a time (contiguous runs the
        // compiler vectorises), summed in the order of the per-tuple quadrature this replaces.
        for (int i = 0; i < r; ++i) {
          double* coordinate = centred.data() + static_cast<size_t>(i) * count;
          coordinate[0] = mu[static_cast<size_t>(units[static_cast<size_t>(i)])];
          size_t filled = 1;
          for (int d = 0; d < q; ++d) {
            const double direction = directions[static_cast<size_t>(d)](i);
            for (int g = points - 1; g >= 0;
                 --g) {  // the block g = 0 last: it overwrites the source
              const double step = direction * nodes[static_cast<size_t>(g)];
              double* target = coordinate + static_cast<size_t>(g) * filled;
              for (size_t n = 0; n < filled; ++n) target[n] = coordinate[n] + step;
            }
            filled *= static_cast<size_t>(points);
          }
        }
        // phi at every node and unit: the networks' own batch activation, values only (tanh in
        // vector lanes: std::tanh at each node was most of this closure's time).
        nn::apply_activation(activation, centred.data(), static_cast<double*>(nullptr),
                             static_cast<Eigen::Index>(centred.size()));
        for (int i = 0; i < r; ++i) {
          double* values = centred.data() + static_cast<size_t>(i) * count;
          const double unit_mean = mean[static_cast<size_t>(units[static_cast<size_t>(i)])];
          for (size_t n = 0; n < count; ++n) values[n] -= unit_mean;
        }
        // Per tuple over the set: sum_n w_n prod_i centred_i(n)^{m_i}, in 8 interleaved partial
        // sums (vector lanes) added at the end.
        constexpr size_t kLanes = 8;
        for (const Pattern& m : patterns) {
          std::array<double, kLanes> lanes{};
          size_t n = 0;
          for (; n + kLanes <= count; n += kLanes) {
            std::array<double, kLanes> product;
            for (size_t l = 0; l < kLanes; ++l) product[l] = node_weight[n + l];
            for (int i = 0; i < r; ++i) {
              const double* values = centred.data() + static_cast<size_t>(i) * count + n;
              for (int k = 0; k < m[static_cast<size_t>(i)]; ++k) {
                for (size_t l = 0; l < kLanes; ++l) product[l] *= values[l];
              }
            }
            for (size_t l = 0; l < kLanes; ++l) lanes[l] += product[l];
          }
          double total = 0;
          for (; n < count; ++n) {
            double product = node_weight[n];
            for (int i = 0; i < r; ++i) {
              for (int k = 0; k < m[static_cast<size_t>(i)]; ++k) {
                product *= centred[static_cast<size_t>(i) * count + n];
              }
            }
            total += product;
          }
          for (double lane : lanes) total += lane;
          symmetry.store(central, units, m, total);
        }
      });
  return joint_cumulants_from_central(mean, max_order,
                                      [&central](const std::vector<int>& t) { return central(t); });
}

}  // namespace rgflow::analysis
