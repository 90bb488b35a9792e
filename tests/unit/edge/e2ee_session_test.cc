// E2eeSession against the real signer service (in process): admission, opening a request's parts
// in place, the errors that name a part, replay, and the sealed answer.
#include "services/edge/e2ee_session.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <ctime>
#include <memory>
#include <string>

#include "lib/common/hex.h"
#include "lib/crypto/ecies_secp256k1.h"
#include "lib/crypto/ecies_x25519.h"
#include "tests/unit/signer/in_process_signer.h"

namespace cai::edge {
namespace {

class E2eeSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetHeaders("ecdsa", HexEncode(client_.public_key()), HexEncode(ecdsa_.public_key()));
  }
  // The headers of a version 2 request, as the edge parses them.
  void SetHeaders(std::string algo, std::string client_key, std::string model_key) {
    HttpRequest request;
    request.headers = {{"X-Signing-Algo", std::move(algo)}, {"X-Client-Pub-Key", std::move(client_key)},
                       {"X-Model-Pub-Key", std::move(model_key)}, {"X-E2EE-Nonce", "nonce-0123456789abcdef"},
                       {"X-E2EE-Timestamp", std::to_string(std::time(nullptr))}};
    std::optional<E2eeHeaders> parsed;
    ASSERT_FALSE(ParseE2eeHeaders(request, /*allow_v1=*/false, &parsed).has_value());
    headers_ = *std::move(parsed);
  }

  std::string Seal(std::string_view text, size_t message, std::optional<size_t> part) {
    const std::string aad = RequestAad(headers_, "m", message, part);
    if (headers_.algo == E2eeAlgo::kEd25519) {
      return HexEncode(*SealerForX25519(*X25519FromEd25519Public(headers_.model_key))->Seal(text, aad));
    }
    return HexEncode(*SealerForSecp256k1(*ParseSecp256k1PublicKey(headers_.model_key))->Seal(text, aad));
  }
  void UseEd25519() {
    SetHeaders("ed25519", HexEncode(client_ed25519_.public_key()), HexEncode(ed25519_.public_key()));
  }
  E2eeSession Admit() {
    auto admitted = E2eeSession::Admit(headers_, *stub_);
    EXPECT_TRUE(std::holds_alternative<E2eeSession>(admitted));
    return std::get<E2eeSession>(std::move(admitted));
  }
  // A system string, an assistant turn with null content, a user array of two text parts.
  openai::ChatRequest Chat() {
    openai::ChatRequest chat;
    chat.model = "m";
    chat.messages.resize(3);
    chat.messages[0] = {.role = "system", .parts = {Seal("Be brief.", 0, std::nullopt)}, .content_is_array = false,
                        .tool_calls = {}, .tool_call_id = ""};
    chat.messages[1].role = "assistant";
    chat.messages[2] = {.role = "user", .parts = {Seal("Name a ", 2, 0), Seal("colour.", 2, 1)},
                        .content_is_array = true, .tool_calls = {}, .tool_call_id = ""};
    return chat;
  }

  cai::testing::InProcessSigner signer_;
  const EthereumSigner& ecdsa_ = signer_.ecdsa;
  const Ed25519Signer& ed25519_ = signer_.ed25519;
  ReplayGuard& replay_guard_ = signer_.replay_guard;
  std::unique_ptr<v1::Signer::Stub>& stub_ = signer_.stub;
  EthereumSigner client_ = EthereumSigner::Generate().value();
  Ed25519Signer client_ed25519_ = Ed25519Signer::Generate().value();
  E2eeHeaders headers_;
};

TEST_F(E2eeSessionTest, OpensEveryPartInPlace) {
  openai::ChatRequest chat = Chat();
  ASSERT_FALSE(Admit().Open(&chat).has_value());
  EXPECT_EQ(chat.messages[0].Content(), "Be brief.");
  EXPECT_TRUE(chat.messages[1].parts.empty());
  EXPECT_EQ(chat.messages[2].parts, (std::vector<std::string>{"Name a ", "colour."}));
}

TEST_F(E2eeSessionTest, APartThatDoesNotOpenIsNamed) {
  openai::ChatRequest chat = Chat();
  std::swap(chat.messages[2].parts[0], chat.messages[2].parts[1]);  // each sealed for the other's place
  std::optional<openai::ApiError> error = Admit().Open(&chat);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type, "e2ee_decryption_failed");
  EXPECT_EQ(error->param, "messages[2].content[0].text");
}

TEST_F(E2eeSessionTest, APartPastTheTenthThatDoesNotOpenIsNamed) {
  // Eleven parts; the signer names field 10 (two digits), which is messages[2].content[9].
  openai::ChatRequest chat = Chat();
  for (size_t p = 2; p < 10; ++p) chat.messages[2].parts.push_back(Seal("more", 2, p));
  chat.messages[2].parts[9] = Seal("sealed for another place", 2, 8);
  std::optional<openai::ApiError> error = Admit().Open(&chat);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "messages[2].content[9].text");
}

TEST_F(E2eeSessionTest, APartThatIsNotASealedMessageIsNamedBeforeTheSigner) {
  openai::ChatRequest chat = Chat();
  chat.messages[0].parts[0] = "abcd";  // hex, but shorter than any sealed message
  std::optional<openai::ApiError> error = Admit().Open(&chat);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "messages[0].content");
  EXPECT_NE(error->message.find("must be hex"), std::string::npos);  // the edge's check, not the signer's
  EXPECT_EQ(replay_guard_.size(), 0u);
}

TEST_F(E2eeSessionTest, ARequestOpensOnlyOnce) {
  openai::ChatRequest first = Chat(), again = Chat();
  ASSERT_FALSE(Admit().Open(&first).has_value());
  std::optional<openai::ApiError> error = Admit().Open(&again);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type, "e2ee_replay_detected");
}

TEST_F(E2eeSessionTest, AStaleTimestampIsRefused) {
  headers_.timestamp -= 3600;
  openai::ChatRequest chat = Chat();
  std::optional<openai::ApiError> error = Admit().Open(&chat);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type, "e2ee_invalid_timestamp");
}

TEST_F(E2eeSessionTest, LogprobsAndTooManyPartsAreRefusedBeforeOpening) {
  openai::ChatRequest chat = Chat();
  chat.sampling.logprobs = true;
  std::optional<openai::ApiError> error = Admit().Open(&chat);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "logprobs");

  openai::ChatRequest crowded = Chat();
  crowded.messages[2].parts.resize(E2eeSession::kMaxSealedParts + 1, crowded.messages[2].parts[0]);
  error = Admit().Open(&crowded);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type, "e2ee_too_many_parts");
  EXPECT_EQ(replay_guard_.size(), 0u);
}

// Only content is sealed: tool definitions, calls and tool_call_id would travel in plaintext, so
// tool calling is refused, before the signer claims the nonce.
TEST_F(E2eeSessionTest, ToolCallingIsRefusedBeforeOpening) {
  openai::ChatRequest with_tools = Chat();
  with_tools.tools.push_back({.name = "f", .description = std::nullopt, .parameters = "", .strict = false});
  std::optional<openai::ApiError> error = Admit().Open(&with_tools);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "tools");
  EXPECT_EQ(error->message, "'tools' is not available with end-to-end encryption: the functions, and the calls the "
                            "model makes to them, would travel unencrypted");

  openai::ChatRequest with_calls = Chat();
  with_calls.messages[1].tool_calls.push_back({.id = "call_1", .name = "f", .arguments = "{}"});
  error = Admit().Open(&with_calls);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "messages[1].tool_calls");
  EXPECT_EQ(error->message, "'messages[1].tool_calls' is not available with end-to-end encryption: only message "
                            "content is encrypted, so the calls would travel unencrypted");

  openai::ChatRequest with_result = Chat();
  with_result.messages[2].role = "tool";
  with_result.messages[2].tool_call_id = "call_1";
  error = Admit().Open(&with_result);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->param, "messages[2].role");
  EXPECT_EQ(error->message, "'messages[2].role' 'tool' is not available with end-to-end encryption: tool calls "
                            "would travel unencrypted");
  EXPECT_EQ(replay_guard_.size(), 0u);
}

TEST_F(E2eeSessionTest, AnotherModelKeyIsRefused) {
  headers_.model_key = headers_.client_key;
  auto admitted = E2eeSession::Admit(headers_, *stub_);
  ASSERT_TRUE(std::holds_alternative<openai::ApiError>(admitted));
  EXPECT_EQ(std::get<openai::ApiError>(admitted).type, "e2ee_model_key_mismatch");
}

TEST_F(E2eeSessionTest, TheAnswerOpensWithTheClientKeyAtItsPosition) {
  E2eeSession session = Admit();
  absl::StatusOr<std::string> sealed = session.SealContent("blue", "m", "chatcmpl-1", 1);
  ASSERT_TRUE(sealed.ok());
  std::vector<uint8_t> bytes = *HexDecode(*sealed);
  EXPECT_EQ(*EciesOpen(client_, bytes, ResponseAad(headers_, "m", "chatcmpl-1", 1, "content")), "blue");
  EXPECT_FALSE(EciesOpen(client_, bytes, ResponseAad(headers_, "m", "chatcmpl-1", 0, "content")).ok());
  EXPECT_FALSE(EciesOpen(ecdsa_, bytes, ResponseAad(headers_, "m", "chatcmpl-1", 1, "content")).ok());
  EXPECT_EQ(session.response_headers(),
            (Headers{{"X-E2EE-Applied", "true"}, {"X-E2EE-Version", "2"}, {"X-E2EE-Algo", "ecdsa"}}));
}

TEST_F(E2eeSessionTest, TheEd25519ModeOpensAndSealsThroughX25519) {
  UseEd25519();
  openai::ChatRequest chat = Chat();
  E2eeSession session = Admit();
  ASSERT_FALSE(session.Open(&chat).has_value());
  EXPECT_EQ(chat.messages[2].parts, (std::vector<std::string>{"Name a ", "colour."}));
  std::vector<uint8_t> sealed = *HexDecode(*session.SealContent("green", "m", "chatcmpl-2", 0));
  EXPECT_EQ(sealed.size(), kX25519SealedOverheadBytes + 5);
  EXPECT_EQ(*X25519Open(client_ed25519_, sealed, ResponseAad(headers_, "m", "chatcmpl-2", 0, "content")), "green");
  EXPECT_EQ(session.response_headers()[2], (std::pair<std::string, std::string>{"X-E2EE-Algo", "ed25519"}));
}

TEST_F(E2eeSessionTest, AnEd25519ClientKeyOfSmallOrderIsAnInvalidKeyNotAnInternalError) {
  // y = 0: its twin u = 1 has order 2
  SetHeaders("ed25519", std::string(64, '0'), HexEncode(ed25519_.public_key()));
  auto admitted = E2eeSession::Admit(headers_, *stub_);
  ASSERT_TRUE(std::holds_alternative<openai::ApiError>(admitted));
  EXPECT_EQ(std::get<openai::ApiError>(admitted).type, "e2ee_invalid_public_key");
  EXPECT_EQ(std::get<openai::ApiError>(admitted).status, 400);
}

TEST_F(E2eeSessionTest, AnEd25519KeyThatIsNotOursIsRefused) {
  UseEd25519();
  headers_.model_key = headers_.client_key;
  auto admitted = E2eeSession::Admit(headers_, *stub_);
  ASSERT_TRUE(std::holds_alternative<openai::ApiError>(admitted));
  EXPECT_EQ(std::get<openai::ApiError>(admitted).type, "e2ee_model_key_mismatch");
}

}  // namespace
}  // namespace cai::edge
