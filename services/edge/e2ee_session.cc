#include "services/edge/e2ee_session.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "lib/common/hex.h"
#include "lib/common/log.h"
#include "lib/common/utf8.h"
#include "lib/crypto/ecies_secp256k1.h"
#include "lib/crypto/ecies_x25519.h"
#include "services/edge/backend_call.h"

namespace cai::edge {
namespace {

// Where a sealed part sits in the request, for its associated data and for error messages.
struct PartPlace {
  size_t message;
  std::optional<size_t> part;  // nullopt: the content is one string
  std::string Param() const {
    return part ? absl::StrCat("messages[", message, "].content[", *part, "].text")
                : absl::StrCat("messages[", message, "].content");
  }
};

openai::ApiError DecryptionFailed(const PartPlace& place, std::string_view why) {
  openai::ApiError error = E2eeError("e2ee_decryption_failed", absl::StrCat("'", place.Param(), "' ", std::string(why)));
  error.param = place.Param();
  return error;
}

// An ephemeral key agreed with the client's (ParseE2eeHeaders checked its length and form).
absl::StatusOr<Sealer> MakeSealer(const E2eeHeaders& headers) {
  const std::vector<uint8_t>& recipient = headers.client_recipient;
  if (headers.algo == E2eeAlgo::kEcdsa) {
    if (recipient.size() != kEciesPublicKeyBytes) return absl::InvalidArgumentError("not a secp256k1 point");
    return SealerForSecp256k1(std::span<const uint8_t, kEciesPublicKeyBytes>(recipient.data(), recipient.size()));
  }
  if (recipient.size() != kX25519KeyBytes) return absl::InvalidArgumentError("not an X25519 key");
  return SealerForX25519(std::span<const uint8_t, kX25519KeyBytes>(recipient.data(), recipient.size()));
}

// Only message content is sealed: tool definitions, the calls' names and arguments (the client's
// and the model's) and tool_call_id would travel in plaintext, so tool calling is refused.
std::optional<openai::ApiError> RefuseToolCalls(const openai::ChatRequest& chat) {
  if (!chat.tools.empty()) {
    return openai::InvalidRequest("'tools' is not available with end-to-end encryption: the functions, and the calls "
                                  "the model makes to them, would travel unencrypted",
                                  "tools");
  }
  for (size_t m = 0; m < chat.messages.size(); ++m) {
    const openai::Message& message = chat.messages[m];
    if (!message.tool_calls.empty()) {
      const std::string param = absl::StrCat("messages[", m, "].tool_calls");
      return openai::InvalidRequest(absl::StrCat("'", param, "' is not available with end-to-end encryption: only "
                                                 "message content is encrypted, so the calls would travel unencrypted"),
                                    param);
    }
    if (message.role == "tool") {
      const std::string param = absl::StrCat("messages[", m, "].role");
      return openai::InvalidRequest(absl::StrCat("'", param, "' 'tool' is not available with end-to-end encryption: "
                                                 "tool calls would travel unencrypted"),
                                    param);
    }
  }
  return std::nullopt;
}

}  // namespace

std::variant<E2eeSession, openai::ApiError> E2eeSession::Admit(const E2eeHeaders& headers, v1::Signer::Stub& signer) {
  v1::PublicKeys keys;
  grpc::ClientContext context;
  SetDeadline(context, kRpcTimeout);
  grpc::Status status = signer.GetPublicKeys(&context, v1::GetPublicKeysRequest(), &keys);
  if (!status.ok()) return BackendError(status, "signer");
  // ecdsa: the client may send 0x04 || x || y, which ParseE2eeHeaders normalised to; we hold x || y.
  const bool ecdsa = headers.algo == E2eeAlgo::kEcdsa;
  const std::string& ours = ecdsa ? keys.ecdsa_public_key() : keys.ed25519_public_key();
  const size_t prefix = ecdsa ? 1 : 0;
  const bool same = headers.model_key.size() == ours.size() + prefix &&
                    std::memcmp(ours.data(), headers.model_key.data() + prefix, ours.size()) == 0;
  if (!same) {
    return E2eeError("e2ee_model_key_mismatch",
                     "X-Model-Pub-Key is not this instance's key (it changes when the service restarts): fetch "
                     "signing_public_key from /v1/attestation/report, verify the report, and encrypt to that key");
  }
  absl::StatusOr<Sealer> sealer = MakeSealer(headers);
  if (sealer.status().code() == absl::StatusCode::kInvalidArgument) {
    // An Ed25519 key whose X25519 twin has small order: every agreement with it is all zeros.
    return E2eeError("e2ee_invalid_public_key", "X-Client-Pub-Key is a point of small order: nothing can be sealed to it");
  }
  if (!sealer.ok()) {
    LogError("E2EE: no ephemeral key: ", sealer.status().ToString());
    return BackendError(grpc::Status(grpc::StatusCode::INTERNAL, ""), "edge");
  }
  return E2eeSession(headers, *std::move(sealer), signer);
}

std::optional<openai::ApiError> E2eeSession::Open(openai::ChatRequest* chat) const {
  if (chat->sampling.logprobs) {
    return openai::InvalidRequest("'logprobs' would return the encrypted completion's tokens in plaintext, so it is "
                                  "not available with end-to-end encryption",
                                  "logprobs");
  }
  if (auto error = RefuseToolCalls(*chat)) return error;
  v1::OpenSealedRequest request;
  request.set_algo(headers_.algo == E2eeAlgo::kEcdsa ? v1::SIGNING_ALGO_ECDSA : v1::SIGNING_ALGO_ED25519);
  if (headers_.version == E2eeVersion::kV2) {
    request.mutable_replay_claim()->set_nonce(headers_.nonce);
    request.mutable_replay_claim()->set_timestamp(headers_.timestamp);
  }
  const size_t min_sealed_bytes =
      headers_.algo == E2eeAlgo::kEcdsa ? kEciesOverheadBytes : kX25519SealedOverheadBytes;
  std::vector<PartPlace> places;
  for (size_t m = 0; m < chat->messages.size(); ++m) {
    const openai::Message& message = chat->messages[m];
    for (size_t p = 0; p < message.parts.size(); ++p) {
      const PartPlace place{m, message.content_is_array ? std::optional<size_t>(p) : std::nullopt};
      if (places.size() == kMaxSealedParts) {
        return E2eeError("e2ee_too_many_parts",
                         absl::StrCat("At most ", kMaxSealedParts, " encrypted contents and text parts per request"));
      }
      absl::StatusOr<std::vector<uint8_t>> sealed = HexDecode(message.parts[p]);
      if (!sealed.ok() || sealed->size() < min_sealed_bytes) {
        return DecryptionFailed(place, "must be hex: a text sealed to X-Model-Pub-Key");
      }
      v1::SealedField* field = request.add_fields();
      field->set_sealed(sealed->data(), sealed->size());
      field->set_aad(RequestAad(headers_, chat->model, place.message, place.part));
      places.push_back(place);
    }
  }
  v1::OpenSealedResponse response;
  grpc::ClientContext context;
  SetDeadline(context, kRpcTimeout);
  grpc::Status status = signer_->OpenSealed(&context, request, &response);
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      break;
    case grpc::StatusCode::INVALID_ARGUMENT: {
      // "sealed field <k> did not open": only the position is told, never why.
      constexpr std::string_view kPrefix = "sealed field ";
      const std::string message = status.error_message();
      size_t index = 0;
      const char* end = message.data() + message.size();
      const char* digits = message.data() + std::min(message.size(), kPrefix.size());
      auto [after, error] = std::from_chars(digits, end, index);
      const bool named = message.starts_with(kPrefix) && error == std::errc() && (after == end || *after == ' ');
      if (named && index < places.size()) {
        return DecryptionFailed(places[index], "did not decrypt (wrong key, wrong associated data, or altered)");
      }
      return E2eeError("e2ee_decryption_failed", absl::StrCat("The encrypted content was refused: ", message));
    }
    case grpc::StatusCode::OUT_OF_RANGE:
      return E2eeError("e2ee_invalid_timestamp", absl::StrCat("X-E2EE-Timestamp: ", status.error_message()));
    case grpc::StatusCode::ALREADY_EXISTS:
      return E2eeError("e2ee_replay_detected",
                       "This X-E2EE-Nonce and X-E2EE-Timestamp were used before; send a new nonce");
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return E2eeError("e2ee_replay_guard_full",
                       "Too many end-to-end encrypted requests in the replay window; retry shortly", 503);
    default:
      return BackendError(status, "signer");
  }
  if (response.plaintexts_size() != static_cast<int>(places.size())) {
    LogError("E2EE: the signer opened ", response.plaintexts_size(), " of ", places.size(), " fields");
    return BackendError(grpc::Status(grpc::StatusCode::INTERNAL, ""), "signer");
  }
  for (size_t i = 0; i < places.size(); ++i) {
    std::string& plaintext = *response.mutable_plaintexts(static_cast<int>(i));
    if (!IsValidUtf8(plaintext)) return DecryptionFailed(places[i], "decrypted to text that is not UTF-8");
    openai::Message& message = chat->messages[places[i].message];
    message.parts[places[i].part.value_or(0)] = std::move(plaintext);
  }
  return std::nullopt;
}

std::string E2eeSession::ContentAad(std::string_view model, std::string_view id, size_t choice_position) const {
  return ResponseAad(headers_, model, id, choice_position, "content");
}

absl::StatusOr<std::string> E2eeSession::Seal(std::string_view text, std::string_view aad) const {
  absl::StatusOr<std::vector<uint8_t>> sealed = sealer_.Seal(text, aad);
  if (!sealed.ok()) return sealed.status();
  return HexEncode(*sealed);
}

}  // namespace cai::edge
