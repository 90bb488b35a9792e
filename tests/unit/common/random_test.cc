// The CSPRNG helpers: ids made of a fixed alphabet and a length.
#include "lib/common/random.h"

#include <map>

#include <gtest/gtest.h>

#include "absl/strings/ascii.h"

namespace cai {
namespace {

TEST(RandomAlnum, HasTheLengthAndOnlyLettersAndDigits) {
  for (size_t n : {0, 1, 24, 100}) {
    const std::string id = RandomAlnum(n);
    EXPECT_EQ(id.size(), n);
    for (char c : id) EXPECT_TRUE(absl::ascii_isalnum(static_cast<unsigned char>(c))) << id;
  }
  EXPECT_NE(RandomAlnum(24), RandomAlnum(24));
}

// Every one of the 62 characters comes, none far more often than the others: 12400 draws give each
// 200 expected (a standard deviation of about 14), so the bounds are over 7 deviations away.
TEST(RandomAlnum, UsesTheWholeAlphabet) {
  std::map<char, int> counts;
  for (char c : RandomAlnum(62 * 200)) ++counts[c];
  EXPECT_EQ(counts.size(), 62u);
  for (const auto& [c, count] : counts) {
    EXPECT_GT(count, 100) << c;
    EXPECT_LT(count, 300) << c;
  }
}

TEST(RandomHex, IsTwoLowercaseHexDigitsPerByte) {
  const std::string hex = RandomHex(16);
  ASSERT_EQ(hex.size(), 32u);
  for (char c : hex) EXPECT_TRUE(absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f')) << hex;
  EXPECT_NE(RandomHex(16), hex);
}

}  // namespace
}  // namespace cai
