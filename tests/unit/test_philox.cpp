// Philox4x32-10 against the known-answer vectors published with Random123 (tests/kat_vectors):
// counter (4 words), key (2 words) -> output (4 words).
#include <gtest/gtest.h>

#include "rgflow/field/philox.hpp"

namespace rgflow::field {
namespace {

TEST(Philox, KnownAnswerZeros) {
  const PhiloxCounter expected{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), expected);
}

TEST(Philox, KnownAnswerOnes) {
  const PhiloxCounter expected{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu};
  EXPECT_EQ(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                          {0xffffffffu, 0xffffffffu}),
            expected);
}

TEST(Philox, KnownAnswerPiDigits) {
  const PhiloxCounter expected{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u};
  EXPECT_EQ(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                          {0xa4093822u, 0x299f31d0u}),
            expected);
}

TEST(Philox, UniformOpenIntervalIsSymmetricAndExclusive) {
  EXPECT_GT(uniform_open01(0), 0.0);
  EXPECT_LT(uniform_open01(0xffffffffu), 1.0);
  EXPECT_EQ(uniform_open01(0) + uniform_open01(0xffffffffu), 1.0);
}

}  // namespace
}  // namespace rgflow::field
