// The signature checks declared in tdx_quote.h.
#include <algorithm>
#include <string_view>

#include "lib/attestation/ec_crypto.h"
#include "lib/attestation/tdx_quote.h"
#include "lib/crypto/sha256.h"

namespace cai {

absl::Status VerifyQuoteSignature(const TdxQuote& quote) {
  absl::StatusOr<EvpPkeyPtr> key = EcPublicKeyFromPoint(EcCurve::kP256, quote.attestation_key);
  if (!key.ok()) return absl::InvalidArgumentError("attestation key is not a P-256 point");
  if (!VerifyEcdsaRaw(key->get(), EVP_sha256(), quote.signed_bytes, quote.signature).ok()) {
    return absl::InvalidArgumentError("quote signature does not verify with the attestation key");
  }
  return absl::OkStatus();
}

absl::Status VerifyQeReportBinding(const TdxQuote& quote) {
  std::string message(quote.attestation_key.begin(), quote.attestation_key.end());
  message.append(quote.qe_auth_data.begin(), quote.qe_auth_data.end());
  Sha256Digest digest = Sha256(message);
  if (!std::equal(digest.begin(), digest.end(), quote.qe_report.report_data.begin())) {
    return absl::InvalidArgumentError(
        "QE report data does not bind the attestation key and QE authentication data");
  }
  return absl::OkStatus();
}

absl::Status VerifyQeReportSignature(const TdxQuote& quote) {
  absl::StatusOr<EvpPkeyPtr> key = LeafPublicKey(quote.pck_chain_pem);
  if (!key.ok()) return key.status();
  if (!VerifyEcdsaRaw(key->get(), EVP_sha256(), quote.qe_report.raw, quote.qe_report_signature).ok()) {
    return absl::InvalidArgumentError("QE report signature does not verify with the PCK leaf key");
  }
  return absl::OkStatus();
}

}  // namespace cai
