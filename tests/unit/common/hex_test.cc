// Hex is how nonces, quotes and signatures arrive from outside: every malformed form is refused.
#include "lib/common/hex.h"

#include <gtest/gtest.h>

#include <vector>

namespace cai {
namespace {

TEST(Hex, RoundTripsAndAcceptsEitherCaseAndAPrefix) {
  const std::vector<uint8_t> bytes = {0x00, 0x7f, 0xab, 0xff};
  EXPECT_EQ(HexEncode(bytes), "007fabff");
  EXPECT_EQ(*HexDecode("007fabff"), bytes);
  EXPECT_EQ(*HexDecode("007FABFF"), bytes);
  EXPECT_EQ(*HexDecode("0x007fabff"), bytes);
  EXPECT_EQ(*HexDecode("0X007fabff"), bytes);
  EXPECT_TRUE(HexDecode("")->empty());
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
}

TEST(Hex, RefusesMalformedText) {
  for (const char* bad : {"0", "abc", "0g", "zz", "0x0", "ab cd", "ab\n", "\xc3\xa9", "0xx0"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(HexDecode(bad).status())) << bad;
  }
  EXPECT_TRUE(HexDecode("0x").ok() && HexDecode("0x")->empty());  // a bare prefix is zero bytes
}

TEST(Hex, ExactSizeIsEnforced) {
  EXPECT_TRUE(HexDecodeExact("abcd", 2).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(HexDecodeExact("abcd", 3).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(HexDecodeExact("abcdef", 2).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(HexDecodeExact("zz", 1).status()));
}

}  // namespace
}  // namespace cai
