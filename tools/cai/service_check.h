#pragma once

#include <string>

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
  std::string response_id;
  std::string reply;            // the assistant's text
  std::string request_body;     // the exact bytes sent
  bool simulated = false;
};

// The verifier's round trip against a running service:
//   fresh nonce → attestation report (ecdsa and ed25519) → quote parsed, its signature checked,
//   report_data = key id ‖ nonce → one chat request → its signature fetched → text equals
//   sha256(request bytes):sha256(response bytes) → the ECDSA signature recovers the attested
//   address and the ed25519 signature verifies with the attested key.
// Every step lands in the checklist; a step that could not run is recorded as failed.
ServiceCheckResult CheckService(const HttpClient& client, const ServiceCheckOptions& options);

}  // namespace cai::cli
