#include "rgflow/field/generator.hpp"

#include <algorithm>
#include <cmath>

#include "rgflow/field/philox.hpp"

namespace rgflow::field {
namespace {

constexpr double kSqrt3 = 1.7320508075688772935;
constexpr double kTwoPi = 6.283185307179586477;
constexpr double kInvSqrt2 = 0.70710678118654752440;

// Per-word transforms of the four-words-per-call distributions. Each is symmetric where the
// distribution is: uniform maps w and 2^32-1-w to opposite values exactly.
inline double uniform_value(uint32_t w) {
  return kSqrt3 * ((2.0 * static_cast<double>(w) + 1.0) * 0x1p-32 - 1.0);
}
inline double rademacher_value(uint32_t w) {
  return (w >> 31) ? 1.0 : -1.0;
}
inline double laplace_value(uint32_t w) {
  // Sign from the top bit, magnitude by inversion of the exponential from the other 31 bits;
  // scale 1/sqrt(2) gives unit variance.
  const double u = (static_cast<double>(w & 0x7FFFFFFFu) + 0.5) * 0x1p-31;
  const double magnitude = -kInvSqrt2 * std::log(u);
  return (w >> 31) ? magnitude : -magnitude;
}
inline double exponential_value(uint32_t w) {
  return -std::log(uniform_open01(w)) - 1.0;
}
inline double gaussian_value(uint32_t radial_word, uint32_t angle_word, bool sine) {
  const double radius = std::sqrt(-2.0 * std::log(uniform_open01(radial_word)));
  const double angle = kTwoPi * uniform_open01(angle_word);
  return radius * (sine ? std::sin(angle) : std::cos(angle));
}

// Marsaglia-Tsang (2000) for shape >= 1, with the U^(1/a) boost for shape < 1; each attempt
// draws one Philox block of the site's own stream.
double gamma_value(double shape, PhiloxKey key, uint32_t sample, uint64_t site) {
  const double boosted = shape < 1 ? shape + 1 : shape;
  const double d = boosted - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (uint32_t attempt = 1;; ++attempt) {
    const PhiloxCounter w = philox4x32_10(
        {static_cast<uint32_t>(site), static_cast<uint32_t>(site >> 32), sample, attempt}, key);
    const double x = gaussian_value(w[0], w[1], false);
    const double t = 1.0 + c * x;
    if (t <= 0) continue;
    const double v = t * t * t;
    const double u = uniform_open01(w[2]);
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) {
      double value = d * v;
      if (shape < 1) value *= std::pow(uniform_open01(w[3]), 1.0 / shape);
      return (value - shape) / std::sqrt(shape);
    }
  }
}

inline double word_value(DistributionKind kind, const PhiloxCounter& w, unsigned lane) {
  switch (kind) {
    case DistributionKind::kUniform:
      return uniform_value(w[lane]);
    case DistributionKind::kRademacher:
      return rademacher_value(w[lane]);
    case DistributionKind::kLaplace:
      return laplace_value(w[lane]);
    case DistributionKind::kExponential:
      return exponential_value(w[lane]);
    case DistributionKind::kGaussian:
      return gaussian_value(w[lane & 2u], w[(lane & 2u) | 1u], (lane & 1u) != 0);
    case DistributionKind::kGamma:
      break;  // not word-based
  }
  return 0;
}

// Words for `groups` consecutive counters starting at `first_group`, structure-of-arrays so the
// rounds vectorise across counters.
constexpr int kBatch = 64;
struct WordBatch {
  uint32_t w[4][kBatch];
};

void philox_batch(PhiloxKey key, uint32_t sample, uint64_t first_group, int groups,
                  WordBatch* out) {
  uint32_t c0[kBatch], c1[kBatch], c2[kBatch], c3[kBatch];
  for (int i = 0; i < groups; ++i) {
    const uint64_t group = first_group + static_cast<uint64_t>(i);
    c0[i] = static_cast<uint32_t>(group);
    c1[i] = static_cast<uint32_t>(group >> 32);
    c2[i] = sample;
    c3[i] = 0;
  }
  philox4x32_10_batch(c0, c1, c2, c3, groups, key);
  for (int i = 0; i < groups; ++i) {
    out->w[0][i] = c0[i];
    out->w[1][i] = c1[i];
    out->w[2][i] = c2[i];
    out->w[3][i] = c3[i];
  }
}

// Values for sites [site, end_site) from a batch of words whose first counter is first_group.
// The distribution is a template parameter so the per-site switch folds away.
template <DistributionKind Kind, typename T>
void words_to_values(const WordBatch& batch, uint64_t first_group, uint64_t site, uint64_t end_site,
                     T* out) {
  if (site == first_group * 4 && (end_site - site) % 4 == 0) {
    // Whole counters: the hot path, lanes unrolled.
    const int groups = static_cast<int>((end_site - site) / 4);
    for (int i = 0; i < groups; ++i) {
      const PhiloxCounter w{batch.w[0][i], batch.w[1][i], batch.w[2][i], batch.w[3][i]};
      for (unsigned lane = 0; lane < 4; ++lane) {
        out[4 * i + static_cast<int>(lane)] = static_cast<T>(word_value(Kind, w, lane));
      }
    }
    return;
  }
  for (uint64_t s = site; s < end_site; ++s) {
    const int i = static_cast<int>(s / 4 - first_group);
    const PhiloxCounter w{batch.w[0][i], batch.w[1][i], batch.w[2][i], batch.w[3][i]};
    out[s - site] = static_cast<T>(word_value(Kind, w, static_cast<unsigned>(s % 4)));
  }
}

template <DistributionKind Kind, typename T>
void fill_run_words(PhiloxKey key, uint32_t sample, uint64_t first_site, uint64_t end_site,
                    T* out) {
  WordBatch batch;
  uint64_t site = first_site;
  while (site < end_site) {
    const uint64_t first_group = site / 4;
    const uint64_t last_group = (end_site - 1) / 4;
    const int groups = static_cast<int>(std::min<uint64_t>(kBatch, last_group - first_group + 1));
    philox_batch(key, sample, first_group, groups, &batch);
    const uint64_t batch_end = std::min(end_site, (first_group + groups) * 4);
    words_to_values<Kind>(batch, first_group, site, batch_end, out + (site - first_site));
    site = batch_end;
  }
}

}  // namespace

double site_value(const Distribution& distribution, uint64_t seed, uint32_t sample, uint64_t site) {
  const PhiloxKey key = philox_key(seed);
  if (distribution.kind == DistributionKind::kGamma) {
    return gamma_value(distribution.gamma_shape, key, sample, site);
  }
  const uint64_t group = site / 4;
  const PhiloxCounter w = philox4x32_10(
      {static_cast<uint32_t>(group), static_cast<uint32_t>(group >> 32), sample, 0u}, key);
  return word_value(distribution.kind, w, static_cast<unsigned>(site % 4));
}

template <typename T>
void fill_run(const Distribution& distribution, uint64_t seed, uint32_t sample, uint64_t first_site,
              int64_t count, T* out) {
  const PhiloxKey key = philox_key(seed);
  const uint64_t end_site = first_site + static_cast<uint64_t>(count);
  if (distribution.kind == DistributionKind::kGamma) {
    for (uint64_t site = first_site; site < end_site; ++site) {
      out[site - first_site] =
          static_cast<T>(gamma_value(distribution.gamma_shape, key, sample, site));
    }
    return;
  }
  switch (distribution.kind) {
    case DistributionKind::kGaussian:
      return fill_run_words<DistributionKind::kGaussian>(key, sample, first_site, end_site, out);
    case DistributionKind::kUniform:
      return fill_run_words<DistributionKind::kUniform>(key, sample, first_site, end_site, out);
    case DistributionKind::kRademacher:
      return fill_run_words<DistributionKind::kRademacher>(key, sample, first_site, end_site, out);
    case DistributionKind::kLaplace:
      return fill_run_words<DistributionKind::kLaplace>(key, sample, first_site, end_site, out);
    case DistributionKind::kExponential:
      return fill_run_words<DistributionKind::kExponential>(key, sample, first_site, end_site, out);
    case DistributionKind::kGamma:
      break;  // handled above
  }
}

template <typename T>
void fill_box(const Distribution& distribution, uint64_t seed, uint32_t sample, int64_t side,
              const lattice::Box& box, T* out) {
  const int last = box.dim - 1;
  const int64_t row_length = box.extent[last];
  // Rows are runs along the last axis; iterate the other (up to two) axes.
  const int64_t outer0 = box.dim >= 3 ? box.extent[0] : 1;
  const int64_t outer1 = box.dim >= 2 ? box.extent[box.dim - 2] : 1;
  int64_t offset = 0;
  for (int64_t i = 0; i < outer0; ++i) {
    for (int64_t j = 0; j < outer1; ++j) {
      int64_t site = 0;
      if (box.dim >= 3) site = box.begin[0] + i;
      if (box.dim >= 2) site = site * side + box.begin[box.dim - 2] + j;
      site = site * side + box.begin[last];
      fill_run(distribution, seed, sample, static_cast<uint64_t>(site), row_length, out + offset);
      offset += row_length;
    }
  }
}

template void fill_run<float>(const Distribution&, uint64_t, uint32_t, uint64_t, int64_t, float*);
template void fill_run<double>(const Distribution&, uint64_t, uint32_t, uint64_t, int64_t, double*);
template void fill_box<float>(const Distribution&, uint64_t, uint32_t, int64_t, const lattice::Box&,
                              float*);
template void fill_box<double>(const Distribution&, uint64_t, uint32_t, int64_t,
                               const lattice::Box&, double*);

}  // namespace rgflow::field
