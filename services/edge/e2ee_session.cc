#include "services/edge/e2ee_session.h"

#include <chrono>
#include <cstring>

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "lib/common/hex.h"
#include "lib/common/log.h"
#include "lib/common/utf8.h"
#include "services/edge/edge_service.h"

namespace cai::edge {
namespace {

constexpr auto kSignerTimeout = std::chrono::seconds(10);

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

}  // namespace

std::variant<E2eeSession, openai::ApiError> E2eeSession::Admit(const E2eeHeaders& headers, v1::Signer::Stub& signer,
                                                               ReplayGuard& replay_guard, int64_t now) {
  v1::PublicKeys keys;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kSignerTimeout);
  grpc::Status status = signer.GetPublicKeys(&context, v1::GetPublicKeysRequest(), &keys);
  if (!status.ok()) return BackendError(status, "signer");
  const std::string& ours = keys.ecdsa_public_key();
  if (ours.size() != 64 || std::memcmp(ours.data(), headers.model_key.data() + 1, 64) != 0) {
    return E2eeError("e2ee_model_key_mismatch",
                     "X-Model-Pub-Key is not this instance's key (it changes when the service restarts): fetch "
                     "signing_public_key from /v1/attestation/report, verify the report, and encrypt to that key");
  }
  if (headers.version == E2eeVersion::kV2) {
    switch (replay_guard.Admit(headers.nonce, headers.timestamp, now)) {
      case ReplayGuard::Claim::kFresh:
        break;
      case ReplayGuard::Claim::kOutsideWindow:
        return E2eeError("e2ee_invalid_timestamp",
                         absl::StrCat("X-E2EE-Timestamp is more than ", replay_guard.window_seconds(),
                                      " s from this service's clock (", now, ")"));
      case ReplayGuard::Claim::kReplayed:
        return E2eeError("e2ee_replay_detected",
                         "This X-E2EE-Nonce and X-E2EE-Timestamp were used before; send a new nonce");
      case ReplayGuard::Claim::kFull:
        return E2eeError("e2ee_replay_guard_full",
                         "Too many end-to-end encrypted requests in the replay window; retry shortly", 503);
    }
  }
  absl::StatusOr<EciesSealer> sealer = EciesSealer::Create(headers.client_key);
  if (!sealer.ok()) {
    LogError("E2EE: no ephemeral key: ", sealer.status().ToString());
    return BackendError(grpc::Status(grpc::StatusCode::INTERNAL, ""), "edge");
  }
  return E2eeSession(headers, *std::move(sealer), signer);
}

std::optional<openai::ApiError> E2eeSession::Open(std::string_view model,
                                                  std::vector<openai::Message>* messages) const {
  v1::OpenSealedRequest request;
  request.set_algo(v1::SIGNING_ALGO_ECDSA);
  std::vector<PartPlace> places;
  for (size_t m = 0; m < messages->size(); ++m) {
    const openai::Message& message = (*messages)[m];
    for (size_t p = 0; p < message.parts.size(); ++p) {
      const PartPlace place{m, message.content_is_array ? std::optional<size_t>(p) : std::nullopt};
      absl::StatusOr<std::vector<uint8_t>> sealed = HexDecode(message.parts[p]);
      if (!sealed.ok() || message.parts[p].empty()) {
        return DecryptionFailed(place, "must be hex: the text sealed to X-Model-Pub-Key");
      }
      v1::SealedField* field = request.add_fields();
      field->set_sealed(sealed->data(), sealed->size());
      field->set_aad(RequestAad(headers_, model, place.message, place.part));
      places.push_back(place);
    }
  }
  v1::OpenSealedResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kSignerTimeout);
  grpc::Status status = signer_->OpenSealed(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    // "sealed field <k> did not open": only the position is told, never why.
    size_t index = 0;
    const std::string_view message = status.error_message();
    constexpr std::string_view kPrefix = "sealed field ";
    if (message.starts_with(kPrefix)) {
      for (char c : message.substr(kPrefix.size())) {
        if (c < '0' || c > '9') break;
        index = index * 10 + static_cast<size_t>(c - '0');
      }
    }
    if (index < places.size()) {
      return DecryptionFailed(places[index], "did not decrypt (wrong key, wrong associated data, or altered)");
    }
    return E2eeError("e2ee_decryption_failed", "The encrypted content did not decrypt");
  }
  if (!status.ok()) return BackendError(status, "signer");
  if (response.plaintexts_size() != static_cast<int>(places.size())) {
    LogError("E2EE: the signer opened ", response.plaintexts_size(), " of ", places.size(), " fields");
    return BackendError(grpc::Status(grpc::StatusCode::INTERNAL, ""), "signer");
  }
  for (size_t i = 0; i < places.size(); ++i) {
    std::string& plaintext = *response.mutable_plaintexts(static_cast<int>(i));
    if (!IsValidUtf8(plaintext)) return DecryptionFailed(places[i], "decrypted to text that is not UTF-8");
    openai::Message& message = (*messages)[places[i].message];
    message.parts[places[i].part.value_or(0)] = std::move(plaintext);
  }
  return std::nullopt;
}

absl::StatusOr<std::string> E2eeSession::SealContent(std::string_view text, std::string_view model,
                                                     std::string_view id, size_t choice_position) const {
  absl::StatusOr<std::vector<uint8_t>> sealed =
      sealer_.Seal(text, ResponseAad(headers_, model, id, choice_position, "content"));
  if (!sealed.ok()) return sealed.status();
  return HexEncode(*sealed);
}

}  // namespace cai::edge
