// Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror and Shaw (SC'11): a keyed
// bijection of 128-bit counters. Random numbers are a pure function of (key, counter), so any
// site of any sample can be computed alone, by any rank, in any order.
#pragma once

#include <array>
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define RGFLOW_HAVE_AVX2_KERNELS 1
// A function compiled for AVX2 whatever the build's -march, called only after
// cpu_has_avx2(): the portable build (RGFLOW_NATIVE off) keeps its speed on AVX2 machines.
#define RGFLOW_TARGET_AVX2 __attribute__((target("avx2")))
#endif

namespace rgflow::field {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

/// The key of a 64-bit seed: (low word, high word). Every random stream of rgflow is keyed so.
inline PhiloxKey philox_key(uint64_t seed) {
  return {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
}

namespace detail {
constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1
}  // namespace detail

/// Ten rounds of Philox4x32 on `counter` under `key`.
inline PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key[0] += detail::kPhiloxW0;
      key[1] += detail::kPhiloxW1;
    }
    const uint64_t product0 = uint64_t{detail::kPhiloxM0} * counter[0];
    const uint64_t product1 = uint64_t{detail::kPhiloxM1} * counter[2];
    const uint32_t hi0 = static_cast<uint32_t>(product0 >> 32),
                   lo0 = static_cast<uint32_t>(product0);
    const uint32_t hi1 = static_cast<uint32_t>(product1 >> 32),
                   lo1 = static_cast<uint32_t>(product1);
    counter = {hi1 ^ counter[1] ^ key[0], lo1, hi0 ^ counter[3] ^ key[1], lo0};
  }
  return counter;
}

#ifdef __AVX512F__
namespace detail {
// The high and low 32 bits of m times each 32-bit lane of x. A vector multiply (32 x 32 -> 64)
// takes the even lanes only, so the odd lanes are shifted down, multiplied apart and the halves
// blended back into place. Zero-masking forms with every lane selected: the plain ones start
// from _mm512_undefined_epi32, which GCC 12 reports as used uninitialised.
inline void mulhilo_avx512(__m512i x, __m512i m, __m512i& hi, __m512i& lo) {
  constexpr __mmask8 kAll = 0xff;
  constexpr __mmask16 kOdd = 0xAAAA;
  const __m512i even = _mm512_maskz_mul_epu32(kAll, x, m);
  const __m512i odd = _mm512_maskz_mul_epu32(kAll, _mm512_maskz_srli_epi64(kAll, x, 32), m);
  hi = _mm512_mask_blend_epi32(kOdd, _mm512_maskz_srli_epi64(kAll, even, 32), odd);
  lo = _mm512_mask_blend_epi32(kOdd, even, _mm512_maskz_slli_epi64(kAll, odd, 32));
}

// Ten rounds on G x 16 counters in the batch layout (word k of counter i in lane i % 16 of
// x[k][i / 16]); the G groups' rounds interleave so their multiply latencies overlap.
template <int G>
inline void philox4x32_10_avx512(__m512i (&x)[4][G], PhiloxKey key) {
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(kPhiloxM0));
  const __m512i m1 = _mm512_set1_epi32(static_cast<int>(kPhiloxM1));
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    const __m512i key0 = _mm512_set1_epi32(static_cast<int>(k0));
    const __m512i key1 = _mm512_set1_epi32(static_cast<int>(k1));
    for (int g = 0; g < G; ++g) {
      __m512i hi0, lo0, hi1, lo1;
      mulhilo_avx512(x[0][g], m0, hi0, lo0);
      mulhilo_avx512(x[2][g], m1, hi1, lo1);
      x[0][g] = _mm512_ternarylogic_epi32(hi1, x[1][g], key0, 0x96);  // three-way xor
      x[1][g] = lo1;
      x[2][g] = _mm512_ternarylogic_epi32(hi0, x[3][g], key1, 0x96);
      x[3][g] = lo0;
    }
    k0 += kPhiloxW0;
    k1 += kPhiloxW1;
  }
}
}  // namespace detail
#endif

/// Ten rounds of Philox4x32 on `n` counters at once, held word by word (x0[i], x1[i], x2[i],
/// x3[i]: counter i), in place: the same bits as philox4x32_10 on each, in vector lanes (the
/// generators' batches): AVX-512 registers where the build targets them, otherwise loops the
/// compiler vectorises. The AVX-512 path is about twice as fast as the compiler's (it spreads the
/// 32-bit lanes for the 32 x 32 -> 64 multiplies with permutes).
inline void philox4x32_10_batch(uint32_t* __restrict x0, uint32_t* __restrict x1,
                                uint32_t* __restrict x2, uint32_t* __restrict x3, int n,
                                PhiloxKey key) {
#ifdef __AVX512F__
  uint32_t* const words[4] = {x0, x1, x2, x3};
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512i x[4][2];
    for (int k = 0; k < 4; ++k) {
      x[k][0] = _mm512_loadu_si512(words[k] + i);
      x[k][1] = _mm512_loadu_si512(words[k] + i + 16);
    }
    detail::philox4x32_10_avx512<2>(x, key);
    for (int k = 0; k < 4; ++k) {
      _mm512_storeu_si512(words[k] + i, x[k][0]);
      _mm512_storeu_si512(words[k] + i + 16, x[k][1]);
    }
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes = static_cast<__mmask16>(n - i >= 16 ? 0xffff : (1u << (n - i)) - 1);
    __m512i x[4][1];
    for (int k = 0; k < 4; ++k) x[k][0] = _mm512_maskz_loadu_epi32(lanes, words[k] + i);
    detail::philox4x32_10_avx512<1>(x, key);
    for (int k = 0; k < 4; ++k) _mm512_mask_storeu_epi32(words[k] + i, lanes, x[k][0]);
  }
#else
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < n; ++i) {
      const uint64_t p0 = uint64_t{detail::kPhiloxM0} * x0[i];
      const uint64_t p1 = uint64_t{detail::kPhiloxM1} * x2[i];
      const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ x1[i] ^ k0;
      const uint32_t n1 = static_cast<uint32_t>(p1);
      const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ x3[i] ^ k1;
      const uint32_t n3 = static_cast<uint32_t>(p0);
      x0[i] = n0;
      x1[i] = n1;
      x2[i] = n2;
      x3[i] = n3;
    }
    k0 += detail::kPhiloxW0;
    k1 += detail::kPhiloxW1;
  }
#endif
}

#if RGFLOW_HAVE_AVX2_KERNELS
/// Whether the running CPU has AVX2 (the AVX2 kernels' dispatch).
inline bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2") != 0;
  return has;
}

/// Four Philox4x32 counters in AVX2 registers: lane i (of four 64-bit lanes) of x[k] holds word
/// k of counter i in its low 32 bits; the high 32 bits are ignored on input and undefined on
/// output.
struct PhiloxLanesAvx2 {
  __m256i x[4];
};

/// Ten rounds of Philox4x32 on N x 4 counters, in place: the same bits as philox4x32_10 on each.
/// The batch above, in the layout where one vector multiply (32 x 32 -> 64 bits per lane) gives
/// both halves of a product, so a round is 2 multiplies, 2 shifts and 4 xors per 4 counters; the
/// N groups' rounds interleave so their multiply latencies overlap. For kernels that consume the
/// words in registers (the Ising heat bath).
template <int N>
RGFLOW_TARGET_AVX2 inline void philox4x32_10_avx2(PhiloxLanesAvx2 (&c)[N], PhiloxKey key) {
  const __m256i m0 = _mm256_set1_epi64x(detail::kPhiloxM0);
  const __m256i m1 = _mm256_set1_epi64x(detail::kPhiloxM1);
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    const __m256i key0 = _mm256_set1_epi32(static_cast<int>(k0));
    const __m256i key1 = _mm256_set1_epi32(static_cast<int>(k1));
    for (int j = 0; j < N; ++j) {
      __m256i* x = c[j].x;
      // x1 ^ key and x3 ^ key do not wait for the multiplies.
      const __m256i keyed1 = _mm256_xor_si256(x[1], key0);
      const __m256i keyed3 = _mm256_xor_si256(x[3], key1);
      const __m256i p0 = _mm256_mul_epu32(x[0], m0);
      const __m256i p1 = _mm256_mul_epu32(x[2], m1);
      x[0] = _mm256_xor_si256(_mm256_srli_epi64(p1, 32), keyed1);
      x[1] = p1;
      x[2] = _mm256_xor_si256(_mm256_srli_epi64(p0, 32), keyed3);
      x[3] = p0;
    }
    k0 += detail::kPhiloxW0;
    k1 += detail::kPhiloxW1;
  }
}
#endif

/// The uniform variate (w + 1/2) 2^-32 in the open interval (0, 1); exact in double.
inline double uniform_open01(uint32_t word) {
  return (static_cast<double>(word) + 0.5) * 0x1p-32;
}

}  // namespace rgflow::field
