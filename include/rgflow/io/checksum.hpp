// Per-sample, per-level checksums of dataset.h5 (docs/schema.md, "/checksums"): a sum over the
// sites of a level of one sample of a 64-bit hash of (level, sample, global site, stored bits),
// modulo 2^64. A sum of per-site terms, so any piece of a sample (a rank's box, a tile, a slab of
// rows) contributes its own partial sum, and the partial sums of any decomposition add up to the
// same checksum: generate computes it from the tiles it writes, info -verify from the slabs it
// reads. Pure functions: no MPI, no HDF5.
#pragma once

#include <cstdint>

#include "rgflow/lattice/geometry.hpp"

namespace rgflow::io {

/// splitmix64's finaliser: a bijection of 64-bit words that mixes every input bit into every
/// output bit.
uint64_t mix64(uint64_t word);

/// The key of (level, sample): mix64(level * 2^56 + sample).
uint64_t checksum_key(int level, int64_t sample);

/// Sum, modulo 2^64, over the sites of `box` (level sites, `side` per axis, row-major inside the
/// box as generate and the reader hold them) of
///   mix64(bits(value) XOR (key + g * 0x9e3779b97f4a7c15)),
/// g the site's global row-major index in the level and bits(value) the value's IEEE bits as an
/// unsigned integer (a float's 32 bits, an int8 spin's 8 bits, zero-extended): the stored
/// little-endian bytes. T is float, double or int8_t (levels of spins). A change of any one value
/// always changes the sum (mix64 is a bijection).
template <typename T>
uint64_t box_checksum(const T* values, const lattice::Box& box, int64_t side, uint64_t key);

}  // namespace rgflow::io
