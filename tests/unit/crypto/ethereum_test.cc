#include "lib/crypto/ethereum.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/common/hex.h"
#include "lib/crypto/secp256k1_signer.h"

namespace cai {
namespace {

std::array<uint8_t, 32> Key(std::string_view hex) {
  std::vector<uint8_t> bytes = HexDecodeExact(hex, 32).value();
  std::array<uint8_t, 32> key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

EthereumAddress LowercaseAddress(std::string_view eip55) {
  std::vector<uint8_t> bytes = HexDecodeExact(eip55, 20).value();
  EthereumAddress address;
  std::copy(bytes.begin(), bytes.end(), address.begin());
  return address;
}

// From EIP-55.
TEST(Eip55, ChecksumVectors) {
  for (std::string_view expected : {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                                    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                                    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
                                    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
    EXPECT_EQ(ChecksumAddress(LowercaseAddress(expected)), expected);
  }
}

TEST(Eip55, ParseAddress) {
  EthereumAddress want = LowercaseAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  EXPECT_EQ(ParseAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").value(), want);
  EXPECT_EQ(ParseAddress("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").value(), want);
  EXPECT_EQ(ParseAddress("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED").value(), want);
  EXPECT_FALSE(ParseAddress("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").ok());  // bad checksum
  EXPECT_FALSE(ParseAddress("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").ok());    // no 0x
  EXPECT_FALSE(ParseAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA").ok());    // short
  EXPECT_FALSE(ParseAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg").ok());  // not hex
}

// Key and address from the web3.py / eth-account documentation.
TEST(EthereumSigner, KnownKeyGivesKnownAddress) {
  auto key = Key("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");
  EthereumSigner signer = EthereumSigner::FromPrivateKeyForTesting(key).value();
  EXPECT_EQ(signer.address(), "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23");
  EXPECT_EQ(AddressFromPublicKey(signer.public_key()), signer.address_bytes());
}

// Expected value from eth_account: Account.from_key(k).sign_message(encode_defunct(text="hello")).
TEST(EthereumSigner, KnownAnswer) {
  auto key = Key("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");
  EthereumSigner signer = EthereumSigner::FromPrivateKeyForTesting(key).value();
  EXPECT_EQ(HexEncode(signer.SignPersonalMessage("hello")),
            "a5d58782075bdf09490159d634d1aae66a8f6777c7247d2f233e9511cfd7c64c"
            "34f288cdbcea5370e4863fdbe9f4d86654c2ba1d86589e9ebb64494c649008591b");
}

TEST(EthereumSigner, RejectsInvalidPrivateKeys) {
  std::array<uint8_t, 32> zero{};
  EXPECT_FALSE(EthereumSigner::FromPrivateKeyForTesting(zero).ok());
  // The group order n itself is out of range.
  auto n = Key("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  EXPECT_FALSE(EthereumSigner::FromPrivateKeyForTesting(n).ok());
}

TEST(EthereumSigner, GeneratedKeysDiffer) {
  EthereumSigner a = EthereumSigner::Generate().value();
  EthereumSigner b = EthereumSigner::Generate().value();
  EXPECT_NE(a.address(), b.address());
  EXPECT_EQ(a.address(), ChecksumAddress(AddressFromPublicKey(a.public_key())));
}

class RecoverTest : public ::testing::Test {
 protected:
  EthereumSigner signer_ = EthereumSigner::Generate().value();
};

TEST_F(RecoverTest, RoundTrip) {
  const std::string_view texts[] = {"", "abc", "0123:4567", "h\xc3\xa9llo \xe2\x9c\x93", std::string_view("a\0b", 3)};
  for (std::string_view text : texts) {
    auto sig = signer_.SignPersonalMessage(text);
    EXPECT_TRUE(sig[64] == 27 || sig[64] == 28);
    auto recovered = RecoverPersonalSignAddress(text, sig);
    ASSERT_TRUE(recovered.ok()) << recovered.status();
    EXPECT_EQ(*recovered, signer_.address_bytes());
  }
}

TEST_F(RecoverTest, ProducesLowS) {
  // s <= n/2: the top byte of s is at most 0x7f.
  for (int i = 0; i < 16; ++i) {
    auto sig = signer_.SignPersonalMessage(std::to_string(i));
    EXPECT_LE(sig[32], 0x7f);
  }
}

TEST_F(RecoverTest, OtherTextRecoversOtherAddress) {
  auto sig = signer_.SignPersonalMessage("abc:def");
  auto recovered = RecoverPersonalSignAddress("abc:deg", sig);
  EXPECT_TRUE(!recovered.ok() || *recovered != signer_.address_bytes());
}

TEST_F(RecoverTest, FlippedByteNeverRecoversSigner) {
  const std::string text = "abc:def";
  auto sig = signer_.SignPersonalMessage(text);
  for (size_t i = 0; i < 64; ++i) {
    auto bad = sig;
    bad[i] ^= 0x01;
    auto recovered = RecoverPersonalSignAddress(text, bad);
    EXPECT_TRUE(!recovered.ok() || *recovered != signer_.address_bytes()) << "byte " << i;
  }
  // Flipping v selects the other candidate key.
  auto bad = sig;
  bad[64] = bad[64] == 27 ? 28 : 27;
  auto recovered = RecoverPersonalSignAddress(text, bad);
  EXPECT_TRUE(!recovered.ok() || *recovered != signer_.address_bytes());
}

TEST_F(RecoverTest, RejectsBadVAndSizes) {
  auto sig = signer_.SignPersonalMessage("x");
  for (uint8_t v : {0, 1, 2, 26, 29, 35, 36, 255}) {
    auto bad = sig;
    bad[64] = v;
    EXPECT_EQ(RecoverPersonalSignAddress("x", bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(RecoverPersonalSignAddress("x", std::span(sig).first(64)).ok());
  std::vector<uint8_t> longer(sig.begin(), sig.end());
  longer.push_back(0);
  EXPECT_FALSE(RecoverPersonalSignAddress("x", longer).ok());
  EXPECT_FALSE(RecoverPersonalSignAddress("x", {}).ok());
}

TEST_F(RecoverTest, RejectsOutOfRangeRS) {
  auto sig = signer_.SignPersonalMessage("x");
  auto bad = sig;
  std::fill(bad.begin(), bad.begin() + 32, 0xff);  // r >= n
  EXPECT_FALSE(RecoverPersonalSignAddress("x", bad).ok());
  bad = sig;
  std::fill(bad.begin(), bad.begin() + 32, 0x00);  // r = 0
  EXPECT_FALSE(RecoverPersonalSignAddress("x", bad).ok());
  bad = sig;
  std::fill(bad.begin() + 32, bad.begin() + 64, 0x00);  // s = 0
  EXPECT_FALSE(RecoverPersonalSignAddress("x", bad).ok());
}

// eth_account accepts the malleated (high-s) twin of a signature, and so do we: (r, n - s) with
// the recovery id flipped recovers the same key.
TEST_F(RecoverTest, AcceptsHighSTwin) {
  static constexpr uint8_t kOrder[32] = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
      0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
  auto sig = signer_.SignPersonalMessage("abc:def");
  auto twin = sig;
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = kOrder[i] - sig[32 + i] - borrow;
    borrow = d < 0;
    twin[32 + i] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
  }
  twin[64] = sig[64] == 27 ? 28 : 27;
  EXPECT_GT(twin[32], 0x7f);
  EXPECT_EQ(RecoverPersonalSignAddress("abc:def", twin).value(), signer_.address_bytes());
}

TEST(PersonalSignHash, UsesByteLength) {
  // "é" is 2 bytes in UTF-8, so the prefix says 2, not 1.
  EXPECT_EQ(PersonalSignHash("\xc3\xa9"), Keccak256(std::string("\x19" "Ethereum Signed Message:\n2\xc3\xa9")));
}

}  // namespace
}  // namespace cai
