#include "tools/cai/service_check.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <optional>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "lib/attestation/event_log.h"
#include "lib/attestation/gpu_verify.h"
#include "lib/attestation/report_data_binding.h"
#include "lib/attestation/tdx_quote.h"
#include "lib/attestation/tdx_verify.h"
#include "lib/attestation/trust_anchors.h"
#include "lib/common/hex.h"
#include "lib/common/random.h"
#include "lib/crypto/ecies_secp256k1.h"
#include "lib/crypto/ed25519_signer.h"
#include "lib/crypto/ethereum.h"
#include "lib/crypto/sha256.h"
#include "tools/cai/service_answers.h"

namespace cai::cli {
namespace {

using nlohmann::json;

// Fetches a document, recording a failed check when there is no 200 answer.
std::optional<std::string> FetchBody(const HttpClient& client, const std::string& target, const std::string& check,
                                     Checklist& list) {
  absl::StatusOr<HttpResponse> resp = client.Get(target);
  if (!resp.ok()) {
    list.Fail(check, resp.status().ToString());
    return std::nullopt;
  }
  if (resp->status != 200) {
    list.Fail(check, absl::StrCat("GET ", target, " answered HTTP ", resp->status, ": ", resp->body.substr(0, 300)));
    return std::nullopt;
  }
  return std::move(resp->body);
}

// Checks one attestation report for `algo` with a fresh nonce; returns the attested key id or empty.
std::vector<uint8_t> CheckReport(const HttpClient& client, const std::string& algo, const ServiceCheckOptions& options,
                                 ServiceCheckResult& result) {
  const std::string nonce = RandomHex(32);
  std::optional<std::string> body =
      FetchBody(client, absl::StrCat("/v1/attestation/report?signing_algo=", algo, "&nonce=", nonce),
                absl::StrCat("attestation (", algo, "): report"), result.checklist);
  if (!body) return {};
  return CheckAttestationReport(*body, algo, nonce, static_cast<int64_t>(std::time(nullptr)), options, result);
}

// The request of the plain round trip again, its content sealed to the attested key (E2EE version
// 2, written from the protocol rather than shared with the edge): the answer must carry
// X-E2EE-Applied, open with our ephemeral key under its associated data, and equal the plain
// (greedy) reply, which shows the model read what only the attested key could open.
void CheckEndToEndEncryption(const HttpClient& client, const ServiceCheckOptions& options,
                             ServiceCheckResult& result) {
  const std::string& plain_reply = result.reply;
  Checklist& list = result.checklist;
  const std::string check = "end-to-end encryption: sealed to the attested key, answered sealed to ours";
  if (!result.ecdsa_public_key) {
    list.NotPerformed(check, "no attested signing_public_key to encrypt to");
    return;
  }
  absl::StatusOr<Secp256k1PublicKey> model_key = ParseSecp256k1PublicKey(*result.ecdsa_public_key);
  absl::StatusOr<EthereumSigner> our_key = EthereumSigner::Generate();
  absl::StatusOr<Sealer> sealer =
      model_key.ok() ? SealerForSecp256k1(*model_key) : absl::StatusOr<Sealer>(model_key.status());
  if (!our_key.ok() || !sealer.ok()) {
    list.Fail(check, !our_key.ok() ? our_key.status().ToString() : sealer.status().ToString());
    return;
  }
  const std::string nonce = RandomHex(16);
  const std::string timestamp = absl::StrCat(std::time(nullptr));
  const std::string tail = absl::StrCat("|n=", nonce, "|ts=", timestamp);
  absl::StatusOr<std::vector<uint8_t>> sealed =
      sealer->Seal(options.prompt, absl::StrCat("v2|req|algo=ecdsa|model=", result.model, "|m=0|c=-", tail));
  if (!sealed.ok()) {
    list.Fail(check, sealed.status().ToString());
    return;
  }
  const std::string body = json{{"model", result.model},
                                {"messages", json::array({json{{"role", "user"}, {"content", HexEncode(*sealed)}}})},
                                {"max_tokens", options.max_tokens},
                                {"temperature", 0}}
                               .dump();
  const HttpHeaders headers = {{"X-Signing-Algo", "ecdsa"},
                               {"X-Client-Pub-Key", HexEncode(our_key->public_key())},
                               {"X-Model-Pub-Key", HexEncode(*result.ecdsa_public_key)},
                               {"X-E2EE-Version", "2"},
                               {"X-E2EE-Nonce", nonce},
                               {"X-E2EE-Timestamp", timestamp}};
  absl::StatusOr<HttpResponse> chat = client.Post("/v1/chat/completions", body, headers);
  if (!chat.ok() || chat->status != 200) {
    list.Fail(check, chat.ok() ? absl::StrCat("HTTP ", chat->status, ": ", chat->body.substr(0, 300))
                               : chat.status().ToString());
    return;
  }
  if (chat->Header("X-E2EE-Applied") != "true") {
    list.Fail(check, "the answer does not say X-E2EE-Applied: true, so it was not encrypted");
    return;
  }
  absl::StatusOr<ChatCompletionFields> completion = ParseChatCompletion(chat->body);
  absl::StatusOr<std::vector<uint8_t>> sealed_reply =
      completion.ok() ? HexDecode(completion->reply) : absl::StatusOr<std::vector<uint8_t>>(completion.status());
  if (!sealed_reply.ok()) {
    list.Fail(check, absl::StrCat("the answer's content is not a sealed message: ", sealed_reply.status().message()));
    return;
  }
  absl::StatusOr<std::string> reply = EciesOpen(
      *our_key, *sealed_reply,
      absl::StrCat("v2|resp|algo=ecdsa|model=", result.model, "|id=", completion->id, "|choice=0|field=content", tail));
  if (!reply.ok()) {
    list.Fail(check, "the answer's content does not open with our key and its associated data");
    return;
  }
  list.Expect(*reply == plain_reply, check, "the sealed answer opens with our key and equals the plain answer",
              "the sealed answer opens but differs from the plain answer to the same greedy request");
}

}  // namespace

std::vector<uint8_t> CheckAttestationReport(std::string_view body, const std::string& algo,
                                            const std::string& nonce, int64_t now,
                                            const ServiceCheckOptions& options, ServiceCheckResult& result) {
  Checklist& list = result.checklist;
  const std::string prefix = absl::StrCat("attestation (", algo, "): ");
  absl::StatusOr<AttestationReportFields> report = ParseAttestationReport(body);
  if (!report.ok()) {
    list.Fail(prefix + "report", std::string(report.status().message()));
    return {};
  }

  const bool simulated = report->simulated;
  result.simulated = result.simulated || simulated;
  if (simulated && options.allow_simulated) {
    // Accepted, but never reported as passed: nothing about hardware was proven.
    list.NotPerformed(prefix + "evidence is real hardware evidence",
                      "evidence is SIMULATED, accepted because simulation was explicitly allowed; it proves nothing "
                      "about hardware");
  } else if (simulated) {
    list.Fail(prefix + "evidence is real hardware evidence",
              "the service returned SIMULATED evidence, which proves nothing (allow it only for development)");
  } else {
    list.Pass(prefix + "evidence is real hardware evidence", "the report is not marked simulated");
  }
  list.Expect(report->request_nonce == nonce, prefix + "request_nonce echoes our nonce",
              "request_nonce matches", "request_nonce differs from the nonce we sent");

  // Pins: the production roots, or, only when the user allowed simulation and the service says it
  // simulates, the simulated roots it publishes.
  TdxVerifyOptions tdx_options;
  tdx_options.now = now;
  GpuVerifyOptions gpu_options;
  gpu_options.now = now;
  if (simulated && options.allow_simulated) {
    absl::StatusOr<CertificatePin> tdx_pin = PinOfPem(report->simulated_tdx_root_pem);
    absl::StatusOr<CertificatePin> gpu_pin = PinOfPem(report->simulated_gpu_root_pem);
    if (tdx_pin.ok()) tdx_options.root_pins = {*tdx_pin};
    if (gpu_pin.ok()) gpu_options.root_pins = {*gpu_pin};
    list.Expect(tdx_pin.ok(), prefix + "simulated roots published", "pinning the simulated roots from info.simulated_roots",
                "info.simulated_roots.tdx_root_ca_pem is missing or malformed");
  }

  absl::StatusOr<std::vector<uint8_t>> quote_bytes = HexDecode(report->intel_quote);
  if (!quote_bytes.ok()) {
    list.Fail(prefix + "TDX quote parses", "intel_quote is not hex: " + quote_bytes.status().ToString());
    return {};
  }
  absl::StatusOr<TdxQuote> quote = ParseTdxQuote(*quote_bytes);
  if (!quote.ok()) {
    list.Fail(prefix + "TDX quote parses", quote.status().ToString());
    return {};
  }
  list.Pass(prefix + "TDX quote parses", absl::StrCat("version ", quote->header.version, ", ", quote_bytes->size(), " bytes"));
  // The service sends no collateral: signatures and the PCK chain are checked, the TCB status is not.
  AddVerification(VerifyTdxQuote(*quote, std::nullopt, tdx_options).checks, prefix + "TDX ", list);

  if (report->event_log.empty()) {
    list.NotPerformed(prefix + "event log replays RTMR0..3", "the service sent no event log");
  } else {
    absl::StatusOr<std::vector<EventLogEntry>> entries = ParseEventLog(report->event_log);
    if (!entries.ok()) {
      list.Fail(prefix + "event log parses", std::string(entries.status().message()));
    } else {
      AddVerification(VerifyEventLog(*entries, quote->body), prefix, list);
    }
  }

  // report_data = key id (zero-padded to 32) ‖ nonce, all 64 bytes, constant time.
  const size_t key_size = algo == "ecdsa" ? 20 : 32;
  absl::StatusOr<std::vector<uint8_t>> key_id = HexDecodeExact(report->signing_address, key_size);
  if (!key_id.ok()) {
    list.Fail(prefix + "report_data binds the signing key and our nonce", "signing_address is malformed");
    return {};
  }
  std::array<uint8_t, 32> nonce_bytes{};
  absl::StatusOr<std::vector<uint8_t>> decoded_nonce = HexDecodeExact(nonce, 32);
  if (!decoded_nonce.ok()) {  // our own nonce: a caller bug, not the service's fault
    list.Fail(prefix + "report_data binds the signing key and our nonce", "the nonce sent is not 64 hex digits");
    return {};
  }
  std::copy(decoded_nonce->begin(), decoded_nonce->end(), nonce_bytes.begin());
  absl::Status binding = CheckReportDataBinding(quote->body.report_data, *key_id, nonce_bytes);
  list.Expect(binding.ok(), prefix + "report_data binds the signing key and our nonce",
              "report_data = key id (zero-padded) ‖ our nonce", std::string(binding.message()));

  // Every GPU must answer our nonce, chain to the pinned root and sign its report.
  absl::StatusOr<GpuEvidenceList> gpus = ParseGpuEvidenceJson(report->nvidia_payload);
  if (!gpus.ok()) {
    list.Fail(prefix + "GPU evidence parses", std::string(gpus.status().message()));
  } else if (gpus->items.empty()) {
    list.NotPerformed(prefix + "GPU evidence", "the service attests no GPU (gpu_provider none)");
  } else {
    list.Expect(gpus->nonce_hex == nonce, prefix + "GPU evidence carries our nonce",
                absl::StrCat(gpus->items.size(), " GPU(s), nvidia_payload.nonce matches"),
                "nvidia_payload.nonce differs from our nonce");
    gpu_options.expected_nonce = nonce_bytes;
    AddVerification(VerifyGpuEvidence(gpus->items, gpu_options).checks, prefix, list);
  }
  if (algo == "ecdsa") result.ecdsa_public_key = AttestedEcdsaPublicKey(*key_id, report->signing_public_key, list);
  std::vector<uint8_t> key_id_bytes = std::move(*key_id);
  if (algo == "ecdsa") result.signing_address = report->signing_address;
  return key_id_bytes;
}

std::optional<std::array<uint8_t, 64>> AttestedEcdsaPublicKey(std::span<const uint8_t> address,
                                                              std::string_view public_key_hex, Checklist& list) {
  const std::string check = "attestation (ecdsa): signing_public_key is the attested key";
  absl::StatusOr<std::vector<uint8_t>> public_key = HexDecodeExact(public_key_hex, 64);
  if (public_key_hex.empty()) {
    list.NotPerformed(check, "the report has no signing_public_key");
    return std::nullopt;
  }
  if (!public_key.ok()) {
    list.Fail(check, "signing_public_key is not 64 bytes (x || y) in hex");
    return std::nullopt;
  }
  std::array<uint8_t, 64> xy;
  std::copy(public_key->begin(), public_key->end(), xy.begin());
  const EthereumAddress derived = AddressFromPublicKey(xy);
  const bool same = std::equal(derived.begin(), derived.end(), address.begin(), address.end());
  list.Expect(same, check, "its address is the attested signing_address",
              "its address is " + ChecksumAddress(derived) +
                  ", not the attested one: what is encrypted to it would not reach the attested key");
  if (!same) return std::nullopt;
  return xy;
}

void AddVerification(const Verification& verification, const std::string& prefix, Checklist& list) {
  for (const VerificationCheck& c : verification.checks()) {
    switch (c.status) {
      case CheckStatus::kPass: list.Pass(prefix + c.name, c.detail); break;
      case CheckStatus::kFail: list.Fail(prefix + c.name, c.detail); break;
      case CheckStatus::kNotPerformed: list.NotPerformed(prefix + c.name, c.detail); break;
    }
  }
}

ServiceCheckResult CheckService(const HttpClient& client, const ServiceCheckOptions& options) {
  ServiceCheckResult result;
  Checklist& list = result.checklist;

  std::optional<std::string> models = FetchBody(client, "/v1/models", "models are listed", list);
  if (!models) return result;
  absl::StatusOr<std::string> model = ParseModelList(*models);
  if (!model.ok()) {
    list.Fail("models are listed", absl::StrCat("GET /v1/models: ", model.status().message()));
    return result;
  }
  result.model = std::move(*model);
  list.Pass("models are listed", "serving " + result.model);

  std::vector<uint8_t> ecdsa_address = CheckReport(client, "ecdsa", options, result);
  std::vector<uint8_t> ed25519_key = CheckReport(client, "ed25519", options, result);

  // One chat round trip, keeping the exact bytes on both sides.
  result.request_body = json{{"model", result.model},
                             {"messages", json::array({json{{"role", "user"}, {"content", options.prompt}}})},
                             {"max_tokens", options.max_tokens},
                             {"temperature", 0}}
                            .dump();
  absl::StatusOr<HttpResponse> chat = client.Post("/v1/chat/completions", result.request_body);
  if (!chat.ok() || chat->status != 200) {
    list.Fail("chat completion", chat.ok() ? absl::StrCat("HTTP ", chat->status, ": ", chat->body.substr(0, 300))
                                           : chat.status().ToString());
    return result;
  }
  absl::StatusOr<ChatCompletionFields> completion = ParseChatCompletion(chat->body);
  if (!completion.ok()) {
    list.Fail("chat completion", absl::StrCat("the response is not a chat.completion object: ",
                                              completion.status().message()));
    return result;
  }
  result.response_id = std::move(completion->id);
  result.reply = std::move(completion->reply);
  list.Pass("chat completion", "response " + result.response_id);

  const std::string expected_text =
      absl::StrCat(Sha256Hex(result.request_body), ":", Sha256Hex(chat->body));
  for (const std::string algo : {"ecdsa", "ed25519"}) {
    const std::string prefix = absl::StrCat("signature (", algo, "): ");
    std::optional<std::string> sig_body =
        FetchBody(client,
                  absl::StrCat("/v1/signature/", UrlEncode(result.response_id), "?model=", UrlEncode(result.model),
                               "&signing_algo=", algo),
                  prefix + "fetched", list);
    if (!sig_body) continue;
    absl::StatusOr<SignatureFields> sig_doc = ParseSignature(*sig_body);
    if (!sig_doc.ok()) {
      list.Fail(prefix + "fetched", std::string(sig_doc.status().message()));
      continue;
    }
    const std::string& text = sig_doc->text;
    list.Expect(text == expected_text, prefix + "text = sha256(request):sha256(response)",
                "both hashes match the bytes we sent and received",
                absl::StrCat("signed text ", text, " differs from ", expected_text));
    auto signature = HexDecode(sig_doc->signature);
    if (!signature.ok()) {
      list.Fail(prefix + "signed by the attested key", "signature is not hex");
      continue;
    }
    if (algo == "ecdsa") {
      auto recovered = RecoverPersonalSignAddress(text, *signature);
      if (!recovered.ok()) {
        list.Fail(prefix + "signed by the attested key", recovered.status().ToString());
      } else {
        const bool same = !ecdsa_address.empty() && std::equal(recovered->begin(), recovered->end(),
                                                                ecdsa_address.begin(), ecdsa_address.end());
        list.Expect(same, prefix + "signed by the attested key",
                    "EIP-191 signature recovers the attested address " + result.signing_address,
                    "the signature recovers " + ChecksumAddress(*recovered) +
                        ", not the attested address");
      }
    } else {
      const bool ok = Ed25519Verify(ed25519_key, text, *signature);
      list.Expect(ok, prefix + "signed by the attested key", "ed25519 signature verifies with the attested key",
                  "ed25519 signature does not verify with the attested key");
    }
  }
  CheckEndToEndEncryption(client, options, result);
  return result;
}

}  // namespace cai::cli
