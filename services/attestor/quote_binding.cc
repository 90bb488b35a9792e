#include "services/attestor/quote_binding.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lib/attestation/nvidia_spdm.h"
#include "lib/attestation/tdx_quote.h"

namespace cai {

absl::Status CheckQuoteReportData(std::span<const uint8_t> quote, std::span<const uint8_t, 64> report_data,
                                  const char* source) {
  absl::StatusOr<TdxQuote> parsed = ParseTdxQuote(quote);
  if (!parsed.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(source, " returned a quote that does not parse: ", parsed.status().message()));
  }
  if (!std::equal(report_data.begin(), report_data.end(), parsed->body.report_data.begin())) {
    return absl::FailedPreconditionError(
        absl::StrCat(source, " returned a quote for different report_data than requested"));
  }
  return absl::OkStatus();
}

absl::Status CheckGpuReportNonce(std::span<const uint8_t> report, std::span<const uint8_t> nonce) {
  absl::StatusOr<SpdmReport> parsed = ParseSpdmReport(report);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the attestation report does not parse: ", parsed.status().message()));
  }
  if (!CheckSpdmNonce(*parsed, nonce).ok()) {
    return absl::InvalidArgumentError("the attestation report does not carry the requested nonce");
  }
  return absl::OkStatus();
}

}  // namespace cai
