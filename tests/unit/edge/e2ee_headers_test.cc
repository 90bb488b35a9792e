// The E2EE request headers (parsed from untrusted clients) and the associated data that must match
// Phala's protocol byte for byte.
#include "services/edge/e2ee_headers.h"

#include <gtest/gtest.h>

#include <string>

#include "lib/common/hex.h"

namespace cai::edge {
namespace {

// The public key of private key 1: the generator point.
constexpr std::string_view kKeyXY =
    "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8";

HttpRequest WithHeaders(Headers headers) {
  HttpRequest request;
  request.method = "POST";
  request.path = "/v1/chat/completions";
  request.headers = std::move(headers);
  return request;
}

Headers V1() {
  return {{"X-Signing-Algo", "ecdsa"}, {"X-Client-Pub-Key", std::string(kKeyXY)},
          {"X-Model-Pub-Key", "04" + std::string(kKeyXY)}};
}

Headers V2(std::string nonce = "0123456789abcdef", std::string timestamp = "1700000000") {
  Headers headers = V1();
  headers.emplace_back("X-E2EE-Version", "2");
  headers.emplace_back("X-E2EE-Nonce", std::move(nonce));
  headers.emplace_back("X-E2EE-Timestamp", std::move(timestamp));
  return headers;
}

std::optional<openai::ApiError> Parse(Headers headers, std::optional<E2eeHeaders>* out, bool allow_v1 = true) {
  return ParseE2eeHeaders(WithHeaders(std::move(headers)), allow_v1, out);
}

std::string ErrorType(Headers headers, bool allow_v1 = true) {
  std::optional<E2eeHeaders> out;
  std::optional<openai::ApiError> error = Parse(std::move(headers), &out, allow_v1);
  EXPECT_FALSE(out.has_value());
  return error ? error->type : "none";
}

Headers Replace(Headers headers, const std::string& name, std::string value) {
  for (auto& [field, current] : headers) {
    if (field == name) current = value;
  }
  return headers;
}

Headers Without(Headers headers, const std::string& name) {
  std::erase_if(headers, [&](const auto& field) { return field.first == name; });
  return headers;
}

TEST(E2eeHeadersTest, NoHeadersMeansNoEncryption) {
  std::optional<E2eeHeaders> out;
  EXPECT_FALSE(Parse({{"Content-Type", "application/json"}}, &out).has_value());
  EXPECT_FALSE(out.has_value());
}

TEST(E2eeHeadersTest, VersionOneTakesBothKeyForms) {
  std::optional<E2eeHeaders> out;
  ASSERT_FALSE(Parse(V1(), &out).has_value());
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->version, E2eeVersion::kV1);
  EXPECT_EQ(out->client_key, out->model_key);  // 64- and 65-byte forms of one key
  EXPECT_EQ(HexEncode(out->client_key), "04" + std::string(kKeyXY));
}

TEST(E2eeHeadersTest, HeaderNamesAreCaseInsensitiveAndValuesTrimmed) {
  std::optional<E2eeHeaders> out;
  ASSERT_FALSE(Parse({{"x-signing-algo", " ECDSA "}, {"x-client-pub-key", std::string(kKeyXY)},
                      {"X-MODEL-PUB-KEY", "0x" + std::string(kKeyXY)}},
                     &out));
  EXPECT_TRUE(out.has_value());
}

TEST(E2eeHeadersTest, VersionTwoByHeaderOrByNonceAndTimestamp) {
  std::optional<E2eeHeaders> out;
  ASSERT_FALSE(Parse(V2(), &out));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->version, E2eeVersion::kV2);
  EXPECT_EQ(out->nonce, "0123456789abcdef");
  EXPECT_EQ(out->timestamp, 1700000000);
  ASSERT_FALSE(Parse(Without(V2(), "X-E2EE-Version"), &out));
  EXPECT_EQ(out->version, E2eeVersion::kV2);
  // A nonce and timestamp make it version 2 whatever X-E2EE-Version says, as in Phala's protocol.
  ASSERT_FALSE(Parse(Replace(V2(), "X-E2EE-Version", "1"), &out));
  EXPECT_EQ(out->version, E2eeVersion::kV2);
}

TEST(E2eeHeadersTest, VersionOneIsRefusedUnlessAllowed) {
  std::optional<E2eeHeaders> out;
  std::optional<openai::ApiError> error = Parse(V1(), &out, /*allow_v1=*/false);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type, "e2ee_invalid_version");
  EXPECT_NE(error->message.find("replayed"), std::string::npos);
  EXPECT_FALSE(out.has_value());
  ASSERT_FALSE(Parse(V2(), &out, /*allow_v1=*/false));
  EXPECT_EQ(out->version, E2eeVersion::kV2);
}

TEST(E2eeHeadersTest, NonceAndTimestampGoTogether) {
  EXPECT_EQ(ErrorType(Without(V2(), "X-E2EE-Nonce")), "e2ee_header_missing");
  EXPECT_EQ(ErrorType(Without(V2(), "X-E2EE-Timestamp")), "e2ee_header_missing");
}

TEST(E2eeHeadersTest, MissingHeader) {
  EXPECT_EQ(ErrorType(Without(V1(), "X-Signing-Algo")), "e2ee_header_missing");
  EXPECT_EQ(ErrorType(Without(V1(), "X-Client-Pub-Key")), "e2ee_header_missing");
  EXPECT_EQ(ErrorType(Without(V1(), "X-Model-Pub-Key")), "e2ee_header_missing");
  EXPECT_EQ(ErrorType(Replace(V1(), "X-Model-Pub-Key", "  ")), "e2ee_header_missing");
}

TEST(E2eeHeadersTest, InvalidSigningAlgo) {
  EXPECT_EQ(ErrorType(Replace(V1(), "X-Signing-Algo", "rsa")), "e2ee_invalid_signing_algo");
  EXPECT_EQ(ErrorType(Replace(V1(), "X-Signing-Algo", "x25519")), "e2ee_invalid_signing_algo");
}

// An Ed25519 key of RFC 8032's first test vector.
constexpr std::string_view kEd25519Key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

TEST(E2eeHeadersTest, Ed25519KeysAreThirtyTwoBytesWithAnX25519Twin) {
  Headers ed = {{"X-Signing-Algo", "ed25519"}, {"X-Client-Pub-Key", std::string(kEd25519Key)},
                {"X-Model-Pub-Key", std::string(kEd25519Key)}, {"X-E2EE-Nonce", "0123456789abcdef"},
                {"X-E2EE-Timestamp", "1700000000"}};
  std::optional<E2eeHeaders> out;
  ASSERT_FALSE(Parse(ed, &out));
  EXPECT_EQ(out->algo, E2eeAlgo::kEd25519);
  EXPECT_EQ(HexEncode(out->client_key), kEd25519Key);
  EXPECT_EQ(RequestAad(*out, "m", 0, std::nullopt), "v2|req|algo=ed25519|model=m|m=0|c=-|n=0123456789abcdef|ts=1700000000");
  EXPECT_EQ(E2eeResponseHeaders(*out)[2].second, "ed25519");
  // A secp256k1 key is the wrong length; y = 1 has no usable twin.
  EXPECT_EQ(ErrorType(Replace(ed, "X-Client-Pub-Key", std::string(kKeyXY))), "e2ee_invalid_public_key");
  EXPECT_EQ(ErrorType(Replace(ed, "X-Model-Pub-Key", "01" + std::string(62, '0'))), "e2ee_invalid_public_key");
}

TEST(E2eeHeadersTest, InvalidPublicKey) {
  const std::string key(kKeyXY);
  for (const std::string& bad : {key + "0", key.substr(0, 126), "zz" + key.substr(2), "02" + key.substr(0, 64),
                                 key.substr(0, 127) + "9", std::string(128, '0'), std::string(4000, 'a')}) {
    EXPECT_EQ(ErrorType(Replace(V1(), "X-Client-Pub-Key", bad)), "e2ee_invalid_public_key") << bad.substr(0, 40);
    EXPECT_EQ(ErrorType(Replace(V1(), "X-Model-Pub-Key", bad)), "e2ee_invalid_public_key") << bad.substr(0, 40);
  }
}

TEST(E2eeHeadersTest, InvalidVersion) {
  EXPECT_EQ(ErrorType(Replace(V2(), "X-E2EE-Version", "3")), "e2ee_invalid_version");
  Headers spelled_out = V1();
  spelled_out.emplace_back("X-E2EE-Version", "v2");
  EXPECT_EQ(ErrorType(spelled_out), "e2ee_invalid_version");
}

TEST(E2eeHeadersTest, InvalidNonce) {
  EXPECT_EQ(ErrorType(V2("short")), "e2ee_invalid_nonce");
  EXPECT_EQ(ErrorType(V2(std::string(257, 'n'))), "e2ee_invalid_nonce");
  EXPECT_EQ(ErrorType(V2("sixteen chars  with spaces")), "e2ee_invalid_nonce");
  EXPECT_EQ(ErrorType(Without(Without(V2(), "X-E2EE-Nonce"), "X-E2EE-Timestamp")), "e2ee_invalid_nonce");
}

TEST(E2eeHeadersTest, InvalidTimestamp) {
  for (std::string bad : {"-5", "17e8", "1700000000.5", "99999999999999999999999", "now"}) {
    EXPECT_EQ(ErrorType(V2("0123456789abcdef", bad)), "e2ee_invalid_timestamp") << bad;
  }
}

TEST(E2eeHeadersTest, AssociatedDataMatchesPhalasProtocol) {
  std::optional<E2eeHeaders> out;
  ASSERT_FALSE(Parse(V2(), &out));
  EXPECT_EQ(RequestAad(*out, "org/model", 3, std::nullopt),
            "v2|req|algo=ecdsa|model=org/model|m=3|c=-|n=0123456789abcdef|ts=1700000000");
  EXPECT_EQ(RequestAad(*out, "org/model", 0, 2),
            "v2|req|algo=ecdsa|model=org/model|m=0|c=2|n=0123456789abcdef|ts=1700000000");
  EXPECT_EQ(ResponseAad(*out, "org/model", "chatcmpl-1", 1, "content"),
            "v2|resp|algo=ecdsa|model=org/model|id=chatcmpl-1|choice=1|field=content|n=0123456789abcdef|ts=1700000000");
  ASSERT_FALSE(Parse(V1(), &out));
  EXPECT_EQ(RequestAad(*out, "org/model", 3, std::nullopt), "");
  EXPECT_EQ(ResponseAad(*out, "org/model", "chatcmpl-1", 0, "content"), "");
}

TEST(E2eeHeadersTest, ResponseHeadersSayWhatWasApplied) {
  std::optional<E2eeHeaders> out;
  ASSERT_FALSE(Parse(V2(), &out));
  EXPECT_EQ(E2eeResponseHeaders(*out),
            (Headers{{"X-E2EE-Applied", "true"}, {"X-E2EE-Version", "2"}, {"X-E2EE-Algo", "ecdsa"}}));
}

}  // namespace
}  // namespace cai::edge
