#include "tools/cai/service_check.h"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/attestation/tdx_quote.h"
#include "lib/common/hex.h"
#include "lib/common/random.h"
#include "lib/crypto/ed25519_signer.h"
#include "lib/crypto/ethereum.h"
#include "lib/crypto/sha256.h"

namespace cai::cli {
namespace {

using nlohmann::json;

// Fetches and parses a JSON document, recording a failed check when that is impossible.
std::optional<json> FetchJson(const HttpClient& client, const std::string& target, const std::string& check,
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
  json doc = json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    list.Fail(check, absl::StrCat("GET ", target, " did not return a JSON object"));
    return std::nullopt;
  }
  return doc;
}

std::string StringField(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

// Checks one attestation report for `algo`; returns the attested key id bytes (20 or 32) or empty.
std::vector<uint8_t> CheckReport(const HttpClient& client, const std::string& algo, const ServiceCheckOptions& options,
                                 ServiceCheckResult& result) {
  Checklist& list = result.checklist;
  const std::string nonce = RandomHex(32);
  const std::string prefix = absl::StrCat("attestation (", algo, "): ");
  auto report = FetchJson(client, absl::StrCat("/v1/attestation/report?signing_algo=", algo, "&nonce=", nonce),
                          prefix + "report", list);
  if (!report) return {};

  const bool simulated = report->contains("info") && (*report)["info"].is_object() &&
                         (*report)["info"].value("simulated", false);
  result.simulated = result.simulated || simulated;
  if (simulated) {
    list.Expect(options.allow_simulated, prefix + "evidence is real hardware evidence",
                "evidence is SIMULATED and accepted because simulation was explicitly allowed",
                "the service returned SIMULATED evidence, which proves nothing (allow it only for development)");
  } else {
    list.Pass(prefix + "evidence is real hardware evidence", "the report is not marked simulated");
  }
  list.Expect(StringField(*report, "request_nonce") == nonce, prefix + "request_nonce echoes our nonce",
              "request_nonce matches", "request_nonce differs from the nonce we sent");

  absl::StatusOr<std::vector<uint8_t>> quote_bytes = HexDecode(StringField(*report, "intel_quote"));
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
  absl::Status sig = VerifyQuoteSignature(*quote);
  list.Expect(sig.ok(), prefix + "TDX quote signature", "ECDSA P-256 signature by the attestation key verifies",
              sig.ToString());
  list.NotPerformed(prefix + "quote chains to the Intel SGX Root CA",
                    "PCK chain, collateral and TCB status are checked by `cai verify quote` (not part of this round trip)");

  // report_data = key id (zero-padded to 32) ‖ nonce.
  std::vector<uint8_t> key_id;
  if (algo == "ecdsa") {
    auto addr = HexDecodeExact(StringField(*report, "signing_address"), 20);
    if (addr.ok()) key_id = *addr;
  } else {
    auto pub = HexDecodeExact(StringField(*report, "signing_address"), 32);
    if (pub.ok()) key_id = *pub;
  }
  if (key_id.empty()) {
    list.Fail(prefix + "report_data binds the signing key", "signing_address is malformed");
    return {};
  }
  std::array<uint8_t, 64> expected{};
  std::copy(key_id.begin(), key_id.end(), expected.begin());
  auto nonce_bytes = HexDecodeExact(nonce, 32);
  std::copy(nonce_bytes->begin(), nonce_bytes->end(), expected.begin() + 32);
  const auto& rd = quote->body.report_data;
  list.Expect(std::equal(expected.begin(), expected.begin() + 32, rd.begin()),
              prefix + "report_data binds the signing key", "report_data[0:32] = key id, zero-padded",
              "report_data[0:32] is not the key id of signing_address");
  list.Expect(std::equal(expected.begin() + 32, expected.end(), rd.begin() + 32),
              prefix + "report_data binds our nonce", "report_data[32:64] = nonce",
              "report_data[32:64] is not our nonce (replayed or foreign evidence)");

  // Every GPU must have been asked with the same nonce.
  json payload = json::parse(StringField(*report, "nvidia_payload"), nullptr, false);
  if (payload.is_discarded() || !payload.is_object()) {
    list.Fail(prefix + "GPU evidence carries our nonce", "nvidia_payload is not a JSON string");
  } else {
    list.Expect(payload.value("nonce", "") == nonce, prefix + "GPU evidence carries our nonce",
                absl::StrCat(payload.value("evidence_list", json::array()).size(), " GPU(s), nonce matches"),
                "nvidia_payload.nonce differs from our nonce");
  }
  if (algo == "ecdsa") result.signing_address = StringField(*report, "signing_address");
  return key_id;
}

}  // namespace

ServiceCheckResult CheckService(const HttpClient& client, const ServiceCheckOptions& options) {
  ServiceCheckResult result;
  Checklist& list = result.checklist;

  auto models = FetchJson(client, "/v1/models", "models are listed", list);
  if (!models) return result;
  if (!models->contains("data") || !(*models)["data"].is_array() || (*models)["data"].empty()) {
    list.Fail("models are listed", "GET /v1/models returned no model");
    return result;
  }
  result.model = (*models)["data"][0].value("id", "");
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
  json completion = json::parse(chat->body, nullptr, false);
  if (completion.is_discarded() || !completion.contains("id")) {
    list.Fail("chat completion", "the response is not a chat.completion object");
    return result;
  }
  result.response_id = completion.value("id", "");
  try {
    result.reply = completion["choices"][0]["message"]["content"].get<std::string>();
  } catch (const json::exception&) {
  }
  list.Pass("chat completion", "response " + result.response_id);

  const std::string expected_text =
      absl::StrCat(Sha256Hex(result.request_body), ":", Sha256Hex(chat->body));
  for (const std::string algo : {"ecdsa", "ed25519"}) {
    const std::string prefix = absl::StrCat("signature (", algo, "): ");
    auto sig_doc = FetchJson(client,
                             absl::StrCat("/v1/signature/", result.response_id, "?model=", result.model,
                                          "&signing_algo=", algo),
                             prefix + "fetched", list);
    if (!sig_doc) continue;
    const std::string text = StringField(*sig_doc, "text");
    list.Expect(text == expected_text, prefix + "text = sha256(request):sha256(response)",
                "both hashes match the bytes we sent and received",
                absl::StrCat("signed text ", text, " differs from ", expected_text));
    auto signature = HexDecode(StringField(*sig_doc, "signature"));
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
  return result;
}

}  // namespace cai::cli
