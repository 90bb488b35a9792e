// The E2EE "ed25519" mode: the Ed25519 -> X25519 map and a message sealed by Python's cryptography
// (the library Phala's proxy uses), round trips, and named negatives.
#include "lib/crypto/ecies_x25519.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lib/common/hex.h"

namespace cai {
namespace {

std::vector<uint8_t> Hex(std::string_view hex) { return *HexDecode(hex); }

constexpr std::string_view kSeed = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
constexpr std::string_view kEd25519Public = "80c8c02fd8526709aff4b62492d9725940ee512c9ad36d49f2df8e6e0526875d";
// Both the public key of the clamped SHA-512(seed) scalar and the map of kEd25519Public, per cryptography.
constexpr std::string_view kX25519Public = "118746c4f44f0813df1fecf830e39a7f0944854e035e2afd7722ad9dfa1fa471";
constexpr std::string_view kAad = "v2|req|algo=ed25519|model=m|m=0|c=-|n=0123456789abcdef|ts=1700000000";
// Sealed by cryptography 45 to kX25519Public (ephemeral scalar 07..07, nonce 00..0b) with kAad.
constexpr std::string_view kSealed =
    "13be4feaeaf204c7fd3358fc9c00721881d174278128227ec674f37f7fe97b6d000102030405060708090a0b3778a6c01637af12ce0f"
    "9272a9812a64f256be6952fc9a7d1eeeeb";

Ed25519Signer Recipient() {
  std::vector<uint8_t> seed = Hex(kSeed);
  return *Ed25519Signer::FromSeedForTesting(std::span<const uint8_t, 32>(seed.data(), 32));
}

TEST(X25519FromEd25519PublicTest, MapsAsRfc7748AndAgreesWithTheScalar) {
  ASSERT_EQ(HexEncode(Recipient().public_key()), kEd25519Public);
  absl::StatusOr<X25519PublicKey> u = X25519FromEd25519Public(Hex(kEd25519Public));
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(HexEncode(*u), kX25519Public);
}

TEST(X25519FromEd25519PublicTest, TheSignBitOfXDoesNotChangeTheImage) {
  std::vector<uint8_t> flipped = Hex(kEd25519Public);
  ASSERT_EQ(flipped[31] & 0x80, 0);
  flipped[31] |= 0x80;  // the same y, the other x
  absl::StatusOr<X25519PublicKey> u = X25519FromEd25519Public(flipped);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(HexEncode(*u), kX25519Public);
}

TEST(X25519FromEd25519PublicTest, RefusesWrongLengthYOutOfRangeAndTheLowOrderPoint) {
  EXPECT_FALSE(X25519FromEd25519Public(std::vector<uint8_t>(31, 1)).ok());
  std::vector<uint8_t> p(32, 0xff);  // y = 2^255 - 1 once the sign bit is dropped: not below p
  EXPECT_FALSE(X25519FromEd25519Public(p).ok());
  std::vector<uint8_t> one(32, 0);
  one[0] = 1;
  EXPECT_FALSE(X25519FromEd25519Public(one).ok());
}

TEST(X25519EciesTest, OpensWhatPythonCryptographySealed) {
  absl::StatusOr<std::string> opened = X25519Open(Recipient(), Hex(kSealed), kAad);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "h\xc3\xa9llo, TEE");
}

TEST(X25519EciesTest, SealedMessageOpensOnlyForItsRecipientAndAad) {
  absl::StatusOr<X25519PublicKey> recipient = X25519FromEd25519Public(Recipient().public_key());
  ASSERT_TRUE(recipient.ok());
  absl::StatusOr<Sealer> sealer = SealerForX25519(*recipient);
  ASSERT_TRUE(sealer.ok()) << sealer.status();
  std::vector<uint8_t> sealed = *sealer->Seal("the answer", "aad");
  EXPECT_EQ(sealed.size(), kX25519SealedOverheadBytes + 10);
  EXPECT_EQ(*X25519Open(Recipient(), sealed, "aad"), "the answer");
  EXPECT_FALSE(X25519Open(Recipient(), sealed, "other").ok());
  EXPECT_FALSE(X25519Open(*Ed25519Signer::Generate(), sealed, "aad").ok());
}

TEST(X25519EciesTest, RefusesTruncatedFlippedAndLowOrderEphemeral) {
  std::vector<uint8_t> truncated = Hex(kSealed);
  truncated.resize(kX25519SealedOverheadBytes - 1);
  EXPECT_FALSE(X25519Open(Recipient(), truncated, kAad).ok());
  std::vector<uint8_t> flipped = Hex(kSealed);
  flipped.back() ^= 1;
  EXPECT_FALSE(X25519Open(Recipient(), flipped, kAad).ok());
  std::vector<uint8_t> low_order = Hex(kSealed);
  std::fill(low_order.begin(), low_order.begin() + 32, 0);  // u = 0: an all-zero shared secret
  absl::StatusOr<std::string> opened = X25519Open(Recipient(), low_order, kAad);
  EXPECT_EQ(opened.status(), X25519Open(Recipient(), flipped, kAad).status());  // the same error
}

TEST(X25519SharedSecretTest, RefusesPeersOfSmallOrder) {
  X25519PublicKey zero{}, one{};
  one[0] = 1;
  EXPECT_FALSE(Recipient().SharedX25519(zero).ok());
  EXPECT_FALSE(Recipient().SharedX25519(one).ok());
  X25519PublicKey nine{};
  nine[0] = 9;  // the base point
  EXPECT_TRUE(Recipient().SharedX25519(nine).ok());
}

}  // namespace
}  // namespace cai
