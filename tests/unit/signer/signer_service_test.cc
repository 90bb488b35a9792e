#include "services/signer/signer_service.h"

#include <ctime>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "lib/common/hex.h"
#include "tests/unit/signer/in_process_signer.h"
#include "lib/crypto/ecies_secp256k1.h"
#include "lib/crypto/ecies_x25519.h"
#include "lib/crypto/ethereum.h"
#include "lib/crypto/sha256.h"

namespace cai {
namespace {

std::string Bytes(const Sha256Digest& d) { return std::string(d.begin(), d.end()); }
std::span<const uint8_t> Span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class SignerServiceTest : public ::testing::Test {
 protected:
  grpc::Status SignChat(const std::string& id, const std::string& req_hash, const std::string& resp_hash,
                        v1::SignChatResponse* response) {
    v1::SignChatRequest request;
    request.set_id(id);
    request.set_model("test-model");
    request.set_request_sha256(req_hash);
    request.set_response_sha256(resp_hash);
    grpc::ClientContext context;
    return stub_->SignChat(&context, request, response);
  }

  grpc::Status GetSignature(const std::string& id, v1::SigningAlgo algo, v1::ChatSignature* response) {
    v1::GetSignatureRequest request;
    request.set_id(id);
    request.set_algo(algo);
    grpc::ClientContext context;
    return stub_->GetSignature(&context, request, response);
  }

  testing::InProcessSigner signer_;
  const EthereumSigner& ecdsa_ = signer_.ecdsa;
  const Ed25519Signer& ed25519_ = signer_.ed25519;
  SignatureStore& store_ = signer_.store;
  ReplayGuard& replay_guard_ = signer_.replay_guard;
  std::unique_ptr<v1::Signer::Stub>& stub_ = signer_.stub;
};

TEST_F(SignerServiceTest, PublicKeys) {
  v1::PublicKeys keys;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->GetPublicKeys(&context, v1::GetPublicKeysRequest(), &keys).ok());
  EXPECT_EQ(keys.ecdsa_address(), ecdsa_.address());
  ASSERT_EQ(keys.ecdsa_public_key().size(), 64u);
  std::array<uint8_t, 64> pub;
  std::copy(keys.ecdsa_public_key().begin(), keys.ecdsa_public_key().end(), pub.begin());
  EXPECT_EQ(ChecksumAddress(AddressFromPublicKey(pub)), keys.ecdsa_address());
  EXPECT_EQ(keys.ed25519_public_key(), std::string(ed25519_.public_key().begin(), ed25519_.public_key().end()));
}

TEST_F(SignerServiceTest, SignThenVerifyBothAlgorithms) {
  const std::string req = Bytes(Sha256("{\"messages\":[]}"));
  const std::string resp = Bytes(Sha256("{\"choices\":[]}"));
  const std::string expected_text = Sha256Hex("{\"messages\":[]}") + ":" + Sha256Hex("{\"choices\":[]}");

  v1::SignChatResponse signed_chat;
  ASSERT_TRUE(SignChat("chatcmpl-abc", req, resp, &signed_chat).ok());
  EXPECT_EQ(signed_chat.text(), expected_text);

  v1::ChatSignature ecdsa;
  ASSERT_TRUE(GetSignature("chatcmpl-abc", v1::SIGNING_ALGO_ECDSA, &ecdsa).ok());
  EXPECT_EQ(ecdsa.id(), "chatcmpl-abc");
  EXPECT_EQ(ecdsa.model(), "test-model");
  EXPECT_EQ(ecdsa.text(), expected_text);
  EXPECT_EQ(ecdsa.algo(), v1::SIGNING_ALGO_ECDSA);
  EXPECT_EQ(ecdsa.signing_address(), ecdsa_.address());
  ASSERT_EQ(ecdsa.signature().size(), 65u);
  auto recovered = RecoverPersonalSignAddress(ecdsa.text(), Span(ecdsa.signature()));
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_EQ(ChecksumAddress(*recovered), ecdsa.signing_address());

  v1::ChatSignature ed;
  ASSERT_TRUE(GetSignature("chatcmpl-abc", v1::SIGNING_ALGO_ED25519, &ed).ok());
  EXPECT_EQ(ed.text(), expected_text);
  EXPECT_EQ(ed.algo(), v1::SIGNING_ALGO_ED25519);
  EXPECT_EQ(ed.signing_address(), HexEncode(ed25519_.public_key()));
  ASSERT_EQ(ed.signature().size(), 64u);
  std::vector<uint8_t> pub = HexDecodeExact(ed.signing_address(), 32).value();
  EXPECT_TRUE(Ed25519Verify(pub, ed.text(), Span(ed.signature())));
  EXPECT_FALSE(Ed25519Verify(pub, ecdsa.text() + "x", Span(ed.signature())));
}

TEST_F(SignerServiceTest, DuplicateIdIsAlreadyExists) {
  const std::string h(32, '\x01');
  v1::SignChatResponse out;
  ASSERT_TRUE(SignChat("chatcmpl-dup", h, h, &out).ok());
  EXPECT_EQ(SignChat("chatcmpl-dup", h, std::string(32, '\x02'), &out).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  v1::ChatSignature sig;
  ASSERT_TRUE(GetSignature("chatcmpl-dup", v1::SIGNING_ALGO_ECDSA, &sig).ok());
  EXPECT_EQ(sig.text(), HexEncode(h) + ":" + HexEncode(h));
}

TEST_F(SignerServiceTest, UnknownIdIsNotFound) {
  v1::ChatSignature sig;
  EXPECT_EQ(GetSignature("chatcmpl-nope", v1::SIGNING_ALGO_ECDSA, &sig).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetSignature("chatcmpl-nope", v1::SIGNING_ALGO_ED25519, &sig).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(SignerServiceTest, BadRequestsAreInvalidArgument) {
  const std::string h(32, '\x01');
  v1::SignChatResponse out;
  EXPECT_EQ(SignChat("id", std::string(31, 'x'), h, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(SignChat("id", h, std::string(33, 'x'), &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(SignChat("id", "", "", &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(SignChat("", h, h, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(SignChat(std::string(129, 'i'), h, h, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(store_.size(), 0u);

  ASSERT_TRUE(SignChat("ok", h, h, &out).ok());
  v1::ChatSignature sig;
  EXPECT_EQ(GetSignature("ok", v1::SIGNING_ALGO_UNSPECIFIED, &sig).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GetSignature("ok", static_cast<v1::SigningAlgo>(7), &sig).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GetSignature("", v1::SIGNING_ALGO_ECDSA, &sig).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

class OpenSealedTest : public SignerServiceTest {
 protected:
  std::string SealToService(std::string_view plaintext, std::string_view aad) {
    const auto& bare = ecdsa_.public_key();
    absl::StatusOr<Sealer> sealer = SealerForSecp256k1(*ParseSecp256k1PublicKey(bare));
    EXPECT_TRUE(sealer.ok());
    std::vector<uint8_t> sealed = *sealer->Seal(plaintext, aad);
    return std::string(sealed.begin(), sealed.end());
  }
  grpc::Status Open(const v1::OpenSealedRequest& request, v1::OpenSealedResponse* response) {
    grpc::ClientContext context;
    return stub_->OpenSealed(&context, request, response);
  }
  static void Add(v1::OpenSealedRequest* request, std::string sealed, std::string aad) {
    v1::SealedField* field = request->add_fields();
    field->set_sealed(std::move(sealed));
    field->set_aad(std::move(aad));
  }
};

TEST_F(OpenSealedTest, OpensEveryFieldInOrder) {
  v1::OpenSealedRequest request;
  request.set_algo(v1::SIGNING_ALGO_ECDSA);
  Add(&request, SealToService("first", "aad-0"), "aad-0");
  Add(&request, SealToService("", ""), "");
  Add(&request, SealToService("third \xe2\x9c\x93", "aad-2"), "aad-2");
  v1::OpenSealedResponse response;
  ASSERT_TRUE(Open(request, &response).ok());
  ASSERT_EQ(response.plaintexts_size(), 3);
  EXPECT_EQ(response.plaintexts(0), "first");
  EXPECT_EQ(response.plaintexts(1), "");
  EXPECT_EQ(response.plaintexts(2), "third \xe2\x9c\x93");
}

TEST_F(OpenSealedTest, OneFieldThatDoesNotOpenFailsTheCallAndNamesIt) {
  v1::OpenSealedRequest request;
  request.set_algo(v1::SIGNING_ALGO_ECDSA);
  Add(&request, SealToService("fine", "a"), "a");
  Add(&request, SealToService("swapped aad", "b"), "c");
  v1::OpenSealedResponse response;
  grpc::Status status = Open(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "sealed field 1 did not open");
}

TEST_F(OpenSealedTest, GarbageAndTruncatedFieldsAreInvalidArgument) {
  for (std::string sealed : {std::string(), std::string(92, '\x04'), SealToService("x", "").substr(0, 90)}) {
    v1::OpenSealedRequest request;
    request.set_algo(v1::SIGNING_ALGO_ECDSA);
    Add(&request, sealed, "");
    v1::OpenSealedResponse response;
    EXPECT_EQ(Open(request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(OpenSealedTest, TheEd25519KeyOpensWhatIsSealedToItsX25519Twin) {
  auto sealer = SealerForX25519(*X25519FromEd25519Public(ed25519_.public_key()));
  ASSERT_TRUE(sealer.ok());
  std::vector<uint8_t> sealed = *sealer->Seal("through x25519", "a");
  v1::OpenSealedRequest request;
  request.set_algo(v1::SIGNING_ALGO_ED25519);
  Add(&request, std::string(sealed.begin(), sealed.end()), "a");
  v1::OpenSealedResponse response;
  ASSERT_TRUE(Open(request, &response).ok());
  EXPECT_EQ(response.plaintexts(0), "through x25519");
  // Each key opens only its own mode.
  request.set_algo(v1::SIGNING_ALGO_ECDSA);
  EXPECT_EQ(Open(request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::OpenSealedRequest ecdsa_sealed;
  ecdsa_sealed.set_algo(v1::SIGNING_ALGO_ED25519);
  Add(&ecdsa_sealed, SealToService("x", ""), "");
  EXPECT_EQ(Open(ecdsa_sealed, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(OpenSealedTest, AnUnspecifiedAlgoIsRefused) {
  v1::OpenSealedRequest request;
  request.set_algo(v1::SIGNING_ALGO_UNSPECIFIED);
  Add(&request, SealToService("x", ""), "");
  v1::OpenSealedResponse response;
  EXPECT_EQ(Open(request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(OpenSealedTest, AReplayClaimIsMadeOnceEverythingOpenedAndOnlyOnce) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto request_with = [&](std::string sealed_text_aad, std::string aad) {
    v1::OpenSealedRequest request;
    request.set_algo(v1::SIGNING_ALGO_ECDSA);
    Add(&request, SealToService("prompt", sealed_text_aad), std::move(aad));
    request.mutable_replay_claim()->set_nonce("nonce-0123456789ab");
    request.mutable_replay_claim()->set_timestamp(now);
    return request;
  };
  v1::OpenSealedResponse response;
  // A field that does not open uses up no claim...
  EXPECT_EQ(Open(request_with("a", "b"), &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(replay_guard_.size(), 0u);
  // ...so the genuine request still opens, once.
  ASSERT_TRUE(Open(request_with("a", "a"), &response).ok());
  EXPECT_EQ(response.plaintexts(0), "prompt");
  v1::OpenSealedResponse again;
  EXPECT_EQ(Open(request_with("a", "a"), &again).error_code(), grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(OpenSealedTest, AClaimOutsideTheWindowIsRefusedBeforeOpening) {
  v1::OpenSealedRequest request;
  request.set_algo(v1::SIGNING_ALGO_ECDSA);
  Add(&request, "", "");  // would not open: only a check before opening answers OUT_OF_RANGE
  request.mutable_replay_claim()->set_nonce("nonce-0123456789ab");
  request.mutable_replay_claim()->set_timestamp(static_cast<int64_t>(std::time(nullptr)) - 301);
  v1::OpenSealedResponse response;
  EXPECT_EQ(Open(request, &response).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  request.mutable_replay_claim()->set_timestamp(static_cast<int64_t>(std::time(nullptr)) + 301);
  EXPECT_EQ(Open(request, &response).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(replay_guard_.size(), 0u);
}

TEST_F(OpenSealedTest, AClaimNeedsANonceOfBoundedLength) {
  for (std::string nonce : {std::string(), std::string(257, 'n')}) {
    v1::OpenSealedRequest request;
    request.set_algo(v1::SIGNING_ALGO_ECDSA);
    Add(&request, SealToService("x", ""), "");
    request.mutable_replay_claim()->set_nonce(nonce);
    request.mutable_replay_claim()->set_timestamp(static_cast<int64_t>(std::time(nullptr)));
    v1::OpenSealedResponse response;
    EXPECT_EQ(Open(request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(OpenSealedTest, RefusesMoreFieldsThanTheLimit) {
  v1::OpenSealedRequest request;
  request.set_algo(v1::SIGNING_ALGO_ECDSA);
  for (int i = 0; i <= SignerService::kMaxSealedFields; ++i) Add(&request, "", "");
  v1::OpenSealedResponse response;
  grpc::Status status = Open(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("at most"), std::string::npos);
}

}  // namespace
}  // namespace cai
