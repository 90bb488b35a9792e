#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lib/attestation/verification.h"
#include "tools/cai/checklist.h"
#include "tools/cai/http_client.h"

namespace cai::cli {

struct ServiceCheckOptions {
  bool allow_simulated = false;  // accept evidence marked simulated (development only)
  std::string prompt = "Say hello to a verifier.";
  int max_tokens = 16;
};

struct ServiceCheckResult {
  Checklist checklist;
  std::string model;
  std::string signing_address;  // the attested ECDSA address
  // signing_public_key of the ECDSA report, once its address is the attested one: what end-to-end
  // encryption seals to.
  std::optional<std::array<uint8_t, 64>> ecdsa_public_key;
  std::string response_id;
  std::string reply;            // the assistant's text, shown by `cai verify service`
  std::string request_body;     // the exact bytes sent
  bool simulated = false;
};

// The verifier's round trip against a running service:
//   fresh nonce → attestation report (ecdsa and ed25519) → every TDX check of VerifyTdxQuote
//   (PCK chain to the pinned root, QE report, quote signature, TD attributes; no collateral, so
//   the TCB status is "not performed") → event log replay → report_data = key id ‖ nonce (all 64
//   bytes) → every GPU: chain to the pinned NVIDIA root, signature, FWID, our nonce → one chat
//   request → its signature fetched → text equals sha256(request bytes):sha256(response bytes) →
//   the ECDSA signature recovers the attested address and the ed25519 signature verifies with the
//   attested key → the same request end-to-end encrypted to the attested ECDSA key (version 2)
//   comes back sealed to our key and opens to the same reply. Simulated evidence is verified against the simulated roots the service
//   publishes only when options.allow_simulated is set; otherwise it fails.
// Every step lands in the checklist; a step that could not run is recorded as failed.
ServiceCheckResult CheckService(const HttpClient& client, const ServiceCheckOptions& options);

// The checks of one attestation report `body` (the service's answer for `algo`, "ecdsa" or
// "ed25519", to our `nonce`, 64 hex digits), at unix time `now`, into result.checklist. Returns the
// attested key id (20 or 32 bytes), or empty when it is not established. No I/O: fuzzed directly.
std::vector<uint8_t> CheckAttestationReport(std::string_view body, const std::string& algo, const std::string& nonce,
                                            int64_t now, const ServiceCheckOptions& options,
                                            ServiceCheckResult& result);

// End-to-end encryption seals to the ECDSA report's signing_public_key (`public_key_hex`, x || y):
// it must be the key behind the attested `address` (20 bytes). Records the check and returns the
// key when it is.
std::optional<std::array<uint8_t, 64>> AttestedEcdsaPublicKey(std::span<const uint8_t> address,
                                                              std::string_view public_key_hex, Checklist& list);

// Copies a library verification into a checklist, prefixing every check name.
void AddVerification(const Verification& verification, const std::string& prefix, Checklist& list);

}  // namespace cai::cli
