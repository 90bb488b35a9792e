#include "lib/crypto/ed25519_signer.h"

#include <openssl/crypto.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/common/hex.h"

namespace cai {
namespace {

struct Rfc8032Vector {
  const char* seed;
  const char* public_key;
  const char* message;  // hex
  const char* signature;
};

// RFC 8032 section 7.1, TEST 1-3.
constexpr Rfc8032Vector kVectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

std::string Unhex(std::string_view hex) {
  std::vector<uint8_t> bytes = HexDecode(hex).value();
  return std::string(bytes.begin(), bytes.end());
}

TEST(Ed25519, Rfc8032Vectors) {
  for (const Rfc8032Vector& v : kVectors) {
    std::vector<uint8_t> seed = HexDecodeExact(v.seed, 32).value();
    Ed25519Signer signer = Ed25519Signer::FromSeedForTesting(std::span<const uint8_t, 32>(seed.data(), 32)).value();
    EXPECT_EQ(HexEncode(signer.public_key()), v.public_key);
    std::string message = Unhex(v.message);
    auto signature = signer.Sign(message);
    EXPECT_EQ(HexEncode(signature), v.signature);
    EXPECT_TRUE(Ed25519Verify(signer.public_key(), message, signature));
  }
}

TEST(Ed25519, VerifyRejectsTampering) {
  Ed25519Signer signer = Ed25519Signer::Generate().value();
  const std::string text = "abc:def";
  auto sig = signer.Sign(text);
  ASSERT_TRUE(Ed25519Verify(signer.public_key(), text, sig));
  EXPECT_FALSE(Ed25519Verify(signer.public_key(), "abc:deg", sig));
  for (size_t i = 0; i < sig.size(); i += 7) {
    auto bad = sig;
    bad[i] ^= 0x20;
    EXPECT_FALSE(Ed25519Verify(signer.public_key(), text, bad)) << "byte " << i;
  }
  Ed25519Signer other = Ed25519Signer::Generate().value();
  EXPECT_NE(other.public_key(), signer.public_key());
  EXPECT_FALSE(Ed25519Verify(other.public_key(), text, sig));
}

TEST(Ed25519, VerifyRejectsWrongSizes) {
  Ed25519Signer signer = Ed25519Signer::Generate().value();
  auto sig = signer.Sign("m");
  std::span<const uint8_t> pub(signer.public_key());
  EXPECT_FALSE(Ed25519Verify(pub.first(31), "m", sig));
  EXPECT_FALSE(Ed25519Verify(pub, "m", std::span<const uint8_t>(sig).first(63)));
  EXPECT_FALSE(Ed25519Verify({}, "m", {}));
}

// The documented contract cai-signer relies on: once the secure heap exists, OpenSSL keeps its
// copy of the private key there (and releases it when the signer goes away).
TEST(Ed25519, KeyLivesInOpenSslSecureHeap) {
  ASSERT_NE(CRYPTO_secure_malloc_init(64 * 1024, 32), 0);
  // The first key generation also sets up OpenSSL's DRBG, which keeps some secure memory for good.
  Ed25519Signer::Generate().value();
  const size_t before = CRYPTO_secure_used();
  {
    Ed25519Signer signer = Ed25519Signer::Generate().value();
    EXPECT_GT(CRYPTO_secure_used(), before);
    EXPECT_TRUE(Ed25519Verify(signer.public_key(), "m", signer.Sign("m")));
  }
  EXPECT_EQ(CRYPTO_secure_used(), before);
}

}  // namespace
}  // namespace cai
