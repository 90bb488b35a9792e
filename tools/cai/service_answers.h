#pragma once

// Parsers of what the service under verification answers. The service is untrusted: every field is
// type-checked, and an error names the field, so a hostile answer fails a check instead of
// aborting `cai verify service`.
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace cai::cli {

// GET /v1/models → the first model's id (data[0].id).
absl::StatusOr<std::string> ParseModelList(std::string_view body);

// GET /v1/attestation/report. String fields the service left out are empty; the checks that use
// them fail or are not performed.
struct AttestationReportFields {
  std::string request_nonce;
  std::string intel_quote;      // hex
  std::string event_log;        // JSON text
  std::string signing_address;  // hex key id
  std::string signing_public_key;  // hex: ecdsa x || y (64 bytes), ed25519 the key
  std::string nvidia_payload;   // JSON text
  bool simulated = false;       // info.simulated
  std::string simulated_tdx_root_pem;  // info.simulated_roots.tdx_root_ca_pem
  std::string simulated_gpu_root_pem;  // info.simulated_roots.gpu_root_ca_pem
};
absl::StatusOr<AttestationReportFields> ParseAttestationReport(std::string_view body);

// POST /v1/chat/completions → its id (required) and the assistant's text (empty when absent).
struct ChatCompletionFields {
  std::string id;
  std::string reply;
};
absl::StatusOr<ChatCompletionFields> ParseChatCompletion(std::string_view body);

// GET /v1/signature/{id} → the signed text and the signature (hex).
struct SignatureFields {
  std::string text;
  std::string signature;
};
absl::StatusOr<SignatureFields> ParseSignature(std::string_view body);

// `text` percent-encoded for a URL path segment or query value: ids and model names come from the
// service and must not be able to reshape the request that carries them back.
std::string UrlEncode(std::string_view text);

}  // namespace cai::cli
