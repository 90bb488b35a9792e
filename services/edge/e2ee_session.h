#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "cai/v1/signer.grpc.pb.h"
#include "lib/common/signer_protocol.h"
#include "lib/crypto/sealed_message.h"
#include "services/edge/e2ee_headers.h"
#include "services/edge/openai/api_error.h"
#include "services/edge/openai/chat_request.h"

namespace cai::edge {

// One chat request's end-to-end encryption (e2ee_headers.h has the protocol): admission, the
// request's content opened by the signer (which alone holds the private key), the answer's content
// sealed to the client under one ephemeral key.
class E2eeSession {
 public:
  // Most sealed parts in one request: the signer's limit per call (an ECDH each).
  static constexpr size_t kMaxSealedParts = kMaxSealedFieldsPerCall;  // one OpenSealed call

  // Admits a request that asked for E2EE: X-Model-Pub-Key must be this instance's key (asked of
  // the signer, so a restarted signer's new key counts at once). Otherwise returns the error to send.
  static std::variant<E2eeSession, openai::ApiError> Admit(const E2eeHeaders& headers, v1::Signer::Stub& signer);

  // The openai::OpenContent hook: refuses what would travel in plaintext (logprobs, tool calls),
  // then replaces every part of the messages with its plaintext, opened by the signer in one call,
  // which also claims a version 2 request's nonce so it opens only once. The error to send when a part is not
  // a sealed message in hex, does not open (wrong key, wrong associated data, altered), or is not
  // UTF-8; when the request is stale or replayed; or when the signer is unreachable.
  std::optional<openai::ApiError> Open(openai::ChatRequest* request) const;

  // The associated data of the content of the choice at `choice_position` of the object `id`.
  std::string ContentAad(std::string_view model, std::string_view id, size_t choice_position) const;
  // `text` sealed to the client under `aad`, in hex.
  absl::StatusOr<std::string> Seal(std::string_view text, std::string_view aad) const;
  // Both: `text` sealed as the content of that choice.
  absl::StatusOr<std::string> SealContent(std::string_view text, std::string_view model, std::string_view id,
                                          size_t choice_position) const {
    return Seal(text, ContentAad(model, id, choice_position));
  }

  Headers response_headers() const { return E2eeResponseHeaders(headers_); }

 private:
  E2eeSession(E2eeHeaders headers, Sealer sealer, v1::Signer::Stub& signer)
      : headers_(std::move(headers)), sealer_(std::move(sealer)), signer_(&signer) {}

  E2eeHeaders headers_;
  Sealer sealer_;
  v1::Signer::Stub* signer_;
};

}  // namespace cai::edge
