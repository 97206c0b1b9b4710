// Field generation: the value of site g (global linear index, row-major) of sample s is a pure
// function of (seed, s, g, distribution), so a dataset is bit-identical for any number of ranks
// and any decomposition, and any piece can be regenerated alone.
//
// Random words: Philox4x32-10 with key (seed low 32 bits, seed high 32 bits) and counter
// (c low, c high, s, 0) with c = floor(g / 4) gives four 32-bit words; site g takes word g mod 4.
// Gaussian sites pair up words (0,1) and (2,3) for Box-Muller. Gamma sites each own a stream with
// counter (g low, g high, s, 1 + attempt), since rejection sampling uses a variable number of
// words. Values are computed in double and rounded once to the output type.
#pragma once

#include <cstdint>

#include "rgflow/field/distribution.hpp"
#include "rgflow/lattice/geometry.hpp"

namespace rgflow::field {

/// Value of one site (the reference definition; fill_box must agree with it bit for bit).
double site_value(const Distribution& distribution, uint64_t seed, uint32_t sample, uint64_t site);

/// Fills `out` (shape box.extent, row-major, last axis fastest) with the values of `sample` on
/// the sites of `box`, a box of a lattice of side `side`. T is float or double.
template <typename T>
void fill_box(const Distribution& distribution, uint64_t seed, uint32_t sample, int64_t side,
              const lattice::Box& box, T* out);

/// Fills `count` consecutive sites starting at global index `first_site` (one row of a box).
template <typename T>
void fill_run(const Distribution& distribution, uint64_t seed, uint32_t sample, uint64_t first_site,
              int64_t count, T* out);

}  // namespace rgflow::field
