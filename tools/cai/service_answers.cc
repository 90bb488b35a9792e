#include "tools/cai/service_answers.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "lib/common/status_macros.h"
#include "tools/cai/json_field.h"

namespace cai::cli {
namespace {

using nlohmann::json;

// Copies the string field `key` of `object` into `out` (left empty when absent).
absl::Status AssignString(std::string& out, const json& object, std::string_view parent, const char* key) {
  absl::StatusOr<std::string> value = OptionalString(object, parent, key);
  if (!value.ok()) return value.status();
  out = std::move(*value);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ParseModelList(std::string_view body) {
  absl::StatusOr<json> doc = ParseJsonObject(body, "the model list");
  if (!doc.ok()) return doc.status();
  auto data = doc->find("data");
  if (data == doc->end() || !data->is_array() || data->empty()) {
    return absl::InvalidArgumentError("field 'data' must be a non-empty array of models");
  }
  const json& first = data->front();
  if (!first.is_object()) return absl::InvalidArgumentError("field 'data[0]' must be an object");
  return RequiredString(first, "data[0]", "id");
}

absl::StatusOr<AttestationReportFields> ParseAttestationReport(std::string_view body) {
  absl::StatusOr<json> doc = ParseJsonObject(body, "the attestation report");
  if (!doc.ok()) return doc.status();
  AttestationReportFields out;
  CAI_RETURN_IF_ERROR(AssignString(out.request_nonce, *doc, "", "request_nonce"));
  CAI_RETURN_IF_ERROR(AssignString(out.intel_quote, *doc, "", "intel_quote"));
  CAI_RETURN_IF_ERROR(AssignString(out.event_log, *doc, "", "event_log"));
  CAI_RETURN_IF_ERROR(AssignString(out.signing_address, *doc, "", "signing_address"));
  CAI_RETURN_IF_ERROR(AssignString(out.signing_public_key, *doc, "", "signing_public_key"));
  CAI_RETURN_IF_ERROR(AssignString(out.nvidia_payload, *doc, "", "nvidia_payload"));
  absl::StatusOr<const json*> info = OptionalObject(*doc, "", "info");
  if (!info.ok()) return info.status();
  if (*info == nullptr) return out;
  absl::StatusOr<bool> simulated = OptionalBool(**info, "info", "simulated");
  if (!simulated.ok()) return simulated.status();
  out.simulated = *simulated;
  absl::StatusOr<const json*> roots = OptionalObject(**info, "info", "simulated_roots");
  if (!roots.ok()) return roots.status();
  if (*roots != nullptr) {
    const char* parent = "info.simulated_roots";
    CAI_RETURN_IF_ERROR(AssignString(out.simulated_tdx_root_pem, **roots, parent, "tdx_root_ca_pem"));
    CAI_RETURN_IF_ERROR(AssignString(out.simulated_gpu_root_pem, **roots, parent, "gpu_root_ca_pem"));
  }
  return out;
}

absl::StatusOr<ChatCompletionFields> ParseChatCompletion(std::string_view body) {
  absl::StatusOr<json> doc = ParseJsonObject(body, "the chat completion");
  if (!doc.ok()) return doc.status();
  ChatCompletionFields out;
  absl::StatusOr<std::string> id = RequiredString(*doc, "", "id");
  if (!id.ok()) return id.status();
  out.id = std::move(*id);
  // The reply is shown to the user, not verified: absent is fine, a wrong type is not.
  auto choices = doc->find("choices");
  if (choices == doc->end() || choices->is_null()) return out;
  if (!choices->is_array()) return absl::InvalidArgumentError("field 'choices' must be an array");
  if (choices->empty()) return out;
  if (!choices->front().is_object()) return absl::InvalidArgumentError("field 'choices[0]' must be an object");
  absl::StatusOr<const json*> message = OptionalObject(choices->front(), "choices[0]", "message");
  if (!message.ok()) return message.status();
  if (*message != nullptr) {
    CAI_RETURN_IF_ERROR(AssignString(out.reply, **message, "choices[0].message", "content"));
  }
  return out;
}

absl::StatusOr<SignatureFields> ParseSignature(std::string_view body) {
  absl::StatusOr<json> doc = ParseJsonObject(body, "the signature");
  if (!doc.ok()) return doc.status();
  SignatureFields out;
  CAI_RETURN_IF_ERROR(AssignString(out.text, *doc, "", "text"));
  CAI_RETURN_IF_ERROR(AssignString(out.signature, *doc, "", "signature"));
  return out;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += {'%', kHex[byte >> 4], kHex[byte & 15]};
    }
  }
  return out;
}

}  // namespace cai::cli
