#include "services/edge/attestation_report.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "services/edge/openai/json_text.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "lib/attestation/report_data_binding.h"
#include "lib/common/hex.h"

namespace cai::edge {
namespace {

using Json = nlohmann::ordered_json;

// {"nonce","evidence_list":[{"certificate","evidence","arch"}],"arch":"HOPPER"}, as nvtrust emits it.
std::string NvidiaPayload(const v1::Evidence& evidence, std::string_view nonce_hex) {
  Json payload;
  payload["nonce"] = nonce_hex;
  payload["evidence_list"] = Json::array();
  for (const v1::GpuEvidence& gpu : evidence.gpus()) {
    payload["evidence_list"].push_back(Json{{"certificate", Base64(gpu.certificate_chain())},
                                            {"evidence", Base64(gpu.attestation_report())},
                                            {"arch", gpu.arch().empty() ? "HOPPER" : gpu.arch()}});
  }
  payload["arch"] = "HOPPER";
  return openai::JsonText(payload);
}

Json Info(const ReportInputs& inputs) {
  const v1::Evidence& evidence = *inputs.evidence;
  Json info = Json::parse(evidence.info_json(), nullptr, /*allow_exceptions=*/false);
  if (!info.is_object()) info = Json::object();
  info["simulated"] = evidence.simulated();
  info["tdx_provider"] = evidence.tdx_provider();
  info["gpu_provider"] = evidence.gpu_provider();
  if (!inputs.model.empty()) info["model"] = inputs.model;
  info["edge_version"] = inputs.edge_version;
  return info;
}

}  // namespace

absl::StatusOr<SigningAlgo> ParseSigningAlgo(std::string_view text) {
  if (text.empty() || text == "ecdsa") return SigningAlgo::kEcdsa;
  if (text == "ed25519") return SigningAlgo::kEd25519;
  return absl::InvalidArgumentError("Invalid signing algorithm. Must be 'ecdsa' or 'ed25519'");
}

std::string_view SigningAlgoName(SigningAlgo algo) {
  return algo == SigningAlgo::kEcdsa ? "ecdsa" : "ed25519";
}

absl::StatusOr<std::vector<uint8_t>> KeyId(const v1::PublicKeys& keys, SigningAlgo algo) {
  if (algo == SigningAlgo::kEcdsa) return HexDecodeExact(keys.ecdsa_address(), 20);
  if (keys.ed25519_public_key().size() != 32) {
    return absl::InternalError("signer returned an ed25519 key that is not 32 bytes");
  }
  const std::string& key = keys.ed25519_public_key();
  return std::vector<uint8_t>(key.begin(), key.end());
}

absl::StatusOr<std::array<uint8_t, 64>> BuildReportData(std::span<const uint8_t> key_id,
                                                        std::span<const uint8_t> nonce) {
  if (nonce.size() != 32) return absl::InvalidArgumentError("nonce must be 32 bytes");
  // The verifier's layout (lib/attestation), so producer and checker cannot drift apart.
  std::array<uint8_t, 64> report_data{};
  if (absl::Status s = ExpectedReportData(key_id, nonce.first<32>(), &report_data); !s.ok()) return s;
  return report_data;
}

std::string Base64(std::string_view bytes) { return absl::Base64Escape(absl::string_view(bytes.data(), bytes.size())); }

std::string RenderAttestationReport(const ReportInputs& inputs) {
  const v1::PublicKeys& keys = *inputs.keys;
  const v1::Evidence& evidence = *inputs.evidence;
  const bool ecdsa = inputs.algo == SigningAlgo::kEcdsa;
  const std::string nonce_hex = HexEncode(inputs.nonce);
  const std::string quote_hex = HexEncode(evidence.tdx_quote());

  Json report;
  report["signing_address"] = ecdsa ? keys.ecdsa_address() : HexEncode(keys.ed25519_public_key());
  report["signing_algo"] = SigningAlgoName(inputs.algo);
  report["signing_public_key"] = HexEncode(ecdsa ? keys.ecdsa_public_key() : keys.ed25519_public_key());
  report["request_nonce"] = nonce_hex;
  report["intel_quote"] = quote_hex;
  report["nvidia_payload"] = NvidiaPayload(evidence, nonce_hex);
  report["event_log"] = evidence.event_log();
  report["vm_config"] = evidence.vm_config();
  report["quote"] = quote_hex;  // dstack-verifier's POST /verify reads {quote, event_log, vm_config}
  report["info"] = Info(inputs);
  Json single = report;
  report["all_attestations"] = Json::array({single});
  return openai::JsonText(report);
}

}  // namespace cai::edge
