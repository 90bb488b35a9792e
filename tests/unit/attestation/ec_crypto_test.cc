#include "lib/attestation/ec_crypto.h"

#include <gtest/gtest.h>

namespace cai {
namespace {

TEST(EcCryptoTest, RawSignaturesRoundTripOnBothCurves) {
  const std::vector<uint8_t> message = {'c', 'a', 'i'};
  for (auto [curve, md] :
       {std::pair{EcCurve::kP256, EVP_sha256()}, std::pair{EcCurve::kP384, EVP_sha384()}}) {
    absl::StatusOr<EvpPkeyPtr> key = GenerateEcKey(curve);
    ASSERT_TRUE(key.ok());
    absl::StatusOr<std::vector<uint8_t>> sig = SignEcdsaRaw(key->get(), md, message);
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(sig->size(), 2 * CoordinateSize(curve));
    // Through the raw public point, as the formats carry it.
    absl::StatusOr<std::vector<uint8_t>> point = EcPublicPoint(key->get());
    ASSERT_TRUE(point.ok());
    absl::StatusOr<EvpPkeyPtr> pub = EcPublicKeyFromPoint(curve, *point);
    ASSERT_TRUE(pub.ok());
    EXPECT_TRUE(VerifyEcdsaRaw(pub->get(), md, message, *sig).ok());
    std::vector<uint8_t> other = message;
    other[0] ^= 1;
    EXPECT_FALSE(VerifyEcdsaRaw(pub->get(), md, other, *sig).ok());
    std::vector<uint8_t> short_sig(sig->begin(), sig->end() - 1);
    EXPECT_FALSE(VerifyEcdsaRaw(pub->get(), md, message, short_sig).ok());
  }
}

TEST(EcCryptoTest, PointOffTheCurveIsRejected) {
  std::vector<uint8_t> point(64, 0x01);
  EXPECT_FALSE(EcPublicKeyFromPoint(EcCurve::kP256, point).ok());
  EXPECT_FALSE(EcPublicKeyFromPoint(EcCurve::kP256, std::vector<uint8_t>(63, 0)).ok());
}

TEST(EcCryptoTest, PemChainRejectsJunkAndEmpty) {
  EXPECT_FALSE(ParsePemCertificates("").ok());
  EXPECT_FALSE(ParsePemCertificates("hello").ok());
  EXPECT_FALSE(ParsePemCertificates("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
}

}  // namespace
}  // namespace cai
