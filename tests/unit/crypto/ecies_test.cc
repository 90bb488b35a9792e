// HKDF-SHA256, AES-256-GCM and secp256k1 ECIES (the E2EE "ecdsa" mode): published vectors, a
// message sealed by Python's cryptography (the library Phala's proxy uses), and named negatives.
#include "lib/crypto/ecies_secp256k1.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lib/common/hex.h"
#include "lib/crypto/aes_256_gcm.h"
#include "lib/crypto/hkdf_sha256.h"

namespace cai {
namespace {

std::vector<uint8_t> Hex(std::string_view hex) { return *HexDecode(hex); }

// RFC 5869 test case 3: SHA-256 with an empty salt and info (an absent salt is the same).
TEST(HkdfSha256Test, Rfc5869Case3) {
  std::vector<uint8_t> okm(42);
  ASSERT_TRUE(HkdfSha256(std::vector<uint8_t>(22, 0x0b), "", okm).ok());
  EXPECT_EQ(HexEncode(okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(HkdfSha256Test, RefusesEmptyAndOversizedOutput) {
  std::vector<uint8_t> none, too_long(255 * 32 + 1);
  EXPECT_FALSE(HkdfSha256(std::vector<uint8_t>(32, 1), "info", none).ok());
  EXPECT_FALSE(HkdfSha256(std::vector<uint8_t>(32, 1), "info", too_long).ok());
}

// The GCM specification's test case 16 (AES-256, 96-bit IV, with associated data).
struct GcmCase16 {
  std::vector<uint8_t> key = Hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  std::vector<uint8_t> nonce = Hex("cafebabefacedbaddecaf888");
  std::vector<uint8_t> plaintext = Hex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5"
      "aa0de657ba637b39");
  std::string aad = [] {
    std::vector<uint8_t> bytes = Hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    return std::string(bytes.begin(), bytes.end());
  }();
  std::string sealed_hex =
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393"
      "ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b";
  std::span<const uint8_t, 32> Key() const { return std::span<const uint8_t, 32>(key.data(), 32); }
  std::span<const uint8_t, 12> Nonce() const { return std::span<const uint8_t, 12>(nonce.data(), 12); }
};

TEST(Aes256GcmTest, SealsGcmSpecCase16) {
  GcmCase16 v;
  absl::StatusOr<std::vector<uint8_t>> sealed = Aes256GcmSeal(v.Key(), v.Nonce(), v.plaintext, v.aad);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(HexEncode(*sealed), v.sealed_hex);
}

TEST(Aes256GcmTest, OpensGcmSpecCase16) {
  GcmCase16 v;
  absl::StatusOr<std::vector<uint8_t>> opened = Aes256GcmOpen(v.Key(), v.Nonce(), Hex(v.sealed_hex), v.aad);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, v.plaintext);
}

TEST(Aes256GcmTest, RefusesAlteredTagCiphertextOrAssociatedData) {
  GcmCase16 v;
  std::vector<uint8_t> tag_flipped = Hex(v.sealed_hex);
  tag_flipped.back() ^= 1;
  EXPECT_FALSE(Aes256GcmOpen(v.Key(), v.Nonce(), tag_flipped, v.aad).ok());
  std::vector<uint8_t> body_flipped = Hex(v.sealed_hex);
  body_flipped[0] ^= 0x80;
  EXPECT_FALSE(Aes256GcmOpen(v.Key(), v.Nonce(), body_flipped, v.aad).ok());
  EXPECT_FALSE(Aes256GcmOpen(v.Key(), v.Nonce(), Hex(v.sealed_hex), v.aad + "x").ok());
  EXPECT_FALSE(Aes256GcmOpen(v.Key(), v.Nonce(), Hex(v.sealed_hex), "").ok());
}

TEST(Aes256GcmTest, RefusesInputShorterThanTag) {
  GcmCase16 v;
  EXPECT_FALSE(Aes256GcmOpen(v.Key(), v.Nonce(), std::vector<uint8_t>(15), "").ok());
  EXPECT_FALSE(Aes256GcmOpen(v.Key(), v.Nonce(), std::vector<uint8_t>(), "").ok());
}

TEST(Aes256GcmTest, EmptyPlaintextIsJustATag) {
  GcmCase16 v;
  absl::StatusOr<std::vector<uint8_t>> sealed = Aes256GcmSeal(v.Key(), v.Nonce(), {}, "");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), kAesGcmTagBytes);
  absl::StatusOr<std::vector<uint8_t>> opened = Aes256GcmOpen(v.Key(), v.Nonce(), *sealed, "");
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

// The recipient of the Python-made vectors below, and its public key.
constexpr std::string_view kRecipientKey = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
constexpr std::string_view kRecipientPublic =
    "044e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e47fd35c4215d1edf53e6f83de344615ce719bdb0fd"
    "878f6ed76f06dd277956de";
constexpr std::string_view kPlaintext = "h\xc3\xa9llo, TEE";
constexpr std::string_view kAad = "v2|req|algo=ecdsa|model=m|m=0|c=-|n=0123456789abcdef|ts=1700000000";
// Sealed by cryptography 45 (ephemeral key 7, nonce 00..0b), with kAad and with no associated data.
constexpr std::string_view kSealedWithAad =
    "045cbdf0646e5db4eaa398f365f2ea7a0e3d419b7e0330e39ce92bddedcac4f9bc6aebca40ba255960a3178d6d861a54dba813d0b813"
    "fde7b5a5082628087264da000102030405060708090a0bf4f7500ff0b58b72d862ffbc37c84f931798f7006aa1a25a9aa48f";
constexpr std::string_view kSealedWithoutAad =
    "045cbdf0646e5db4eaa398f365f2ea7a0e3d419b7e0330e39ce92bddedcac4f9bc6aebca40ba255960a3178d6d861a54dba813d0b813"
    "fde7b5a5082628087264da000102030405060708090a0bf4f7500ff0b58b72d862ff9957dae64c0b73becdd4a57898274e24";

EthereumSigner Recipient() {
  std::vector<uint8_t> key = Hex(kRecipientKey);
  return *EthereumSigner::FromPrivateKeyForTesting(std::span<const uint8_t, 32>(key.data(), 32));
}

TEST(EciesTest, OpensWhatPythonCryptographySealedWithAad) {
  absl::StatusOr<std::string> opened = EciesOpen(Recipient(), Hex(kSealedWithAad), kAad);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, kPlaintext);
}

TEST(EciesTest, OpensWhatPythonCryptographySealedWithoutAad) {
  absl::StatusOr<std::string> opened = EciesOpen(Recipient(), Hex(kSealedWithoutAad), "");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, kPlaintext);
}

TEST(EciesTest, SealedMessageOpensOnlyForItsRecipientAndAad) {
  absl::StatusOr<Secp256k1PublicKey> recipient = ParseSecp256k1PublicKey(Hex(kRecipientPublic));
  ASSERT_TRUE(recipient.ok()) << recipient.status();
  absl::StatusOr<Sealer> sealer = SealerForSecp256k1(*recipient);
  ASSERT_TRUE(sealer.ok()) << sealer.status();
  absl::StatusOr<std::vector<uint8_t>> sealed = sealer->Seal("the answer", "resp-aad");
  ASSERT_TRUE(sealed.ok());
  ASSERT_EQ(sealed->size(), kEciesOverheadBytes + 10);
  EXPECT_EQ((*sealed)[0], 0x04);
  EXPECT_EQ(*EciesOpen(Recipient(), *sealed, "resp-aad"), "the answer");
  EXPECT_FALSE(EciesOpen(Recipient(), *sealed, "other-aad").ok());
  absl::StatusOr<EthereumSigner> stranger = EthereumSigner::Generate();
  ASSERT_TRUE(stranger.ok());
  EXPECT_FALSE(EciesOpen(*stranger, *sealed, "resp-aad").ok());
}

TEST(EciesTest, OneSealerDrawsAFreshNonceForEveryMessage) {
  absl::StatusOr<Sealer> sealer = SealerForSecp256k1(*ParseSecp256k1PublicKey(Hex(kRecipientPublic)));
  ASSERT_TRUE(sealer.ok());
  std::vector<uint8_t> a = *sealer->Seal("same", ""), b = *sealer->Seal("same", "");
  EXPECT_TRUE(std::equal(a.begin(), a.begin() + kEciesPublicKeyBytes, b.begin()));  // one ephemeral key
  EXPECT_NE(a, b);
  EXPECT_EQ(*EciesOpen(Recipient(), a, ""), "same");
  EXPECT_EQ(*EciesOpen(Recipient(), b, ""), "same");
}

TEST(EciesTest, EmptyPlaintextRoundTrips) {
  absl::StatusOr<Sealer> sealer = SealerForSecp256k1(*ParseSecp256k1PublicKey(Hex(kRecipientPublic)));
  ASSERT_TRUE(sealer.ok());
  std::vector<uint8_t> sealed = *sealer->Seal("", "");
  EXPECT_EQ(sealed.size(), kEciesOverheadBytes);
  EXPECT_EQ(*EciesOpen(Recipient(), sealed, ""), "");
}

TEST(EciesTest, RefusesTruncatedMessage) {
  std::vector<uint8_t> sealed = Hex(kSealedWithAad);
  sealed.resize(kEciesOverheadBytes - 1);
  absl::StatusOr<std::string> opened = EciesOpen(Recipient(), sealed, kAad);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EciesTest, RefusesFlippedTag) {
  std::vector<uint8_t> sealed = Hex(kSealedWithAad);
  sealed.back() ^= 1;
  EXPECT_FALSE(EciesOpen(Recipient(), sealed, kAad).ok());
}

TEST(EciesTest, RefusesEphemeralKeyOffTheCurve) {
  std::vector<uint8_t> sealed = Hex(kSealedWithAad);
  sealed[64] ^= 1;  // y no longer matches x
  EXPECT_FALSE(EciesOpen(Recipient(), sealed, kAad).ok());
}

TEST(EciesTest, RefusesCompressedEphemeralKeyPrefix) {
  std::vector<uint8_t> sealed = Hex(kSealedWithAad);
  sealed[0] = 0x02;
  EXPECT_FALSE(EciesOpen(Recipient(), sealed, kAad).ok());
}

TEST(EciesTest, EveryFailureReadsTheSame) {
  std::vector<uint8_t> short_message(10), bad_tag = Hex(kSealedWithAad);
  bad_tag.back() ^= 1;
  EXPECT_EQ(EciesOpen(Recipient(), short_message, kAad).status(), EciesOpen(Recipient(), bad_tag, kAad).status());
}

// The agreement itself refuses what is not an uncompressed point on the curve (the GCM tag would
// fail anyway, so EciesOpen alone cannot show it).
TEST(EthereumSignerSharedXTest, RefusesHybridCompressedAndOffCurvePoints) {
  const EthereumSigner recipient = Recipient();
  std::vector<uint8_t> point = Hex(kRecipientPublic);
  ASSERT_TRUE(recipient.SharedX(std::span<const uint8_t, 65>(point.data(), 65)).ok());
  for (uint8_t prefix : {0x06, 0x07, 0x02}) {  // hybrid forms parse in libsecp256k1 unless refused
    std::vector<uint8_t> other = point;
    other[0] = prefix;
    EXPECT_EQ(recipient.SharedX(std::span<const uint8_t, 65>(other.data(), 65)).status().code(),
              absl::StatusCode::kInvalidArgument) << int(prefix);
  }
  std::vector<uint8_t> off_curve = point;
  off_curve.back() ^= 1;
  EXPECT_EQ(recipient.SharedX(std::span<const uint8_t, 65>(off_curve.data(), 65)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseSecp256k1PublicKeyTest, AcceptsBareAndPrefixedForms) {
  std::vector<uint8_t> prefixed = Hex(kRecipientPublic);
  std::vector<uint8_t> bare(prefixed.begin() + 1, prefixed.end());
  absl::StatusOr<Secp256k1PublicKey> a = ParseSecp256k1PublicKey(prefixed), b = ParseSecp256k1PublicKey(bare);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(HexEncode(*a), kRecipientPublic);
}

TEST(ParseSecp256k1PublicKeyTest, RefusesWrongLengthsPrefixesAndPointsOffTheCurve) {
  std::vector<uint8_t> key = Hex(kRecipientPublic);
  std::vector<uint8_t> compressed(key.begin(), key.begin() + 33);
  compressed[0] = 0x02;
  EXPECT_FALSE(ParseSecp256k1PublicKey(compressed).ok());
  std::vector<uint8_t> hybrid = key;
  hybrid[0] = 0x06;
  EXPECT_FALSE(ParseSecp256k1PublicKey(hybrid).ok());
  std::vector<uint8_t> off_curve = key;
  off_curve.back() ^= 1;
  EXPECT_FALSE(ParseSecp256k1PublicKey(off_curve).ok());
  EXPECT_FALSE(ParseSecp256k1PublicKey(std::vector<uint8_t>(64, 0)).ok());
  EXPECT_FALSE(ParseSecp256k1PublicKey({}).ok());
}

}  // namespace
}  // namespace cai
