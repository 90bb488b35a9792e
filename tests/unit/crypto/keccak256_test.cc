#include "lib/crypto/keccak256.h"

#include <string>

#include <gtest/gtest.h>

#include "lib/common/hex.h"

namespace cai {
namespace {

std::string KeccakHex(std::string_view data) { return HexEncode(Keccak256(data)); }

TEST(Keccak256, PublishedVectors) {
  EXPECT_EQ(KeccakHex(""), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(KeccakHex("abc"), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

// Expected values from pycryptodome's Crypto.Hash.keccak (digest_bits=256).
TEST(Keccak256, MultiBlock) {
  EXPECT_EQ(KeccakHex(std::string(200, '\xa3')),
            "3a57666b048777f2c953dc4456f45a2588e1cb6f2da760122d530ac2ce607d4a");
}

// 135 bytes leaves room for exactly one padding byte (0x01 ^ 0x80 = 0x81 in one byte); 136 fills
// a block so padding takes a whole extra block; 137 spills one byte into the second block.
TEST(Keccak256, RateBoundaries) {
  EXPECT_EQ(KeccakHex(std::string(135, 'a')), "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
  EXPECT_EQ(KeccakHex(std::string(136, 'a')), "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
  EXPECT_EQ(KeccakHex(std::string(137, 'a')), "d869f639c7046b4929fc92a4d988a8b22c55fbadb802c0c66ebcd484f1915f39");
}

TEST(Keccak256, NotSha3) {
  // SHA3-256("") is a7ffc6f8...; Ethereum's Keccak must differ.
  EXPECT_NE(KeccakHex(""), "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
}

TEST(Keccak256, SpanAndStringAgree) {
  std::string data = "The quick brown fox";
  std::vector<uint8_t> bytes(data.begin(), data.end());
  EXPECT_EQ(Keccak256(data), Keccak256(std::span<const uint8_t>(bytes)));
}

}  // namespace
}  // namespace cai
