#pragma once

// Tests' shorthand for "this PEM chain verifies to that (simulated) root": the production
// verifier, VerifyChainToPinnedRoot, with the root's hash as the only pin, at the current time.
#include <ctime>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "lib/attestation/ec_crypto.h"
#include "lib/attestation/trust_anchors.h"

namespace cai {

inline absl::Status ChainVerifiesToRoot(std::string_view chain_pem, std::string_view root_pem) {
  absl::StatusOr<std::vector<X509Ptr>> chain = ParsePemCertificates(chain_pem);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<CertificatePin> pin = PinOfPem(root_pem);
  if (!pin.ok()) return pin.status();
  ChainCheckOptions options;
  options.now = static_cast<int64_t>(std::time(nullptr));
  options.root_pins = {*pin};
  return VerifyChainToPinnedRoot(*chain, options);
}

}  // namespace cai
